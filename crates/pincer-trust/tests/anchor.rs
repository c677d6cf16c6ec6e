//! The keychain anchor follows the audit log's head: a log cut at its end
//! (checkpoints and all) or wiped before its first checkpoint fails
//! verification, naming what is missing. Runs against the real OS keychain
//! (a private GNOME Keyring in the test session).

use pincer_store::{AuditAnchor, Store};
use pincer_trust::{Action, Actor, Trust};
use std::path::Path;
use std::sync::Arc;

fn open(dir: &Path) -> Arc<Trust> {
    let store = Arc::new(Store::open_in(dir).unwrap());
    Trust::open(dir, &store).unwrap()
}

/// Appends records until the log's head is `head`.
fn fill_to(trust: &Trust, head: i64) {
    while trust
        .store()
        .audit_head()
        .unwrap()
        .map_or(0, |(seq, _)| seq)
        < head
    {
        trust
            .record(
                Actor::Owner,
                Action::ConfigGateway,
                "test",
                "done",
                serde_json::json!({}),
            )
            .unwrap();
    }
}

fn anchored(trust: &Trust) -> Option<AuditAnchor> {
    trust
        .vault()
        .get(pincer_vault::names::AUDIT_ANCHOR)
        .unwrap()
        .and_then(|text| AuditAnchor::decode(text.expose()))
}

fn tamper(dir: &Path, sql: &str) {
    rusqlite::Connection::open(dir.join(Store::FILE_NAME))
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn the_anchor_is_the_head_not_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let trust = open(dir.path());
    fill_to(&trust, 100);
    let verification = trust.verify().unwrap();
    assert_eq!(verification.broken_at, None);
    let (head, hash) = trust.store().audit_head().unwrap().unwrap();
    assert_eq!(head, 100);
    // The signed checkpoint is at 64; the anchor is at the head.
    assert_eq!(verification.signed_up_to, Some(64));
    assert_eq!(anchored(&trust), Some(AuditAnchor { seq: 100, hash }));
}

#[test]
fn the_newest_three_records_cut_with_their_checkpoints_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let trust = open(dir.path());
    fill_to(&trust, 100);
    // A clean exit signs the head too, as `pincer serve` does.
    trust.checkpoint().unwrap();
    drop(trust);

    // Someone with the file cuts the newest 3 records and every checkpoint
    // that would show it: what is left is a valid, signed chain of 97.
    tamper(
        dir.path(),
        "DELETE FROM audit_log WHERE seq > 97; DELETE FROM audit_checkpoints WHERE seq > 97;",
    );
    let trust = open(dir.path());
    let broken = trust
        .verify()
        .unwrap()
        .broken_at
        .expect("the cut tail is found");
    assert_eq!(broken.seq, 98);
    assert!(
        broken
            .reason
            .contains("records 98..100 were deleted (the newest 3 records are missing)"),
        "{}",
        broken.reason
    );
    // Opened over the cut, the store is damaged: writes stop, so nothing
    // is written over the gap, and the anchor stays on the lost chain.
    let pincer_store::StoreCondition::Damaged { cause } = trust.store().condition() else {
        panic!(
            "the cut is not caught at open: {:?}",
            trust.store().condition()
        );
    };
    assert!(
        cause.contains("ends at record 97, but the OS keychain remembers record 100"),
        "{cause}"
    );
    let refused = trust
        .record(
            Actor::Owner,
            Action::ConfigGateway,
            "test",
            "done",
            serde_json::json!({}),
        )
        .expect_err("a damaged store takes no record");
    assert!(refused.to_string().contains("damaged"), "{refused}");
    let problems = trust.problems().list();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].area, pincer_trust::problems::Area::Audit);
    assert_eq!(
        trust.store().audit_head().unwrap().map(|(seq, _)| seq),
        Some(97)
    );
    assert!(trust.verify().unwrap().broken_at.is_some());
    assert_eq!(anchored(&trust).map(|a| a.seq), Some(100));
}

#[test]
fn a_log_wiped_before_its_first_checkpoint_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let trust = open(dir.path());
    fill_to(&trust, 20);
    drop(trust);
    tamper(
        dir.path(),
        "DELETE FROM audit_log; DELETE FROM audit_checkpoints;",
    );
    let trust = open(dir.path());
    let broken = trust
        .verify()
        .unwrap()
        .broken_at
        .expect("the wipe is found");
    assert!(
        broken
            .reason
            .contains("the log was deleted (20 records missing)"),
        "{}",
        broken.reason
    );
}

#[test]
fn a_record_written_just_now_is_anchored_before_verification() {
    let dir = tempfile::tempdir().unwrap();
    let trust = open(dir.path());
    fill_to(&trust, 5);
    assert_eq!(trust.verify().unwrap().broken_at, None);
    trust
        .record(
            Actor::Agent,
            Action::SoulPropose,
            "SOUL.md",
            "held",
            serde_json::json!({}),
        )
        .unwrap();
    // Cut only the record just written: nothing in the database shows it.
    tamper(dir.path(), "DELETE FROM audit_log WHERE seq = 6;");
    let broken = trust.verify().unwrap().broken_at.expect("the cut is found");
    assert!(
        broken.reason.contains("records 6..6 were deleted"),
        "{}",
        broken.reason
    );
}
