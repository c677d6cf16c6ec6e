//! Sessions and their messages: the raw record later read as trajectories.

use crate::{unix_now, Result, SqliteContext, Store, StoreError};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// A conversation: one per client-supplied session key, or one per request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Pincer's id for the session.
    pub id: String,
    /// The key the client grouped requests by (`x-session-id`), if any.
    pub client_key: Option<String>,
    /// Which surface created it (`gateway`, `desktop`, `cli`).
    pub source: String,
    /// A human title, when one is known.
    pub title: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last message.
    pub updated_at: i64,
}

/// What to create a session with.
#[derive(Clone, Debug, Default)]
pub struct NewSession {
    /// The client's grouping key, if any.
    pub client_key: Option<String>,
    /// Which surface creates it; empty means `gateway`.
    pub source: String,
    /// A human title.
    pub title: Option<String>,
}

/// Generation figures saved beside an assistant message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageStats {
    /// The model that wrote it.
    pub model: Option<String>,
    /// Why generation stopped (`stop`, `length`, `canceled`).
    pub finish_reason: Option<String>,
    /// Tokens in the prompt.
    pub prompt_tokens: Option<i64>,
    /// Tokens generated.
    pub completion_tokens: Option<i64>,
    /// Milliseconds from request to first token.
    pub time_to_first_token_ms: Option<f64>,
    /// Generated tokens per second after the first.
    pub decode_tokens_per_second: Option<f64>,
}

/// A message to append.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text.
    pub content: String,
    /// Generation figures, for assistant answers.
    pub stats: MessageStats,
    /// The memory an answer was given, in prompt order.
    pub sources: Vec<MessageSource>,
    /// An assistant message's tool calls: OpenAI's `tool_calls` as JSON.
    pub tool_calls: Option<String>,
    /// A tool message's call id.
    pub tool_call_id: Option<String>,
}

impl NewMessage {
    /// A message without generation figures.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
            stats: MessageStats::default(),
            sources: Vec::new(),
            tool_calls: None,
            tool_call_id: None,
        }
    }
}

/// A piece of memory an answer was given: where it is, so the owner can
/// check what the answer stood on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageSource {
    /// The file.
    pub path: String,
    /// First line, 1-based.
    pub start_line: i64,
    /// Last line, inclusive.
    pub end_line: i64,
    /// `owner`, `agent`, `untrusted` or `system`.
    pub provenance: String,
    /// The chunk it was (it may since have been re-indexed away).
    pub chunk_id: Option<i64>,
    /// The search score it had.
    pub score: f64,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Row id.
    pub id: i64,
    /// The session it belongs to.
    pub session_id: String,
    /// Its place in the session, from 0.
    pub position: i64,
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text.
    pub content: String,
    /// Generation figures, for assistant answers.
    pub stats: MessageStats,
    /// The memory an answer was given.
    pub sources: Vec<MessageSource>,
    /// An assistant message's tool calls: OpenAI's `tool_calls` as JSON.
    pub tool_calls: Option<String>,
    /// A tool message's call id.
    pub tool_call_id: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

const SESSION_COLUMNS: &str = "id, client_key, source, title, created_at, updated_at";

fn session_from_row(row: &Row) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(0)?,
        client_key: row.get(1)?,
        source: row.get(2)?,
        title: row.get(3)?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
    })
}

impl Store {
    /// Creates a session; a client key already in use returns that session.
    pub fn create_session(&self, new: NewSession) -> Result<Session> {
        let now = unix_now();
        let source = if new.source.is_empty() {
            "gateway".to_string()
        } else {
            new.source
        };
        let id = uuid::Uuid::new_v4().to_string();
        let title = new.title.map(|t| self.scrub("sessions", &t).into_owned());
        self.write_row(
            &format!(
                "INSERT INTO sessions (id, client_key, source, title, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT(client_key) DO UPDATE SET updated_at = excluded.updated_at
                 RETURNING {SESSION_COLUMNS}"
            ),
            params![id, new.client_key, source, title, now],
            session_from_row,
            "creating a session",
        )
    }

