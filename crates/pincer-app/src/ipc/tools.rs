//! Tools in the chat: a call the model made, the gate's question to the
//! owner and its answer, and what became of the call.

use serde::{Deserialize, Serialize};
use specta::Type;

/// A tool call the model made.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallView {
    /// The call's id in the conversation.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Its arguments, as JSON text.
    pub arguments: String,
}

/// The gate asks the owner before a call runs.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ToolQuestionView {
    /// Names the question in [`AnswerToolQuestion`].
    pub id: String,
    /// The chat it was asked in.
    pub session_id: String,
    /// The call's id.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Its arguments, as JSON text.
    pub arguments: String,
    /// Its effect class: `write`, `exec`, `egress`, `secret`.
    pub effect: String,
    /// Why the gate asks.
    pub why: String,
    /// Whether "Allow always" may be chosen.
    pub offer_always: bool,
}

/// What became of a call.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ToolOutcomeView {
    /// The call's id.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// `ran`, `allowed`, `denied`, `timeout`, `invalid` or `stopped`.
    pub decision: String,
    /// Why, in words.
    pub why: String,
    /// Whether it ran and succeeded.
    pub ok: bool,
    /// Its result or error, shortened.
    pub output: String,
    /// How long it ran, in milliseconds.
    pub took_ms: f64,
}

/// The owner's answer to one of the gate's questions.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AnswerToolQuestion {
    /// The question's id.
    pub question_id: String,
    /// `allowOnce`, `allowAlways` or `deny`.
    pub answer: String,
}
