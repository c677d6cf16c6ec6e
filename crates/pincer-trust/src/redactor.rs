//! The store's redactor: every text the database writes passes the leak
//! detector, and a hit is audited as [`Action::LeakRedacted`].

use crate::{Action, Actor};
use pincer_guard::{SharedDetector, Sink};
use pincer_store::{AuditEvent, Redactor};
use std::sync::Arc;

/// The database writes through this: secrets become `[REDACTED:<name>]`.
pub(crate) struct StoreRedactor(pub(crate) Arc<SharedDetector>);

impl Redactor for StoreRedactor {
    fn redact(&self, text: &str) -> Option<(String, Vec<String>)> {
        let detector = self.0.current();
        let checked = detector.check(Sink::Storage, text);
        if checked.leaks.is_empty() {
            return None;
        }
        let labels = checked
            .leaks
            .iter()
            .map(|leak| leak.kind.label().to_string())
            .collect();
        let text = checked
            .text
            .map(|t| t.into_owned())
            .unwrap_or_else(|| "[WITHHELD: it carried a secret]".into());
        Some((text, labels))
    }

    fn hit_event(&self, place: &str, found: &[String]) -> AuditEvent {
        AuditEvent {
            actor: Actor::Guard.as_str().into(),
            action: Action::LeakRedacted.as_str().into(),
            target: place.into(),
            decision: "redacted".into(),
            details: serde_json::json!({ "found": found }),
        }
    }
}
