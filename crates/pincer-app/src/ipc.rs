//! The typed command set's payloads: every request, answer and event the UI
//! exchanges with the app, over Tauri IPC or the gateway's control API.
//!
//! All of them derive `specta::Type`, from which `ui/src/bindings.ts` is
//! generated. Integers that may pass 2^53 are never sent (JavaScript numbers
//! cannot hold them): times are `f64` Unix seconds, sizes `f64` bytes.

pub use crate::training_status::{
    AdapterView, ConditionCheck, RollbackRequest, RoundSummary, TrainingPhase, TrainingProgress,
    TrainingSchedule, TrainingStatus,
};
pub use crate::training_view::{
    ConsentView, DataOverview, DeleteTrainingData, GiveFeedback, RecordMessage, SetConsent,
    SourceData, TrajectoryQuery, TrajectoryRef, TrajectorySummary, TrajectoryView, VoteView,
};
pub use crate::trust::{
    AuditExportRequest, AuditPage, AuditQuery, AuditRecordView, AuditStatus, FileIntegrity,
    SealRequest, SecretView, SecurityView,
};
use serde::{Deserialize, Serialize};
use specta::Type;

/// What went wrong, as the UI shows it: a kind to branch on and a message
/// that names the problem and what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Type, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct ControlError {
    /// The class of problem.
    pub kind: ErrorKind,
    /// A sentence naming the problem and what to do.
    pub message: String,
}

/// Classes of [`ControlError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The request is malformed or a value is out of range.
    InvalidInput,
    /// What was named does not exist.
    NotFound,
    /// No model is loaded; load or download one first.
    NoModel,
    /// The engine is full; retry shortly.
    Busy,
    /// The owner halted the agent.
    Halted,
    /// The disk or a file refused (full, read-only, unreadable).
    Io,
    /// Not possible in this mode (for example, switching the gateway off from web mode).
    Unavailable,
    /// A bug or the machine's trouble.
    Internal,
}

impl ControlError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Which shell the app runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum AppMode {
    /// The Tauri desktop app.
    Desktop,
    /// `pincer serve`, with the UI in a browser.
    Web,
}

/// The app at a glance, for the window's header and status bar.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// Pincer's version.
    pub version: String,
    /// Desktop or web.
    pub mode: AppMode,
    /// The data folder.
    pub data_dir: String,
    /// The model answering chats, if any.
    pub model: Option<ActiveModel>,
    /// Whether the owner halted the agent.
    pub halted: bool,
}

/// The loaded model.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ActiveModel {
    /// The id answers are labelled with.
    pub id: String,
    /// Where it was loaded from.
    pub path: String,
    /// `gguf` or `safetensors`.
    pub format: String,
    /// Architecture and quantisation, in words.
    pub details: String,
}

/// A conversation in the sessions list.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    /// Its id.
    pub id: String,
    /// Its title (the first words of the first message when not renamed).
    pub title: String,
    /// Which surface created it (`desktop`, `gateway`).
    pub source: String,
    /// Unix seconds of the last message.
    pub updated_at: f64,
}

/// A message as the chat pane shows it.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessageView {
    /// The message's id.
    pub id: f64,
    /// Whether this answer is a training record (feedback on it teaches).
    pub learnable: bool,
    /// The owner's feedback on it: `up`, `down` or `edit`.
    pub feedback: Option<String>,
    /// `user`, `assistant` or `system`.
    pub role: String,
    /// The text (markdown).
    pub content: String,
    /// Figures of an assistant answer.
    pub stats: Option<AnswerStats>,
    /// The memory an answer was given (its sources), in prompt order.
    pub sources: Vec<AnswerSource>,
}

/// A note an answer was given: `[n]` in the answer is `sources[n-1]`.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AnswerSource {
    /// The file.
    pub path: String,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, inclusive.
    pub end_line: u32,
    /// `owner`, `agent`, `untrusted` or `system`.
    pub provenance: String,
}

/// How an answer was produced.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AnswerStats {
    /// The model that wrote it.
    pub model: String,
    /// Why it ended: `stop`, `length`, `canceled`, or an error.
    pub finish_reason: String,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub completion_tokens: u32,
    /// Milliseconds to the first token.
    pub time_to_first_token_ms: f64,
    /// Generated tokens per second.
    pub tokens_per_second: f64,
}

/// A new session.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CreateSession {
    /// Its title; empty means "New chat".
    pub title: Option<String>,
}

/// Names one session.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionRef {
    /// The session's id.
    pub session_id: String,
}

