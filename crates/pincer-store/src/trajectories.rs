//! Long because consent and trajectories are one ledger: every read of a
//! record goes through the consent in force for its source.
//!
//! The learning signal's records: consent per source, and every consented
//! assistant turn (a trajectory) with its full prompt, the response and its
//! token log-probabilities under the serving model, the next state that
//! followed it, and the judge's verdict. Nothing is stored for a source
//! without consent; withdrawing it keeps old records out of every future
//! training set ([`Store::training_set`]).

use crate::{unix_now_ms, Result, SqliteContext, Store, StoreError};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// What a consent covers.
pub mod purpose {
    /// Turns may become training data.
    pub const TRAINING: &str = "training";
    /// A cloud model may judge turns.
    pub const CLOUD_JUDGE: &str = "cloud-judge";
}

/// One grant or withdrawal, as the ledger keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Row id; a trajectory names the grant it was taken under.
    pub id: i64,
    /// `app`, `client:<name>` or `session:<id>`.
    pub source: String,
    /// What it covers ([`purpose`]).
    pub purpose: String,
    /// Given (`true`) or withdrawn.
    pub granted: bool,
    /// Who decided (`owner`, or the surface: `ui`, `cli`).
    pub by: String,
    /// Unix ms.
    pub at_ms: i64,
}

/// An assistant turn to keep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewTrajectory {
    /// Its session.
    pub session_id: String,
    /// The saved answer it belongs to (for thumbs and edits in the chat).
    pub message_id: Option<i64>,
    /// The source whose consent covers it.
    pub source: String,
    /// The serving model.
    pub model: String,
    /// The adapter served with it, if any.
    pub adapter: Option<String>,
    /// SHA-256 of the soul text in its system prompt, if any.
    pub soul_sha256: Option<String>,
    /// The full prompt as JSON (messages with the system prompt; tools).
    pub prompt: serde_json::Value,
    /// The answer's text.
    pub response: String,
    /// Each response token and its natural-log probability at serving time.
    pub tokens: Vec<TokenRecord>,
}

/// A response token and its log-probability under the serving model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The token's id in the serving model's vocabulary, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// The token's text.
    pub text: String,
    /// Its natural-log probability.
    pub logprob: f32,
}

/// One judge sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    /// +1, 0 or −1 (a malformed answer counts as 0).
    pub score: i8,
    /// The judge's words.
    pub reasoning: String,
    /// A hint, when the next state gave direction.
    pub hint: Option<String>,
}

/// The judge's verdict on a turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    /// The final score after voting (and explicit feedback).
    pub score: i8,
    /// Every sample.
    pub votes: Vec<Vote>,
    /// The hint kept (the longest valid one), if any.
    pub hint: Option<String>,
    /// Which model judged.
    pub judge: String,
}

/// Counts of one source's turns ([`Store::trajectory_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    /// `app`, `client:<name>`.
    pub source: String,
    /// Turns recorded.
    pub total: i64,
    /// Of them judged.
    pub judged: i64,
    /// Scored +1.
    pub positive: i64,
    /// Scored 0.
    pub neutral: i64,
    /// Scored −1.
    pub negative: i64,
    /// With a hindsight hint.
    pub hinted: i64,
    /// With a next state, waiting for the judge.
    pub waiting: i64,
}

/// A stored turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// Row id.
    pub id: i64,
    /// The turn as recorded.
    #[serde(flatten)]
    pub turn: NewTrajectory,
    /// The consent it was taken under.
    pub consent_id: i64,
    /// Unix ms.
    pub created_at_ms: i64,
    /// What followed: `user_reply`, `tool_result`, `tool_error`, `feedback`.
    pub next_kind: Option<String>,
    /// Its text.
    pub next_text: Option<String>,
    /// When it came (unix ms).
    pub next_at_ms: Option<i64>,
    /// Explicit feedback: `up`, `down` or `edit`.
    pub feedback: Option<String>,
    /// The owner's corrected answer (feedback `edit`).
    pub edited_answer: Option<String>,
    /// The judgment, once judged.
    pub judgment: Option<Judgment>,
}

const COLUMNS: &str = "id, session_id, source, model, adapter, soul_sha256, prompt, response, tokens, consent_id, created_at_ms, \
                       next_kind, next_text, next_at_ms, feedback, edited_answer, score, votes, hint, judge, message_id";

