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
    tamper(
        &dir,
        "UPDATE audit_log SET decision = 'allowed' WHERE seq = 3",
    );
    let broken = store
        .verify_audit()
        .unwrap()
        .broken_at
        .expect("the edit is found");
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("edited"), "{}", broken.reason);
    // Re-hashing the edited record does not help: the next link breaks.
    let (dir, store) = chain(5);
    let records = store.audit_records(0, 10).unwrap();
    let mut forged = records[2].event.clone();
    forged.target = "something else".into();
    let hash = pincer_store::record_hash(&records[2].prev_hash, 3, records[2].at_ms, &forged);
    tamper(
        &dir,
        &format!("UPDATE audit_log SET target = 'something else', hash = '{hash}' WHERE seq = 3"),
    );
    let broken = store
        .verify_audit()
        .unwrap()
        .broken_at
        .expect("the forgery is found");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("link"), "{}", broken.reason);
}

#[test]
fn a_deleted_record_is_named() {
    let (dir, store) = chain(5);
    tamper(&dir, "DELETE FROM audit_log WHERE seq = 2");
    let broken = store
        .verify_audit()
        .unwrap()
        .broken_at
        .expect("the gap is found");
    assert_eq!(broken.seq, 3);
    assert!(
        broken.reason.contains("records 2..2 are missing"),
        "{}",
        broken.reason
    );
}

#[test]
fn swapped_records_are_named() {
    let (dir, store) = chain(5);
    tamper(
        &dir,
        "UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -2;",
    );
    let broken = store
        .verify_audit()
        .unwrap()
        .broken_at
        .expect("the swap is found");
    assert_eq!(broken.seq, 2);
}

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Re-hashes every record from `from` on after an edit, as an attacker who
/// read the code (but not the keychain) would.
fn rehash_from(dir: &tempfile::TempDir, store: &Store, from: i64) {
    let records = store.audit_records(0, 1000).unwrap();
    let mut prev = records
        .iter()
        .find(|r| r.seq == from - 1)
        .map_or(pincer_store::GENESIS.to_string(), |r| r.hash.clone());
    for record in records.iter().filter(|r| r.seq >= from) {
        let hash = pincer_store::record_hash(&prev, record.seq, record.at_ms, &record.event);
        tamper(
            dir,
            &format!(
                "UPDATE audit_log SET prev_hash = '{prev}', hash = '{hash}' WHERE seq = {}",
                record.seq
            ),
        );
        prev = hash;
    }
}

#[test]
fn signed_checkpoints_catch_truncation_and_a_rehashed_chain() {
    let (dir, store) = chain(6);
    store
        .audit_checkpoint(KEY)
        .unwrap()
        .expect("a checkpoint at record 6");
    assert!(
        store.audit_checkpoint(KEY).unwrap().is_none(),
        "the head is already signed"
    );
    let intact = store.verify_audit_signed(KEY).unwrap();
    assert_eq!(
        (intact.records, intact.broken_at, intact.signed_up_to),
        (6, None, Some(6))
    );

    // Cutting the tail leaves a valid chain, but not past the checkpoint.
    tamper(&dir, "DELETE FROM audit_log WHERE seq >= 5");
    assert!(
        store.verify_audit().unwrap().broken_at.is_none(),
        "the bare chain cannot see a cut tail"
    );
    let cut = store
        .verify_audit_signed(KEY)
        .unwrap()
        .broken_at
        .expect("the cut is found");
    assert_eq!(cut.seq, 5);
    assert!(cut.reason.contains("cut off"), "{}", cut.reason);

    // Editing a record and re-hashing everything after it fools the chain
    // but not the signature.
    let (dir, store) = chain(6);
    store.audit_checkpoint(KEY).unwrap();
    tamper(
        &dir,
        "UPDATE audit_log SET decision = 'allowed' WHERE seq = 2",
    );
    rehash_from(&dir, &store, 2);
    assert!(
        store.verify_audit().unwrap().broken_at.is_none(),
        "the re-hashed chain links up"
    );
    let forged = store
        .verify_audit_signed(KEY)
        .unwrap()
        .broken_at
        .expect("the re-hash is found");
    assert_eq!(forged.seq, 6);
    assert!(forged.reason.contains("re-hashed"), "{}", forged.reason);

    // A checkpoint made without the key is refused.
    let (dir, store) = chain(3);
    store.audit_checkpoint(b"not the install's key").unwrap();
    let wrong = store
        .verify_audit_signed(KEY)
        .unwrap()
        .broken_at
        .expect("a foreign signature is found");
    assert!(wrong.reason.contains("signature"), "{}", wrong.reason);
    drop(dir);
}

