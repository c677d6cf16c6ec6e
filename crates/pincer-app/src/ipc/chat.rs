//! Chat: sessions, messages, a sent message, the streamed answer and its
//! sources and stats.

use serde::{Deserialize, Serialize};
use specta::Type;

use super::{ControlError, RememberedNote, ToolCallView, ToolOutcomeView, ToolQuestionView};

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
    /// The tools an answer called.
    pub tool_calls: Vec<ToolCallView>,
    /// For a tool's result (`role` = `tool`): the call it answers.
    pub tool_call_id: Option<String>,
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
    /// Of them, the start the engine held from earlier prompts and did not
    /// read again (live answers only; `None` once saved).
    pub cached_prompt_tokens: Option<u32>,
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
    /// The model called a tool; the gate weighs it next.
    ToolCall {
        /// The call.
        call: ToolCallView,
    },
    /// The gate asks the owner first: answer with `answer_tool_question`.
    ToolAsk {
        /// The question.
        question: ToolQuestionView,
    },
    /// A call was settled (run, denied, unanswered, invalid).
    ToolResult {
        /// What became of it.
        outcome: ToolOutcomeView,
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