/// A new title for a session.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RenameSession {
    /// The session's id.
    pub session_id: String,
    /// The new title (1–200 characters).
    pub title: String,
}

/// A message the owner sends from the chat pane.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    /// The session to continue; `None` starts one.
    pub session_id: Option<String>,
    /// What the owner wrote.
    pub text: String,
    /// Longest answer, in tokens (default 512).
    pub max_tokens: Option<u32>,
}

/// One step of a streamed answer.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChatEvent {
    /// The answer has begun; the session exists now.
    #[serde(rename_all = "camelCase")]
    Started {
        /// The session the exchange is saved in.
        session_id: String,
        /// The model answering.
        model: String,
        /// The memory put in front of the question.
        sources: Vec<AnswerSource>,
    },
    /// The message asked to remember something; it is in today's note now.
    Remembered {
        /// The note it was appended to.
        note: RememberedNote,
    },
    /// More text.
    Delta {
        /// The new text.
        text: String,
    },
    /// The answer ended (also after a stop or an error).
    #[serde(rename_all = "camelCase")]
    Finished {
        /// Its figures; `finishReason` says why it ended.
        stats: AnswerStats,
        /// The saved answer's id (for feedback on it).
        message_id: Option<f64>,
        /// Whether it was kept as a training record, so thumbs and edits teach.
        learnable: bool,
    },
    /// Generation failed; what was written until then is kept.
    Failed {
        /// What went wrong and what to do.
        error: ControlError,
    },
}

/// The result of a finished turn.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TurnSummary {
    /// The session it was saved in.
    pub session_id: String,
    /// The whole answer.
    pub answer: String,
    /// Its figures.
    pub stats: AnswerStats,
}

/// Names a soul file (`SOUL.md`, `IDENTITY.md`, `USER.md`, `AGENTS.md`).
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulFileRef {
    /// The file name.
    pub file: String,
}

/// A soul file as the editor opens it.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulFile {
    /// The file name.
    pub file: String,
    /// Where it lives on disk.
    pub path: String,
    /// Its text.
    pub content: String,
    /// The version this text is.
    pub version_id: u32,
    /// Set when the file on disk differs from its last accepted version
    /// (changed by another program): `content` is still the accepted text,
    /// and the change waits in `pending` for the owner.
    pub changed_outside: bool,
    /// Changes to this file waiting for the owner (from disk or the agent).
    pub pending: Vec<SoulChange>,
}

/// A change to a protected file that waits for the owner: the agent never
/// writes these files directly, and a change made by another program is
/// not used until accepted.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulChange {
    /// Its id.
    pub id: u32,
    /// The file.
    pub file: String,
    /// `external` (found on disk) or `agent` (proposed by the agent).
    pub origin: String,
    /// Why, in the proposer's words.
    pub reason: String,
    /// The proposed full text.
    pub content: String,
    /// Unix seconds.
    pub created_at: f64,
}

/// The owner's answer to a [`SoulChange`].
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulDecision {
    /// The change.
    pub id: u32,
    /// Accept (write and use it) or reject (for a change on disk: put the
    /// accepted text back).
    pub accept: bool,
}

/// Text to save into a soul file.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SaveSoulFile {
    /// The file name.
    pub file: String,
    /// The full new text.
    pub content: String,
}

/// One entry of a soul file's history.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulVersionView {
    /// Version id (increasing).
    pub id: u32,
    /// The file name.
    pub file: String,
    /// `owner`, `restore`, `external` or `default`.
    pub origin: String,
    /// Unix seconds.
    pub saved_at: f64,
    /// SHA-256 of the text.
    pub sha256: String,
    /// The text.
    pub content: String,
}

/// Names one soul version.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SoulVersionRef {
    /// The version id.
    pub version_id: u32,
}

/// A catalog model and what it means for this machine.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CatalogModel {
    /// Catalog id.
    pub id: String,
    /// In words.
    pub description: String,
    /// Download size, bytes.
    pub size_bytes: f64,
    /// Memory needed to run it, bytes.
    pub min_memory_bytes: f64,
    /// `fits`, `needsFreeMemory` or `tooLarge`.
    pub fit: String,
    /// The default model.
    pub is_default: bool,
    /// Where it lies when already downloaded.
    pub local_path: Option<String>,
    /// Its download, when one was started.
    pub download: Option<DownloadView>,
}

