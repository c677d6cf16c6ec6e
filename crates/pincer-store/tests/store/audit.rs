//! The audit chain against hand edits of the real database file.

use pincer_store::{AuditEvent, Store};

fn event(n: usize) -> AuditEvent {
    AuditEvent {
        actor: "owner".into(),
        action: "soul.save".into(),
        target: format!("SOUL.md v{n}"),
        decision: "done".into(),
        details: serde_json::json!({"bytes": n * 10, "note": "ok"}),
    }
}

fn chain(records: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).unwrap();
    for n in 1..=records {
        let record = store.audit(event(n)).unwrap();
        assert_eq!(record.seq, n as i64);
    }
    (dir, store)
}

/// Runs SQL on the file from a second connection, as an attacker with file access would.
fn tamper(dir: &tempfile::TempDir, sql: &str) {
    let connection = rusqlite::Connection::open(dir.path().join(Store::FILE_NAME)).unwrap();
    connection.execute_batch(sql).unwrap();
}

#[test]
fn an_intact_chain_verifies_and_links_each_record_to_the_last() {
    let (_dir, store) = chain(5);
    let verification = store.verify_audit().unwrap();
    assert_eq!((verification.records, verification.broken_at), (5, None));
    let records = store.audit_records(0, 10).unwrap();
    assert_eq!(records[0].prev_hash, pincer_store::GENESIS);
    assert!(records.windows(2).all(|w| w[1].prev_hash == w[0].hash));
    assert_eq!(records[2].event, event(3), "details round-trip");
}

#[test]
fn an_edited_record_is_named() {
    let (dir, store) = chain(5);
    tamper(&dir, "UPDATE audit_log SET decision = 'allowed' WHERE seq = 3");
    let broken = store.verify_audit().unwrap().broken_at.expect("the edit is found");
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("edited"), "{}", broken.reason);
    // Re-hashing the edited record does not help: the next link breaks.
    let (dir, store) = chain(5);
    let records = store.audit_records(0, 10).unwrap();
    let mut forged = records[2].event.clone();
    forged.target = "something else".into();
    let hash = pincer_store::record_hash(&records[2].prev_hash, 3, records[2].at_ms, &forged);
    tamper(&dir, &format!("UPDATE audit_log SET target = 'something else', hash = '{hash}' WHERE seq = 3"));
    let broken = store.verify_audit().unwrap().broken_at.expect("the forgery is found");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("link"), "{}", broken.reason);
}

#[test]
fn a_deleted_record_is_named() {
    let (dir, store) = chain(5);
    tamper(&dir, "DELETE FROM audit_log WHERE seq = 2");
    let broken = store.verify_audit().unwrap().broken_at.expect("the gap is found");
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("records 2..2 are missing"), "{}", broken.reason);
}

#[test]
fn swapped_records_are_named() {
    let (dir, store) = chain(5);
    tamper(
        &dir,
        "UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -2;",
    );
    let broken = store.verify_audit().unwrap().broken_at.expect("the swap is found");
    assert_eq!(broken.seq, 2);
}