    /// The session with this id.
    pub fn session(&self, id: &str) -> Result<Session> {
        self.lock()
            .query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"),
                [id],
                session_from_row,
            )
            .optional()
            .context("reading a session")?
            .ok_or_else(|| StoreError::NotFound {
                what: "session",
                id: id.to_string(),
            })
    }

    /// The most recently active sessions, newest first.
    pub fn recent_sessions(&self, limit: u32) -> Result<Vec<Session>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions ORDER BY updated_at DESC, rowid DESC LIMIT ?1"
            ))
            .context("listing sessions")?;
        let rows = statement
            .query_map([limit], session_from_row)
            .context("listing sessions")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .context("listing sessions")
    }

    /// Gives a session a new title.
    pub fn rename_session(&self, id: &str, title: &str) -> Result<Session> {
        let title = self.scrub("sessions", title);
        let changed = self
            .lock()
            .execute(
                "UPDATE sessions SET title = ?2 WHERE id = ?1",
                params![id, title],
            )
            .context("renaming a session")?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "session",
                id: id.to_string(),
            });
        }
        self.session(id)
    }

    /// Deletes a session and its messages.
    pub fn delete_session(&self, id: &str) -> Result<()> {
        let changed = self
            .lock()
            .execute("DELETE FROM sessions WHERE id = ?1", [id])
            .context("deleting a session")?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "session",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// The messages of a session, in order.
    pub fn messages(&self, session_id: &str) -> Result<Vec<Message>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(
                "SELECT id, session_id, position, role, content, model, finish_reason, prompt_tokens,
                        completion_tokens, time_to_first_token_ms, decode_tokens_per_second, created_at,
                        tool_calls, tool_call_id
                 FROM messages WHERE session_id = ?1 ORDER BY position",
            )
            .context("reading messages")?;
        let rows = statement
            .query_map([session_id], |row| {
                Ok(Message {
                    id: row.get(0)?,
                    session_id: row.get(1)?,
                    position: row.get(2)?,
                    role: row.get(3)?,
                    content: row.get(4)?,
                    stats: MessageStats {
                        model: row.get(5)?,
                        finish_reason: row.get(6)?,
                        prompt_tokens: row.get(7)?,
                        completion_tokens: row.get(8)?,
                        time_to_first_token_ms: row.get(9)?,
                        decode_tokens_per_second: row.get(10)?,
                    },
                    sources: Vec::new(),
                    created_at: row.get(11)?,
                    tool_calls: row.get(12)?,
                    tool_call_id: row.get(13)?,
                })
            })
            .context("reading messages")?;
        let mut messages = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading messages")?;
        let mut sources = connection
            .prepare_cached(
                "SELECT path, start_line, end_line, provenance, chunk_id, score FROM message_sources
                 WHERE message_id = ?1 ORDER BY rank",
            )
            .context("reading message sources")?;
        for message in messages.iter_mut().filter(|m| m.role == "assistant") {
            let rows = sources
                .query_map([message.id], |row| {
                    Ok(MessageSource {
                        path: row.get(0)?,
                        start_line: row.get(1)?,
                        end_line: row.get(2)?,
                        provenance: row.get(3)?,
                        chunk_id: row.get(4)?,
                        score: row.get(5)?,
                    })
                })
                .context("reading message sources")?;
            message.sources = rows
                .collect::<rusqlite::Result<Vec<_>>>()
                .context("reading message sources")?;
        }
        Ok(messages)
    }

    /// Records one request/answer exchange in a session, atomically.
    ///
    /// OpenAI-style clients resend the whole conversation each turn, so only
    /// the part of `request` beyond what the session already holds is
    /// appended (a client that rewrote history appends its new branch), then
    /// the `answer`. Returns the answer's message id.
    pub fn record_exchange(
        &self,
        session_id: &str,
        request: &[NewMessage],
        answer: &NewMessage,
    ) -> Result<i64> {
        // Scrubbed first: stored messages hold scrubbed text, and the
        // comparison with what is already saved must see the same.
        let scrub = |message: &NewMessage| NewMessage {
            content: self.scrub("messages", &message.content).into_owned(),
            ..message.clone()
        };
        let request: Vec<NewMessage> = request.iter().map(scrub).collect();
        let answer = scrub(answer);
        let stored = self.messages(session_id)?;
        let already = stored
            .iter()
            .zip(&request)
            .take_while(|(old, new)| {
                old.role == new.role
                    && old.content == new.content
                    && old.tool_call_id == new.tool_call_id
            })
            .count();
        let mut to_append: Vec<&NewMessage> = request[already..].iter().collect();
        to_append.push(&answer);
        let now = unix_now();
        let mut connection = self.lock();
        let transaction = connection
            .transaction()
            .context("starting to record an exchange")?;
        let mut answer_id = 0;
        let first_position: i64 = transaction
            .query_row(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM messages WHERE session_id = ?1",
                [session_id],
                |row| row.get(0),
            )
            .context("finding the next message position")?;
        for (message, position) in to_append.into_iter().zip(first_position..) {
            let s = &message.stats;
            transaction
                .execute(
                    "INSERT INTO messages (session_id, position, role, content, model, finish_reason,
                        prompt_tokens, completion_tokens, time_to_first_token_ms, decode_tokens_per_second, created_at,
                        tool_calls, tool_call_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                    params![
                        session_id, position, message.role, message.content, s.model, s.finish_reason,
                        s.prompt_tokens, s.completion_tokens, s.time_to_first_token_ms,
                        s.decode_tokens_per_second, now, message.tool_calls, message.tool_call_id
                    ],
                )
                .context("saving a message")?;
            let message_id = transaction.last_insert_rowid();
            answer_id = message_id;
            for (rank, source) in message.sources.iter().enumerate() {
                transaction
                    .execute(
                        "INSERT INTO message_sources (message_id, rank, path, start_line, end_line, provenance, chunk_id, score)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            message_id, rank as i64, source.path, source.start_line, source.end_line,
                            source.provenance, source.chunk_id, source.score
                        ],
                    )
                    .context("saving a message's sources")?;
            }
        }
        transaction
            .execute(
                "UPDATE sessions SET updated_at = ?2 WHERE id = ?1",
                params![session_id, now],
            )
            .context("touching a session")?;
        transaction.commit().context("committing an exchange")?;
        Ok(answer_id)
    }
}