/// Whether the consent in force covers trajectory `t`: the session's own
/// decision first, then its source's; none means off.
const CONSENTED: &str = "coalesce(
    (SELECT granted FROM consent WHERE source = 'session:' || t.session_id AND purpose = 'training' ORDER BY id DESC LIMIT 1),
    (SELECT granted FROM consent WHERE source = t.source AND purpose = 'training' ORDER BY id DESC LIMIT 1),
    0) = 1";

fn json_error(error: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(error))
}

fn from_row(row: &Row) -> rusqlite::Result<Trajectory> {
    let prompt: String = row.get(6)?;
    let tokens: String = row.get(8)?;
    let score: Option<i64> = row.get(16)?;
    let votes: Option<String> = row.get(17)?;
    let judgment = match (score, votes) {
        (Some(score), Some(votes)) => Some(Judgment {
            score: score as i8,
            votes: serde_json::from_str(&votes).map_err(json_error)?,
            hint: row.get(18)?,
            judge: row.get::<_, Option<String>>(19)?.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Trajectory {
        id: row.get(0)?,
        turn: NewTrajectory {
            session_id: row.get(1)?,
            message_id: row.get(20)?,
            source: row.get(2)?,
            model: row.get(3)?,
            adapter: row.get(4)?,
            soul_sha256: row.get(5)?,
            prompt: serde_json::from_str(&prompt).map_err(json_error)?,
            response: row.get(7)?,
            tokens: serde_json::from_str(&tokens).map_err(json_error)?,
        },
        consent_id: row.get(9)?,
        created_at_ms: row.get(10)?,
        next_kind: row.get(11)?,
        next_text: row.get(12)?,
        next_at_ms: row.get(13)?,
        feedback: row.get(14)?,
        edited_answer: row.get(15)?,
        judgment,
    })
}

fn consent_from_row(row: &Row) -> rusqlite::Result<Consent> {
    Ok(Consent {
        id: row.get(0)?,
        source: row.get(1)?,
        purpose: row.get(2)?,
        granted: row.get(3)?,
        by: row.get(4)?,
        at_ms: row.get(5)?,
    })
}

impl Store {
    /// Records a grant or withdrawal of `purpose` for `source`.
    pub fn set_consent(
        &self,
        source: &str,
        purpose: &str,
        granted: bool,
        by: &str,
    ) -> Result<Consent> {
        self.write_row(
            "INSERT INTO consent (source, purpose, granted, by, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             RETURNING id, source, purpose, granted, by, at_ms",
            params![source, purpose, granted, by, unix_now_ms()],
            consent_from_row,
            "recording consent",
        )
    }

    /// The consent in force for the first of `sources` that has a decision
    /// (most specific first: the session, then the client or the app).
    /// `None` when none was ever asked: the default is off.
    pub fn consent_for(&self, sources: &[&str], purpose: &str) -> Result<Option<Consent>> {
        let connection = self.lock();
        for source in sources {
            let latest = connection
                .query_row(
                    "SELECT id, source, purpose, granted, by, at_ms FROM consent
                     WHERE source = ?1 AND purpose = ?2 ORDER BY id DESC LIMIT 1",
                    params![source, purpose],
                    consent_from_row,
                )
                .optional()
                .context("reading consent")?;
            if latest.is_some() {
                return Ok(latest);
            }
        }
        Ok(None)
    }

    /// The latest decision for every source and purpose.
    pub fn consents(&self) -> Result<Vec<Consent>> {
        self.query_rows(
            "SELECT id, source, purpose, granted, by, at_ms FROM consent
             WHERE id IN (SELECT max(id) FROM consent GROUP BY source, purpose) ORDER BY source, purpose",
            [],
            consent_from_row,
            "listing consent",
        )
    }

    /// One decision by its id (a record names the grant it was taken under).
    pub fn consent(&self, id: i64) -> Result<Option<Consent>> {
        self.lock()
            .query_row(
                "SELECT id, source, purpose, granted, by, at_ms FROM consent WHERE id = ?1",
                [id],
                consent_from_row,
            )
            .optional()
            .context("reading consent")
    }

    /// Every grant and withdrawal, oldest first.
    pub fn consent_ledger(&self) -> Result<Vec<Consent>> {
        self.query_rows(
            "SELECT id, source, purpose, granted, by, at_ms FROM consent ORDER BY id",
            [],
            consent_from_row,
            "reading the consent ledger",
        )
    }

    /// Stores a turn under `consent` (which must be a grant of training).
    pub fn record_trajectory(&self, turn: &NewTrajectory, consent: &Consent) -> Result<i64> {
        if !consent.granted || consent.purpose != purpose::TRAINING {
            return Err(StoreError::NoConsent {
                from: turn.source.clone(),
            });
        }
        let prompt = self.scrub_json("trajectories", &turn.prompt).to_string();
        let response = self.scrub("trajectories", &turn.response).into_owned();
        let tokens = serde_json::to_string(&turn.tokens).unwrap_or_else(|_| "[]".into());
        let tokens = self.scrub("trajectories", &tokens).into_owned();
        self.write_row(
                "INSERT INTO trajectories (session_id, source, consent_id, model, adapter, soul_sha256, prompt, response, tokens, created_at_ms, message_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
                params![
                    turn.session_id,
                    turn.source,
                    consent.id,
                    turn.model,
                    turn.adapter,
                    turn.soul_sha256,
                    prompt,
                    response,
                    tokens,
                    unix_now_ms(),
                    turn.message_id
                ],
                |r| r.get(0),
                "recording a trajectory",
            )
    }

    /// Attaches what followed the session's newest turn that has no next
    /// state yet. Returns that turn's id, if there was one.
    pub fn set_next_state(&self, session_id: &str, kind: &str, text: &str) -> Result<Option<i64>> {
        let text = self.scrub("trajectories", text).into_owned();
        self.write_returning(
            "UPDATE trajectories SET next_kind = ?2, next_text = ?3, next_at_ms = ?4
             WHERE id = (SELECT max(id) FROM trajectories WHERE session_id = ?1) AND next_kind IS NULL RETURNING id",
            params![session_id, kind, text, unix_now_ms()],
            |r| r.get(0),
            "recording a next state",
        )
    }

    /// Explicit feedback on a turn (`up`, `down`, or `edit` with the corrected
    /// answer). It overrides the judge's vote, and counts as a next state
    /// when none came yet.
    pub fn set_feedback(
        &self,
        id: i64,
        feedback: &str,
        edited_answer: Option<&str>,
    ) -> Result<Trajectory> {
        let edited = edited_answer.map(|t| self.scrub("trajectories", t).into_owned());
        let changed = self
            .lock()
            .execute(
                "UPDATE trajectories SET feedback = ?2, edited_answer = ?3,
                        next_kind = coalesce(next_kind, 'feedback'), next_text = coalesce(next_text, ?2),
                        next_at_ms = coalesce(next_at_ms, ?4)
                 WHERE id = ?1",
                params![id, feedback, edited, unix_now_ms()],
            )
            .context("recording feedback")?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "trajectory",
                id: id.to_string(),
            });
        }
        self.trajectory(id)
    }

    /// One turn.
    pub fn trajectory(&self, id: i64) -> Result<Trajectory> {
        self.lock()
            .query_row(
                &format!("SELECT {COLUMNS} FROM trajectories WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .context("reading a trajectory")?
            .ok_or(StoreError::NotFound {
                what: "trajectory",
                id: id.to_string(),
            })
    }

    /// Turns with a next state and no judgment yet whose consent is still
    /// in force, oldest first: the judge's queue. A judgment is written
    /// once, so a restart resumes where it stopped without judging a turn
    /// twice.
    pub fn trajectories_to_judge(&self, limit: i64) -> Result<Vec<Trajectory>> {
        self.select(
            &format!("SELECT {COLUMNS} FROM trajectories t WHERE judged_at_ms IS NULL AND next_kind IS NOT NULL AND {CONSENTED} ORDER BY id LIMIT ?1"),
            [limit],
        )
    }

    /// Stores the judge's verdict on turn `id`, unless it is judged already.
    /// Returns whether it was stored.
    pub fn record_judgment(&self, id: i64, judgment: &Judgment) -> Result<bool> {
        let votes = serde_json::to_string(&judgment.votes).unwrap_or_else(|_| "[]".into());
        let votes = self.scrub("trajectories", &votes).into_owned();
        let hint = judgment
            .hint
            .as_deref()
            .map(|h| self.scrub("trajectories", h).into_owned());
        let changed = self
            .lock()
            .execute(
                "UPDATE trajectories SET score = ?2, votes = ?3, hint = ?4, judge = ?5, judged_at_ms = ?6
                 WHERE id = ?1 AND judged_at_ms IS NULL",
                params![id, judgment.score, votes, hint, judgment.judge, unix_now_ms()],
            )
            .context("recording a judgment")?;
        Ok(changed == 1)
    }

    /// Replaces the verdict of a judged turn (explicit feedback that came
    /// after judging changes its score). Returns whether it was judged.
    pub fn rescore(&self, id: i64, judgment: &Judgment) -> Result<bool> {
        let hint = judgment
            .hint
            .as_deref()
            .map(|h| self.scrub("trajectories", h).into_owned());
        let changed = self
            .lock()
            .execute(
                "UPDATE trajectories SET score = ?2, hint = ?3 WHERE id = ?1 AND judged_at_ms IS NOT NULL",
                params![id, judgment.score, hint],
            )
            .context("rescoring a trajectory")?;
        Ok(changed == 1)
    }

    /// The turn recorded for a saved answer, if one was.
    pub fn trajectory_for_message(&self, message_id: i64) -> Result<Option<Trajectory>> {
        Ok(self.select(&format!("SELECT {COLUMNS} FROM trajectories WHERE message_id = ?1 ORDER BY id DESC LIMIT 1"), [message_id])?.pop())
    }

    /// For each answer of a session that became a training record, its
    /// explicit feedback so far (the chat shows thumbs on these).
    pub fn feedback_in_session(&self, session_id: &str) -> Result<Vec<(i64, Option<String>)>> {
        self.query_rows(
            "SELECT message_id, feedback FROM trajectories WHERE session_id = ?1 AND message_id IS NOT NULL",
            [session_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
            "reading feedback",
        )
    }

    /// How many turns wait for the judge.
    pub fn trajectories_waiting(&self) -> Result<i64> {
        self.lock()
            .query_row(
                &format!("SELECT count(*) FROM trajectories t WHERE judged_at_ms IS NULL AND next_kind IS NOT NULL AND {CONSENTED}"),
                [],
                |r| r.get(0),
            )
            .context("counting trajectories to judge")
    }

    /// Judged, consented turns in all, and how many of them no adapter has
    /// trained on yet (newer than the newest turn any version trained on):
    /// what "enough new records" in the training schedule counts.
    pub fn training_ready(&self) -> Result<(i64, i64)> {
        self.lock()
            .query_row(
                &format!(
                    "SELECT count(*), coalesce(sum(id > (SELECT coalesce(max(j.value), 0)
                         FROM adapters a, json_each(a.data, '$.trained') j)), 0)
                     FROM trajectories t WHERE judged_at_ms IS NOT NULL AND {CONSENTED}"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .context("counting the turns ready for training")
    }

    /// Judged turns whose source's consent is in force now: what a training
    /// run may use. A withdrawn source's turns are left out, whenever taken.
    pub fn training_set(&self, limit: i64) -> Result<Vec<Trajectory>> {
        self.select(
            &format!(
                "SELECT {COLUMNS} FROM trajectories t WHERE judged_at_ms IS NOT NULL AND {CONSENTED}
                 ORDER BY id LIMIT ?1"
            ),
            [limit],
        )
    }

    /// Turns, newest first, optionally of one source.
    pub fn trajectories(&self, source: Option<&str>, limit: i64) -> Result<Vec<Trajectory>> {
        self.select(
            &format!("SELECT {COLUMNS} FROM trajectories WHERE ?1 IS NULL OR source = ?1 ORDER BY id DESC LIMIT ?2"),
            params![source, limit],
        )
    }

    /// Counts per source: how many turns, how each was scored, how many
    /// carry a hint, how many wait for the judge.
    pub fn trajectory_stats(&self) -> Result<Vec<SourceStats>> {
        self.query_rows(
            "SELECT source, count(*), count(score), coalesce(sum(score = 1), 0), coalesce(sum(score = 0), 0),
                    coalesce(sum(score = -1), 0), count(hint), coalesce(sum(judged_at_ms IS NULL AND next_kind IS NOT NULL), 0)
             FROM trajectories GROUP BY source ORDER BY source",
            [],
            |r| {
                Ok(SourceStats {
                    source: r.get(0)?,
                    total: r.get(1)?,
                    judged: r.get(2)?,
                    positive: r.get(3)?,
                    neutral: r.get(4)?,
                    negative: r.get(5)?,
                    hinted: r.get(6)?,
                    waiting: r.get(7)?,
                })
            },
            "counting trajectories",
        )
    }

    /// Deletes one turn (`Some(id)`) or every turn of a source. Returns how
    /// many went.
    pub fn delete_trajectories(&self, id: Option<i64>, source: Option<&str>) -> Result<usize> {
        self.lock()
            .execute(
                "DELETE FROM trajectories WHERE (?1 IS NOT NULL AND id = ?1) OR (?1 IS NULL AND ?2 IS NOT NULL AND source = ?2)",
                params![id, source],
            )
            .context("deleting trajectories")
    }

    fn select(&self, sql: &str, parameters: impl rusqlite::Params) -> Result<Vec<Trajectory>> {
        self.query_rows(sql, parameters, from_row, "reading trajectories")
    }
}
