//! Sealed mode: the soul history and pending changes as sealed text in the
//! database file, opened only with the key.

use pincer_seal::Sealer;
use pincer_store::{Store, StoreError};

const TEXT: &str = "The owner's bank is Zebrafin";

/// Every text column of the soul tables, straight from the file.
fn raw_texts(dir: &tempfile::TempDir) -> String {
    let connection = rusqlite::Connection::open(dir.path().join(Store::FILE_NAME)).unwrap();
    let mut all = String::new();
    for sql in [
        "SELECT content FROM soul_versions",
        "SELECT content || reason FROM soul_proposals",
    ] {
        let mut statement = connection.prepare(sql).unwrap();
        let rows = statement.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.for_each(|r| all.push_str(&r.unwrap()));
    }
    all
}

#[test]
fn sealed_history_hides_its_text_and_opens_only_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).unwrap();
    store
        .record_soul_version("USER.md", &format!("{TEXT}."), "owner")
        .unwrap();
    store
        .propose_soul_change(
            "USER.md",
            &format!("{TEXT}, account 4."),
            "agent",
            "Zebrafin is the bank",
        )
        .unwrap();
    assert!(raw_texts(&dir).contains("Zebrafin"));

    store.set_sealing(Some(Sealer::new([9; 32])), true);
    assert_eq!(store.reseal_soul_history(true).unwrap(), 2);
    assert_eq!(
        store.reseal_soul_history(true).unwrap(),
        0,
        "resealing twice changes nothing"
    );
    let version = store
        .record_soul_version("USER.md", &format!("{TEXT} since 2020."), "owner")
        .unwrap();
    assert_eq!(version.content, format!("{TEXT} since 2020."));
    assert!(
        !raw_texts(&dir).contains("Zebrafin"),
        "nothing readable is left in the file"
    );

    // Read back through the store, everything is plain again.
    let history = store.soul_history("USER.md").unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].content, format!("{TEXT}."));
    let pending = store.pending_soul_proposals(Some("USER.md")).unwrap();
    assert_eq!(
        (pending[0].content.as_str(), pending[0].reason.as_str()),
        (
            "The owner's bank is Zebrafin, account 4.",
            "Zebrafin is the bank"
        )
    );

    // Without the key, or with another, it is a clear error, never garbage.
    let other = Store::open_in(dir.path()).unwrap();
    let error = other.latest_soul_version("USER.md").unwrap_err();
    assert!(
        matches!(error, StoreError::Sealed { .. }) && error.to_string().contains("no key"),
        "{error}"
    );
    other.set_sealing(Some(Sealer::new([1; 32])), false);
    assert!(other
        .soul_history("USER.md")
        .unwrap_err()
        .to_string()
        .contains("does not open"));

    // Unsealing writes every row back as plain text.
    store.set_sealing(Some(Sealer::new([9; 32])), false);
    assert_eq!(store.reseal_soul_history(false).unwrap(), 3);
    assert!(raw_texts(&dir).contains("Zebrafin since 2020"));
    assert_eq!(
        other.soul_history("USER.md").unwrap().len(),
        2,
        "plain rows read without the key"
    );
}
