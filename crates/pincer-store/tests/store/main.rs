//! The store against a real SQLite file with the real sqlite-vec extension.

mod adapters;
mod audit;
mod data_safety;
mod redact;
mod seal;
mod trajectories;

use pincer_store::{
    MessageSource, MessageStats, NewMessage, NewSession, Store, StoreError, SCHEMA_VERSION,
};

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_in(dir.path()).expect("open store");
    (dir, store)
}

#[test]
fn opening_sets_wal_foreign_keys_and_loads_sqlite_vec() {
    let (dir, store) = fresh();
    assert!(
        store
            .sqlite_vec_version()
            .expect("vec_version")
            .starts_with('v'),
        "sqlite-vec must be registered"
    );
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    // A second, independent connection sees the file's persistent settings.
    let raw = rusqlite::Connection::open(dir.path().join(Store::FILE_NAME)).expect("raw open");
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(
        mode, "wal",
        "the database must stay in WAL mode so readers never block the server"
    );
    // Foreign keys are per connection: prove ours enforces them.
    let orphan = store.record_exchange("no-such-session", &[], &NewMessage::new("assistant", "hi"));
    assert!(
        matches!(orphan, Err(StoreError::Sqlite { .. })),
        "a message without a session must be refused"
    );
}

#[test]
fn vector_tables_share_the_database() {
    let (dir, _store) = fresh();
    // Connections opened after the store was opened get sqlite-vec too.
    let raw = rusqlite::Connection::open(dir.path().join(Store::FILE_NAME)).expect("raw open");
    raw.execute_batch("CREATE VIRTUAL TABLE v USING vec0(embedding float[3]); INSERT INTO v(rowid, embedding) VALUES (1, '[1,0,0]'), (2, '[0,1,0]');")
        .expect("vec0 table");
    let nearest: i64 = raw
        .query_row(
            "SELECT rowid FROM v WHERE embedding MATCH '[0.9,0.1,0]' ORDER BY distance LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("knn query");
    assert_eq!(nearest, 1);
}

#[test]
fn reopening_keeps_data_and_does_not_rerun_migrations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = {
        let store = Store::open_in(dir.path()).expect("open");
        let session = store
            .create_session(NewSession::default())
            .expect("session");
        store
            .record_exchange(
                &session.id,
                &[NewMessage::new("user", "hello")],
                &NewMessage::new("assistant", "hi"),
            )
            .expect("record");
        session.id
    };
    let store = Store::open_in(dir.path()).expect("reopen");
    assert_eq!(
        store.messages(&id).expect("messages").len(),
        2,
        "reopening must keep what was saved"
    );
    assert_eq!(store.session(&id).expect("session").source, "gateway");
}

#[test]
fn a_database_from_a_newer_pincer_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(Store::FILE_NAME);
    {
        let raw = rusqlite::Connection::open(&path).expect("raw");
        raw.execute_batch(
            "CREATE TABLE keep(x); INSERT INTO keep VALUES (42); PRAGMA user_version = 999;",
        )
        .expect("seed");
    }
    let error = Store::open(&path).expect_err("newer schema must be refused");
    assert!(
        matches!(error, StoreError::SchemaTooNew { found: 999, .. }),
        "got {error}"
    );
    assert!(
        error.to_string().contains("upgrade Pincer"),
        "the message says what to do: {error}"
    );
    let raw = rusqlite::Connection::open(&path).expect("raw");
    let kept: i64 = raw
        .query_row("SELECT x FROM keep", [], |r| r.get(0))
        .expect("data still there");
    assert_eq!(kept, 42);
}

#[test]
fn a_client_key_groups_requests_into_one_session() {
    let (_dir, store) = fresh();
    let key = || NewSession {
        client_key: Some("conversation-7".into()),
        ..Default::default()
    };
    let first = store.create_session(key()).expect("first");
    let second = store.create_session(key()).expect("second");
    assert_eq!(
        first.id, second.id,
        "the same x-session-id must land in the same session"
    );
    let other = store
        .create_session(NewSession::default())
        .expect("keyless");
    assert_ne!(
        other.id, first.id,
        "requests without a key get their own session"
    );
}

#[test]
fn resent_history_is_stored_once_and_stats_are_kept() {
    let (_dir, store) = fresh();
    let session = store
        .create_session(NewSession {
            client_key: Some("k".into()),
            ..Default::default()
        })
        .expect("session");
    let answer = |text: &str| NewMessage {
        role: "assistant".into(),
        content: text.into(),
        stats: MessageStats {
            model: Some("tiny".into()),
            finish_reason: Some("length".into()),
            completion_tokens: Some(4),
            ..Default::default()
        },
        sources: vec![MessageSource {
            path: format!("/notes/{text}.md"),
            start_line: 3,
            end_line: 5,
            provenance: "owner".into(),
            chunk_id: Some(7),
            score: 0.5,
        }],
        tool_calls: None,
        tool_call_id: None,
    };
    let turn1 = vec![
        NewMessage::new("system", "be brief"),
        NewMessage::new("user", "one"),
    ];
    store
        .record_exchange(&session.id, &turn1, &answer("first"))
        .expect("turn 1");
    // Turn 2 resends turn 1 and the answer, as OpenAI clients do.
    let mut turn2 = turn1.clone();
    turn2.push(NewMessage::new("assistant", "first"));
    turn2.push(NewMessage::new("user", "two"));
    store
        .record_exchange(&session.id, &turn2, &answer("second"))
        .expect("turn 2");
    let messages = store.messages(&session.id).expect("messages");
    let transcript: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| (m.role.as_str(), m.content.as_str()))
        .collect();
    assert_eq!(
        transcript,
        vec![
            ("system", "be brief"),
            ("user", "one"),
            ("assistant", "first"),
            ("user", "two"),
            ("assistant", "second")
        ],
        "each message must be stored once, in order"
    );
    assert_eq!(messages[4].stats.finish_reason.as_deref(), Some("length"));
    assert_eq!(
        messages[4].sources.len(),
        1,
        "an answer keeps the memory it was given"
    );
    assert_eq!(
        (
            messages[4].sources[0].path.as_str(),
            messages[4].sources[0].end_line
        ),
        ("/notes/second.md", 5)
    );
    assert!(messages[1].sources.is_empty());
    assert_eq!(
        messages.iter().map(|m| m.position).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(store.recent_sessions(10).expect("recent")[0].id, session.id);
}

#[test]
fn tool_calls_and_tool_results_are_kept_with_their_ids() {
    let (_dir, store) = fresh();
    let session = store
        .create_session(NewSession::default())
        .expect("session");
    let call = NewMessage {
        tool_calls: Some(r#"[{"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{}"}}]"#.into()),
        ..NewMessage::new("assistant", "")
    };
    store
        .record_exchange(&session.id, &[NewMessage::new("user", "read it")], &call)
        .expect("first step");
    let result = NewMessage {
        tool_call_id: Some("call_1".into()),
        ..NewMessage::new("tool", "the text")
    };
    let request = vec![NewMessage::new("user", "read it"), call.clone(), result];
    store
        .record_exchange(&session.id, &request, &NewMessage::new("assistant", "done"))
        .expect("second step");
    let saved = store.messages(&session.id).expect("messages");
    let roles: Vec<&str> = saved.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "assistant"]);
    assert_eq!(saved[1].tool_calls, call.tool_calls);
    assert_eq!(saved[2].tool_call_id.as_deref(), Some("call_1"));
}