/// The state of one download.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DownloadView {
    /// Catalog id.
    pub id: String,
    /// `running`, `paused`, `done`, `failed` or `canceled`.
    pub state: String,
    /// Bytes on disk.
    pub done_bytes: f64,
    /// Total bytes, once known.
    pub total_bytes: Option<f64>,
    /// Why it failed, and what to do.
    pub error: Option<String>,
}

/// Names a catalog model.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CatalogRef {
    /// Catalog id.
    pub id: String,
}

/// A local model to load.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LoadModel {
    /// A `.gguf` file or a Hugging Face model folder.
    pub path: String,
}

/// Settings shown in the settings pane.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The data folder (set by `--data-dir` / `PINCER_DATA_DIR`).
    pub data_dir: String,
    /// The workspace folder with the soul files.
    pub workspace_dir: String,
    /// Whether the OpenAI-compatible gateway should run.
    pub gateway_enabled: bool,
    /// Its port on loopback.
    pub gateway_port: u16,
    /// Where it listens now (`None` when off or failed).
    pub gateway_address: Option<String>,
    /// Why it is not running, when it should be.
    pub gateway_error: Option<String>,
}

/// A change to the gateway settings.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySettings {
    /// Run the gateway.
    pub enabled: bool,
    /// Its port (1024–65535).
    pub port: u16,
}

/// Memory at a glance, for the Memory pane.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStatus {
    /// Whether memory is on (an embedder is loaded).
    pub available: bool,
    /// Why memory is off, or what went wrong starting it.
    pub problem: Option<String>,
    /// The embedding model's folder.
    pub embedder: Option<String>,
    /// The workspace folder (`MEMORY.md`, `memory/`).
    pub workspace: String,
    /// Files indexed.
    pub files: u32,
    /// Chunks indexed.
    pub chunks: u32,
    /// Whether indexing is running.
    pub syncing: bool,
    /// Files looked at in the running (or last) sync.
    pub files_done: u32,
    /// Files the running (or last) sync looks at.
    pub files_total: u32,
    /// The file being indexed.
    pub current_file: Option<String>,
    /// Files the last sync could not read, with why.
    pub errors: Vec<String>,
    /// The workspace and the folders and files the owner added.
    pub sources: Vec<MemorySourceView>,
}

/// A memory source.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemorySourceView {
    /// Its id.
    pub id: u32,
    /// The absolute path.
    pub path: String,
    /// `workspace`, `folder` or `file`.
    pub kind: String,
    /// Who wrote what it holds: `owner` or `untrusted` (outside documents).
    pub provenance: String,
    /// Files indexed from it.
    pub files: u32,
    /// Chunks indexed from it.
    pub chunks: u32,
}

/// A memory search.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase", default)]
pub struct MemorySearch {
    /// What to look for.
    pub query: String,
    /// Hits wanted (1-50, default 10).
    pub limit: Option<u32>,
    /// Only these sources.
    pub sources: Vec<u32>,
    /// Only these provenances.
    pub provenance: Vec<String>,
    /// Only notes about this day or later (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Only notes about this day or earlier (`YYYY-MM-DD`).
    pub until: Option<String>,
    /// Favour recent notes: halve scores every this many days.
    pub recency_half_life_days: Option<f64>,
    /// Diversify results (MMR): 1 is pure relevance.
    pub mmr_lambda: Option<f64>,
}

/// A memory search hit.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemoryHitView {
    /// The chunk.
    pub chunk_id: u32,
    /// The file.
    pub path: String,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, inclusive.
    pub end_line: u32,
    /// Headings above it.
    pub heading_path: Vec<String>,
    /// Its text.
    pub text: String,
    /// Who wrote it.
    pub provenance: String,
    /// The day its file is about.
    pub day: String,
    /// Fused score.
    pub score: f64,
    /// Rank by meaning, if found that way.
    pub vector_rank: Option<u32>,
    /// Rank by words, if found that way.
    pub keyword_rank: Option<u32>,
    /// Query words to highlight.
    pub terms: Vec<String>,
}

/// A folder or file to add to memory.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AddMemorySource {
    /// The absolute path.
    pub path: String,
    /// `untrusted` (default, outside documents) or `owner` (your own notes).
    pub provenance: Option<String>,
}

/// Names a memory source.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemorySourceRef {
    /// Its id.
    pub id: u32,
}

/// Names a remembered file.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemoryFileRef {
    /// Its path, as a hit or source gives it.
    pub path: String,
}

/// Something to remember.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Remember {
    /// The note.
    pub text: String,
}

/// Where a remembered note was written.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RememberedNote {
    /// The daily note file.
    pub path: String,
    /// The line, 1-based.
    pub line: u32,
}
