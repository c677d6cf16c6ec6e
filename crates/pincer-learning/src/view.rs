//! The Training data pane's payloads (IPC and the control API), separate
//! from the operations in `training_data.rs`.

use pincer_store::Consent;
use serde::{Deserialize, Serialize};
use specta::Type;

/// A consent decision as the UI shows it.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ConsentView {
    /// `app`, `client:<name>` or `session:<id>`.
    pub source: String,
    /// `training` or `cloud-judge`.
    pub purpose: String,
    /// Given or withdrawn.
    pub granted: bool,
    /// Who decided (`ui`, `cli`).
    pub by: String,
    /// Unix seconds.
    pub at: f64,
}

impl From<Consent> for ConsentView {
    fn from(c: Consent) -> Self {
        Self {
            source: c.source,
            purpose: c.purpose,
            granted: c.granted,
            by: c.by,
            at: c.at_ms as f64 / 1000.0,
        }
    }
}

/// Gives or withdraws consent.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SetConsent {
    /// `app`, `client:<name>` or `session:<id>`.
    pub source: String,
    /// `training` (the default) or `cloud-judge`.
    pub purpose: Option<String>,
    /// Give (`true`) or withdraw.
    pub granted: bool,
}

/// One source's records and the consent in force for it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SourceData {
    /// The source.
    pub source: String,
    /// Training consent now: given, withdrawn, or never asked (`None`).
    pub training: Option<bool>,
    /// Turns recorded.
    pub total: u32,
    /// Judged so far.
    pub judged: u32,
    /// Scored +1, 0, −1.
    pub positive: u32,
    /// Scored 0.
    pub neutral: u32,
    /// Scored −1.
    pub negative: u32,
    /// With a hindsight hint.
    pub hinted: u32,
    /// Waiting for the judge.
    pub waiting: u32,
}

/// The Training data pane's summary.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DataOverview {
    /// Every source with records or a decision.
    pub sources: Vec<SourceData>,
    /// The latest decision per source and purpose.
    pub consents: Vec<ConsentView>,
    /// Whether the owner has answered the first-run question (a decision
    /// exists for the app's chat).
    pub asked: bool,
    /// Samples the judge takes per turn.
    pub judge_samples: u32,
}

/// Lists records.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TrajectoryQuery {
    /// Only this source.
    pub source: Option<String>,
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

/// A record in a list.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TrajectorySummary {
    /// Its id.
    pub id: f64,
    /// Its source.
    pub source: String,
    /// Its chat session.
    pub session_id: String,
    /// Unix seconds.
    pub created_at: f64,
    /// The answer (the first 200 characters).
    pub answer: String,
    /// What followed, by kind.
    pub next_kind: Option<String>,
    /// The score, once judged.
    pub score: Option<i32>,
    /// The hint, if any.
    pub hint: Option<String>,
    /// `up`, `down` or `edit`.
    pub feedback: Option<String>,
}

/// Names one record.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TrajectoryRef {
    /// The record's id.
    pub id: f64,
}

/// One judge sample.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct VoteView {
    /// +1, 0, −1.
    pub score: i32,
    /// The judge's reason.
    pub reasoning: String,
    /// Its hint.
    pub hint: Option<String>,
}

/// A chat message in a record.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RecordMessage {
    /// `system`, `user`, `assistant`, `tool`.
    pub role: String,
    /// The text, as stored (secrets redacted).
    pub content: String,
}

/// A whole record with its provenance.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TrajectoryView {
    /// The summary fields.
    pub summary: TrajectorySummary,
    /// The full answer.
    pub response: String,
    /// The prompt: the system prompt and every message before the answer.
    pub prompt: Vec<RecordMessage>,
    /// The serving model.
    pub model: String,
    /// SHA-256 of the soul in its system prompt.
    pub soul_sha256: Option<String>,
    /// Tokens recorded with their log-probabilities.
    pub tokens: u32,
    /// Their mean log-probability.
    pub mean_logprob: Option<f64>,
    /// What followed.
    pub next_text: Option<String>,
    /// The owner's corrected answer.
    pub edited_answer: Option<String>,
    /// The consent it was taken under.
    pub consent: Option<ConsentView>,
    /// Which model judged.
    pub judge: Option<String>,
    /// Every judge sample.
    pub votes: Vec<VoteView>,
    /// The teacher context (the prompt with the hint), when hinted.
    pub teacher: Option<Vec<RecordMessage>>,
}

/// Deletes one record (`id`) or a source's records.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTrainingData {
    /// One record.
    pub id: Option<f64>,
    /// Every record of a source.
    pub source: Option<String>,
}

/// Thumbs or a corrected answer on an answer in the chat.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GiveFeedback {
    /// The answer's message id.
    pub message_id: f64,
    /// `up`, `down` or `edit`.
    pub feedback: String,
    /// The corrected answer, for `edit`.
    pub edited_answer: Option<String>,
}
