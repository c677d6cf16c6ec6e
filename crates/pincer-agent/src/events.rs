//! What one turn of the owner's chat hands out: its events as they stream,
//! how it ended, what became of each tool call, the owner's Stop, and the
//! OpenAI `tool_calls` JSON an answer's calls are saved as.

use crate::asking::ToolQuestion;
use pincer_inference::{GenerationStats, InferenceError, ToolCall};
use pincer_store::MessageSource;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use tokio::sync::oneshot;

/// One step of the owner's turn as it streams.
#[derive(Debug)]
pub enum TurnEvent {
    /// The answer has begun; the session exists now.
    Started {
        /// The session the exchange is saved in.
        session_id: String,
        /// The model answering.
        model: String,
        /// The memory put in front of the question.
        sources: Vec<MessageSource>,
    },
    /// The message asked to remember something; it is in this note now.
    Remembered {
        /// The daily note.
        path: PathBuf,
        /// The line, 1-based.
        line: usize,
    },
    /// More text.
    Delta {
        /// The new text.
        text: String,
    },
    /// The model called a tool (the gate weighs it next).
    ToolCall {
        /// The call's id.
        call_id: String,
        /// The tool.
        tool: String,
        /// Its arguments, as JSON text.
        arguments: String,
    },
    /// The gate asks the owner before the call runs; answer it with
    /// [`Agent::answer_tool_question`].
    ToolAsk(ToolQuestion),
    /// A call was settled: run, denied, timed out or refused as invalid.
    ToolResult(ToolOutcome),
    /// Generation failed; what was written until then is kept.
    Failed(InferenceError),
}

/// How the owner's turn ended, once the exchange is saved.
#[derive(Clone, Debug)]
pub struct TurnEnd {
    /// The session it was saved in.
    pub session_id: String,
    /// The whole answer as the owner saw it.
    pub answer: String,
    /// The model that answered.
    pub model: String,
    /// Why it ended (`stop`, `length`, `canceled`, `error`).
    pub finish_reason: String,
    /// Text pieces handed over before it ended (the token count when the
    /// engine gave none).
    pub deltas: u32,
    /// The engine's figures (zeros when it was stopped or failed).
    pub stats: GenerationStats,
    /// The saved answer's id.
    pub message_id: Option<i64>,
    /// Whether it was kept as a training record.
    pub learnable: bool,
    /// The tool calls of the turn, in order, with what became of each.
    pub tools: Vec<ToolOutcome>,
    /// Generations the turn took (1 without tools).
    pub steps: usize,
}

/// The owner's Stop for one turn: once it fired it stays fired.
pub(crate) struct StopSignal {
    receiver: oneshot::Receiver<()>,
    fired: bool,
}

impl StopSignal {
    /// Fires when `receiver` gets the owner's Stop (or its sender goes).
    pub(crate) fn new(receiver: oneshot::Receiver<()>) -> Self {
        Self {
            receiver,
            fired: false,
        }
    }

    /// Completes when the owner stops the turn (at once if they did).
    pub(crate) async fn fired(&mut self) {
        if !self.fired {
            // A dropped sender means the turn's entry was ended: stop too.
            let _ = (&mut self.receiver).await;
            self.fired = true;
        }
    }

    /// Whether the owner stopped the turn.
    pub(crate) fn is_fired(&self) -> bool {
        self.fired
    }
}

/// What became of one call, as the chat shows it and the audit log keeps it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolOutcome {
    /// The call's id in the conversation.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// `ran` (the gate let it), `allowed` (the owner did), `denied` (the
    /// gate or the owner), `timeout` (nobody answered), `invalid` (a bad
    /// call), `stopped` (the owner stopped the turn).
    pub decision: String,
    /// Why, in words.
    pub why: String,
    /// Whether it ran and succeeded.
    pub ok: bool,
    /// Its result or error, shortened for the chat.
    pub output: String,
    /// How long it ran, in milliseconds (0 when it did not run).
    pub took_ms: u64,
}

/// The calls of an assistant message as OpenAI's `tool_calls` JSON.
pub(crate) fn tool_calls_json(calls: &[ToolCall]) -> Option<String> {
    if calls.is_empty() {
        return None;
    }
    let list: Vec<Value> = calls
        .iter()
        .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
        .collect();
    Some(Value::Array(list).to_string())
}

/// OpenAI's `tool_calls` JSON back into calls (nothing when unreadable).
pub fn tool_calls_from_json(text: Option<&str>) -> Vec<ToolCall> {
    let Some(Ok(Value::Array(list))) = text.map(serde_json::from_str::<Value>) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|c| {
            Some(ToolCall {
                id: c.get("id")?.as_str()?.to_string(),
                name: c.pointer("/function/name")?.as_str()?.to_string(),
                arguments: c.pointer("/function/arguments")?.as_str()?.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_round_trip_through_their_json() {
        let calls = vec![ToolCall {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a"}"#.into(),
        }];
        assert_eq!(
            tool_calls_from_json(tool_calls_json(&calls).as_deref()),
            calls
        );
        assert!(tool_calls_json(&[]).is_none());
    }
}
