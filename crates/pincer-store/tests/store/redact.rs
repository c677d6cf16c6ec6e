//! The store scrubs secrets from every text it writes, and audits each hit.

use pincer_store::{AuditEvent, NewMessage, NewSession, Redactor, Store};
use std::sync::Arc;

const CANARY: &str = "canary-31f9e0c2a7";

struct Canary;

impl Redactor for Canary {
    fn redact(&self, text: &str) -> Option<(String, Vec<String>)> {
        text.contains(CANARY).then(|| {
            (
                text.replace(CANARY, "[REDACTED:canary]"),
                vec!["canary".to_string()],
            )
        })
    }

    fn hit_event(&self, place: &str, found: &[String]) -> AuditEvent {
        AuditEvent {
            actor: "guard".into(),
            action: "leak.redacted".into(),
            target: place.into(),
            decision: "redacted".into(),
            details: serde_json::json!({ "found": found }),
        }
    }
}

#[test]
fn no_secret_reaches_the_file_and_each_hit_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).unwrap();
    store.set_redactor(Arc::new(Canary));
    let session = store
        .create_session(NewSession {
            title: Some(format!("about {CANARY}")),
            ..Default::default()
        })
        .unwrap();
    let request = [NewMessage::new("user", format!("repeat {CANARY}"))];
    store
        .record_exchange(
            &session.id,
            &request,
            &NewMessage::new("assistant", format!("it is {CANARY}")),
        )
        .unwrap();
    // The same request again (a client resending history) is recognised as
    // already saved, although what is stored was scrubbed.
    let second = [
        request[0].clone(),
        NewMessage::new("assistant", format!("it is {CANARY}")),
        NewMessage::new("user", "thanks"),
    ];
    store
        .record_exchange(&session.id, &second, &NewMessage::new("assistant", "ok"))
        .unwrap();
    assert_eq!(
        store.messages(&session.id).unwrap().len(),
        4,
        "nothing was saved twice"
    );
    store
        .record_soul_version("SOUL.md", &format!("# Soul\nkey: {CANARY}\n"), "owner")
        .unwrap();
    store
        .audit(AuditEvent {
            actor: "owner".into(),
            action: "test".into(),
            target: CANARY.into(),
            decision: "done".into(),
            details: serde_json::json!({"k": [CANARY]}),
        })
        .unwrap();
    drop(store);

    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains(CANARY),
        "the canary reached the database files"
    );
    assert!(text.contains("[REDACTED:canary]"));

    let store = Store::open_in(dir.path()).unwrap();
    let records = store.audit_records(0, 100).unwrap();
    let hits: Vec<_> = records
        .iter()
        .filter(|r| r.event.action == "leak.redacted")
        .map(|r| r.event.target.as_str())
        .collect();
    assert!(
        hits.contains(&"messages")
            && hits.contains(&"soul history")
            && hits.contains(&"audit")
            && hits.contains(&"sessions"),
        "{hits:?}"
    );
    assert!(store.verify_audit().unwrap().broken_at.is_none());
}
