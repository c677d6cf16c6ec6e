//! Versioned schema migrations, tracked in SQLite's `user_version`.
//!
//! Each entry is applied once, in order, inside its own transaction, so a
//! process killed mid-migration leaves the file at the previous version.
//! Entries are never edited once released; a change is a new entry.

use crate::{Result, SqliteContext, StoreError};
use rusqlite::Connection;
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    // 1: sessions and messages.
    r#"
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        client_key TEXT UNIQUE,
        source TEXT NOT NULL,
        title TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        model TEXT,
        finish_reason TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        time_to_first_token_ms REAL,
        decode_tokens_per_second REAL,
        created_at INTEGER NOT NULL,
        UNIQUE (session_id, position)
    );
    CREATE INDEX messages_by_session ON messages(session_id, position);
    "#,
    // 2: saved versions of the workspace's soul files (SOUL.md, AGENTS.md, ...).
    r#"
    CREATE TABLE soul_versions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file TEXT NOT NULL,
        content TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        origin TEXT NOT NULL,
        saved_at INTEGER NOT NULL
    );
    CREATE INDEX soul_versions_by_file ON soul_versions(file, id);
    "#,
    // 3: the memory index (rebuildable from the markdown). The vec0 table is
    // created by pincer-memory, sized to the embedder it loads; deleting a
    // chunk drops its keyword and vector rows in the same statement.
    r#"
    CREATE TABLE memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE memory_sources (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        provenance TEXT NOT NULL,
        added_at INTEGER NOT NULL
    );
    CREATE TABLE memory_files (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id INTEGER NOT NULL REFERENCES memory_sources(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        content_hash TEXT NOT NULL,
        modified_ms INTEGER NOT NULL,
        size INTEGER NOT NULL,
        day INTEGER NOT NULL,
        indexed_at INTEGER NOT NULL
    );
    CREATE INDEX memory_files_by_source ON memory_files(source_id);
    CREATE TABLE memory_chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_id INTEGER NOT NULL REFERENCES memory_files(id) ON DELETE CASCADE,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL,
        heading_path TEXT NOT NULL,
        text TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        provenance TEXT NOT NULL
    );
    CREATE INDEX memory_chunks_by_file ON memory_chunks(file_id);
    CREATE INDEX memory_chunks_by_hash ON memory_chunks(content_hash);
    CREATE VIRTUAL TABLE memory_fts USING fts5(text, heading, tokenize = 'porter unicode61');
    CREATE TRIGGER memory_chunks_drop_fts AFTER DELETE ON memory_chunks BEGIN
        DELETE FROM memory_fts WHERE rowid = old.id;
    END;
    CREATE TABLE message_sources (
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        rank INTEGER NOT NULL,
        path TEXT NOT NULL,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL,
        provenance TEXT NOT NULL,
        chunk_id INTEGER,
        score REAL NOT NULL,
        PRIMARY KEY (message_id, rank)
    );
    "#,
    // 4: the hash-chained audit log (see audit.rs).
    r#"
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        decision TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_time ON audit_log(at_ms);
    "#,
    // 5: signed audit checkpoints (checkpoint.rs) and changes to protected
    // soul files that wait for the owner (proposals.rs).
    r#"
    CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        mac TEXT NOT NULL
    );
    CREATE TABLE soul_proposals (
        id INTEGER PRIMARY KEY,
        file TEXT NOT NULL,
        content TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        origin TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        decided_at INTEGER
    );
    CREATE INDEX soul_proposals_by_file ON soul_proposals(file, status);
    "#,
    // 6: the keyword index drops a deleted chunk's words at once instead of
    // at its next merge, so removed text leaves no trace in it.
    r#"
    INSERT INTO memory_fts(memory_fts, rank) VALUES ('secure-delete', 1);
    "#,
    // 7: audit records by action (the pane's filter; a server noticing a
    // secret set by `pincer secrets` in another process).
    r#"
    CREATE INDEX audit_by_action ON audit_log(action);
    "#,
    // 8: the learning signal (trajectories.rs): consent per source, and
    // each assistant turn with its prompt, tokens, next state and judgment.
    r#"
    CREATE TABLE consent (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        purpose TEXT NOT NULL,
        granted INTEGER NOT NULL,
        by TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX consent_by_source ON consent(source, purpose, id);
    CREATE TABLE trajectories (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        source TEXT NOT NULL,
        consent_id INTEGER NOT NULL REFERENCES consent(id),
        model TEXT NOT NULL,
        adapter TEXT,
        soul_sha256 TEXT,
        prompt TEXT NOT NULL,
        response TEXT NOT NULL,
        tokens TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        next_kind TEXT,
        next_text TEXT,
        next_at_ms INTEGER,
        feedback TEXT,
        edited_answer TEXT,
        score INTEGER,
        votes TEXT,
        hint TEXT,
        judge TEXT,
        judged_at_ms INTEGER
    );
    CREATE INDEX trajectories_by_session ON trajectories(session_id, id);
    CREATE INDEX trajectories_to_judge ON trajectories(id) WHERE judged_at_ms IS NULL AND next_kind IS NOT NULL;
    "#,
    // 9: trained adapters (adapters.rs): every version with its data,
    // settings, metrics and the gate's decision; at most one serves.
    r#"
    CREATE TABLE adapters (
        id INTEGER PRIMARY KEY,
        created_at_ms INTEGER NOT NULL,
        base_model TEXT NOT NULL,
        parent_id INTEGER REFERENCES adapters(id),
        path TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('serving', 'kept', 'rejected')),
        reason TEXT NOT NULL,
        settings TEXT NOT NULL,
        data TEXT NOT NULL,
        metrics TEXT NOT NULL
    );
    CREATE UNIQUE INDEX one_serving_adapter ON adapters(status) WHERE status = 'serving';
    "#,
    // 10: tool use (issue 20): an assistant message's calls (OpenAI's
    // `tool_calls`, as JSON) and the call a tool message answers.
    r#"
    ALTER TABLE messages ADD COLUMN tool_calls TEXT;
    ALTER TABLE messages ADD COLUMN tool_call_id TEXT;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version recorded in the file (0: a new file).
pub(crate) fn version(connection: &Connection) -> Result<i64> {
    connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .context("reading the schema version")
}

pub(crate) fn apply(connection: &mut Connection, path: &Path) -> Result<()> {
    let found = version(connection)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        let transaction = connection.transaction().context("starting a migration")?;
        transaction
            .execute_batch(sql)
            .context("applying a migration")?;
        transaction
            .pragma_update(None, "user_version", version)
            .context("recording the schema version")?;
        transaction.commit().context("committing a migration")?;
        tracing::debug!(version, "applied database migration");
    }
    Ok(())
}
