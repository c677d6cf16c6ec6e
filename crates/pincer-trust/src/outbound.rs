//! The outbound check: a request to another host is searched for secrets
//! before it is sent; a hit blocks it (or warns, by policy) and is audited.

use crate::{Action, Actor, Result, Trust, TrustError};

impl Trust {
    /// Checks a request to another host for secrets before it is sent;
    /// a hit blocks it and is audited.
    pub fn check_outbound(&self, url: &str) -> Result<()> {
        if let Err(error) = self.refresh_if_secrets_changed() {
            tracing::warn!(%error, "could not check the vault for new secrets");
        }
        let detector = self.detector.current();
        let checked = detector.check(pincer_guard::Sink::Outbound, url);
        if checked.leaks.is_empty() {
            return Ok(());
        }
        let found: Vec<String> = checked
            .leaks
            .iter()
            .map(|l| l.kind.label().to_string())
            .collect();
        let destination = detector
            .redact(url.split('?').next().unwrap_or(url))
            .0
            .into_owned();
        let decision = if checked.text.is_none() {
            "blocked"
        } else {
            "warned"
        };
        self.record(
            Actor::Guard,
            Action::LeakOutbound,
            &destination,
            decision,
            serde_json::json!({ "found": found }),
        )?;
        if checked.text.is_none() {
            return Err(TrustError::LeakBlocked {
                destination,
                found: found.join(", "),
            });
        }
        Ok(())
    }
}