#[test]
fn an_anchor_kept_outside_the_database_catches_a_log_deleted_whole() {
    let (dir, store) = chain(6);
    let head = store
        .audit_checkpoint(KEY)
        .unwrap()
        .expect("a checkpoint at record 6");
    assert_eq!(
        store.latest_audit_checkpoint().unwrap().as_ref(),
        Some(&head)
    );
    let anchor = pincer_store::AuditAnchor {
        seq: head.seq,
        hash: head.hash.clone(),
    };
    assert_eq!(
        pincer_store::AuditAnchor::decode(&anchor.encode()),
        Some(anchor.clone())
    );
    assert_eq!(pincer_store::AuditAnchor::decode("6:not-a-hash"), None);
    assert!(store
        .verify_audit_anchored(KEY, Some(&anchor))
        .unwrap()
        .broken_at
        .is_none());

    // Records and checkpoints deleted together leave nothing inside the
    // database to disagree; the anchor still does.
    tamper(
        &dir,
        "DELETE FROM audit_log; DELETE FROM audit_checkpoints;",
    );
    assert!(
        store.verify_audit_signed(KEY).unwrap().broken_at.is_none(),
        "an empty log checks out on its own"
    );
    let deleted = store
        .verify_audit_anchored(KEY, Some(&anchor))
        .unwrap()
        .broken_at
        .expect("the deletion is found");
    assert_eq!(deleted.seq, 1);
    assert!(
        deleted.reason.contains("the log was deleted"),
        "{}",
        deleted.reason
    );

    // A fresh chain written in its place, signed with the key, is still not the remembered one.
    for n in 1..=7 {
        store.audit(event(n * 10)).unwrap();
    }
    store.audit_checkpoint(KEY).unwrap();
    let replaced = store
        .verify_audit_anchored(KEY, Some(&anchor))
        .unwrap()
        .broken_at
        .expect("the replacement is found");
    assert_eq!(replaced.seq, 6);
    assert!(
        replaced.reason.contains("OS keychain remembers"),
        "{}",
        replaced.reason
    );

    // Tail cut along with its checkpoints: the anchor names the missing records.
    let (dir, store) = chain(6);
    let head = store.audit_checkpoint(KEY).unwrap().unwrap();
    tamper(
        &dir,
        "DELETE FROM audit_log WHERE seq >= 4; DELETE FROM audit_checkpoints;",
    );
    let cut = store
        .verify_audit_anchored(
            KEY,
            Some(&pincer_store::AuditAnchor {
                seq: head.seq,
                hash: head.hash,
            }),
        )
        .unwrap()
        .broken_at
        .expect("the cut is found");
    assert_eq!(cut.seq, 4);
    assert!(
        cut.reason.contains("records 4..6 were deleted"),
        "{}",
        cut.reason
    );
}

#[test]
fn retention_prunes_old_records_and_the_rest_still_verifies() {
    let (dir, store) = chain(5);
    store.audit_checkpoint(KEY).unwrap();
    for n in 6..=8 {
        store.audit(event(n)).unwrap();
    }
    let pruned = store.prune_audit(i64::MAX, KEY).unwrap();
    assert_eq!(
        pruned,
        pincer_store::AuditPrune {
            removed: 5,
            first_kept: 6
        },
        "cut just after the checkpoint at 5; the head stays"
    );
    let after = store.verify_audit_signed(KEY).unwrap();
    assert_eq!(
        (after.records, after.broken_at.clone()),
        (3, None),
        "{after:?}"
    );
    assert_eq!(store.audit(event(9)).unwrap().seq, 9, "the chain goes on");

    // Deleting old records by hand, with no checkpoint at the cut, is caught.
    tamper(&dir, "DELETE FROM audit_log WHERE seq = 6");
    let hole = store
        .verify_audit_signed(KEY)
        .unwrap()
        .broken_at
        .expect("the hand cut is found");
    assert_eq!(hole.seq, 7);
    assert!(
        hole.reason.contains("no signed checkpoint"),
        "{}",
        hole.reason
    );
}

#[test]
fn the_pane_filters_by_actor_action_outcome_text_and_time() {
    let (_dir, store) = chain(3);
    let refusal = AuditEvent {
        actor: "client".into(),
        action: "gateway.auth".into(),
        target: "/v1/models".into(),
        decision: "denied".into(),
        details: serde_json::json!({"reason": "wrong_token 100%"}),
    };
    store.audit(refusal).unwrap();
    let query = |filter: pincer_store::AuditFilter| {
        store
            .query_audit(&filter)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(query(Default::default()), [4, 3, 2, 1], "newest first");
    assert_eq!(
        query(pincer_store::AuditFilter {
            actor: Some("client".into()),
            ..Default::default()
        }),
        [4]
    );
    assert_eq!(
        query(pincer_store::AuditFilter {
            action: Some("gateway.".into()),
            ..Default::default()
        }),
        [4]
    );
    assert_eq!(
        query(pincer_store::AuditFilter {
            action: Some("soul".into()),
            ..Default::default()
        }),
        [3, 2, 1]
    );
    assert_eq!(
        query(pincer_store::AuditFilter {
            decision: Some("done".into()),
            limit: Some(2),
            ..Default::default()
        }),
        [3, 2]
    );
    assert_eq!(
        query(pincer_store::AuditFilter {
            decision: Some("done".into()),
            before_seq: Some(2),
            ..Default::default()
        }),
        [1]
    );
    assert_eq!(
        query(pincer_store::AuditFilter {
            text: Some("WRONG_token 100%".into()),
            ..Default::default()
        }),
        [4],
        "case-insensitive, % is literal"
    );
    assert_eq!(
        query(pincer_store::AuditFilter {
            text: Some("v2".into()),
            ..Default::default()
        }),
        [2]
    );
    assert!(
        query(pincer_store::AuditFilter {
            text: Some("_".into()),
            ..Default::default()
        })
        .iter()
        .all(|&s| s == 4),
        "_ is literal"
    );
    assert!(query(pincer_store::AuditFilter {
        from_ms: Some(i64::MAX),
        ..Default::default()
    })
    .is_empty());
    let (actors, actions) = store.audit_vocabulary().unwrap();
    assert_eq!(
        (actors, actions),
        (
            vec!["client".to_string(), "owner".into()],
            vec!["gateway.auth".to_string(), "soul.save".into()]
        )
    );
}
