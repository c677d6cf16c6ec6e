//! The store's last line against leaks: every text written to the database
//! (messages, soul history, memory chunks, audit records) passes through the
//! [`Redactor`] the app installs, and each hit is itself audited by name.

use crate::{AuditEvent, Store};
use std::borrow::Cow;
use std::sync::Arc;

/// Replaces secrets in text. Installed by the app with [`Store::set_redactor`]
/// (a leak detector built from the vault); the store does not know secrets.
pub trait Redactor: Send + Sync {
    /// The text with each secret replaced, and the names of what was found;
    /// `None` when the text is clean.
    fn redact(&self, text: &str) -> Option<(String, Vec<String>)>;

    /// The audit record of a hit at `place` (the names found, never the
    /// value): the redactor's owner names the action, so the store keeps no
    /// audit vocabulary of its own.
    fn hit_event(&self, place: &str, found: &[String]) -> AuditEvent;
}

impl Store {
    /// Installs the redactor applied to every text the store writes.
    pub fn set_redactor(&self, redactor: Arc<dyn Redactor>) {
        *self.redactor.write().unwrap_or_else(|e| e.into_inner()) = Some(redactor);
    }

    /// `text` as it may be stored. A hit is audited with the event the
    /// redactor builds from `place` and the names found, never the value. Call it before taking
    /// the connection: the audit append needs it.
    pub fn scrub<'a>(&self, place: &str, text: &'a str) -> Cow<'a, str> {
        let redactor = self
            .redactor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(redactor) = redactor else {
            return Cow::Borrowed(text);
        };
        let Some((clean, found)) = redactor.redact(text) else {
            return Cow::Borrowed(text);
        };
        tracing::warn!(
            place,
            ?found,
            "a secret was redacted before it reached the database"
        );
        if let Err(error) = self.audit(redactor.hit_event(place, &found)) {
            tracing::error!(%error, "could not audit a redaction");
        }
        Cow::Owned(clean)
    }

    /// [`Store::scrub`] applied to every string inside a JSON value.
    pub(crate) fn scrub_json(&self, place: &str, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(text) => Value::String(self.scrub(place, text).into_owned()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.scrub_json(place, v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.scrub(place, k).into_owned(), self.scrub_json(place, v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}
