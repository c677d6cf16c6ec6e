//! Pincer's own request and event types: no mistral.rs type crosses this crate's boundary.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who wrote a chat message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person.
    #[default]
    User,
    /// The model.
    Assistant,
    /// A tool's output.
    Tool,
}

impl Role {
    /// The lowercase name used on the wire and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }
}

/// One message of a conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// The text.
    pub content: String,
    /// The tools an assistant message called (replayed to the model as
    /// the call text its chat template expects).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A plain message.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            ..Self::default()
        }
    }
}

/// A tool the model may call: OpenAI's function shape, which mistral.rs
/// hands to the model's chat template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// A JSON schema for its arguments (an object schema).
    pub parameters: serde_json::Value,
}

/// Whether and which tool the model must call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// The tools are described but no call is taken.
    None,
    /// Some call must be made (decoding is constrained to one).
    Required,
    /// This tool must be called (decoding is constrained to it).
    Named(String),
}

/// A call the model made, parsed from its output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Unique within the conversation (`call_…`).
    pub id: String,
    /// The tool's name as the model wrote it.
    pub name: String,
    /// The arguments as the model wrote them, as JSON text.
    pub arguments: String,
}

/// How to sample; `None` fields take the engine's defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenerationParams {
    /// Most tokens to generate.
    pub max_tokens: Option<usize>,
    /// Sampling temperature; 0 (or below 1e-7) means greedy.
    pub temperature: Option<f64>,
    /// Nucleus sampling mass.
    pub top_p: Option<f64>,
    /// Strings that end generation (not included in the output).
    pub stop: Vec<String>,
    /// Return the chosen token's log-probability with each token.
    pub logprobs: bool,
    /// How many alternatives to return with each token (needs `logprobs`).
    pub top_logprobs: usize,
    /// Makes sampling at a temperature reproducible.
    pub seed: Option<u64>,
    /// Tools the model may call; their schemas go into the chat template
    /// and calls come back as [`GenerationEvent::ToolCall`].
    pub tools: Vec<ToolDefinition>,
    /// Whether a call must be made (only with `tools`).
    pub tool_choice: ToolChoice,
}

/// A chat generation to run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenerationRequest {
    /// The conversation so far.
    pub messages: Vec<ChatMessage>,
    /// Sampling settings.
    pub params: GenerationParams,
}

/// A candidate token and its log-probability.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopLogprob {
    /// The token's text.
    pub token: String,
    /// Natural-log probability.
    pub logprob: f32,
    /// The token's UTF-8 bytes.
    pub bytes: Option<Vec<u8>>,
}

/// The chosen token's log-probability and its alternatives.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenLogprob {
    /// The token's text.
    pub token: String,
    /// Its id in the model's vocabulary (kept for training records; not
    /// part of the OpenAI shape, so never serialised).
    #[serde(skip)]
    pub id: Option<u32>,
    /// Natural-log probability.
    pub logprob: f32,
    /// The token's UTF-8 bytes.
    pub bytes: Option<Vec<u8>>,
    /// The most likely alternatives, best first.
    pub top_logprobs: Vec<TopLogprob>,
}

/// Why generation stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// End of turn or a stop string.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The caller went away.
    Canceled,
    /// The answer ended with tool calls.
    ToolCalls,
    /// Anything else the engine reported.
    Other(String),
}

impl FinishReason {
    /// The OpenAI name (`stop`, `length`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::Canceled => "canceled",
            Self::ToolCalls => "tool_calls",
            Self::Other(other) => other,
        }
    }

    pub(crate) fn from_engine(reason: &str) -> Self {
        match reason {
            "stop" | "eos" => Self::Stop,
            "length" => Self::Length,
            "canceled" | "cancelled" => Self::Canceled,
            "tool_calls" => Self::ToolCalls,
            other => Self::Other(other.to_string()),
        }
    }
}

/// Token counts and speed of one generation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GenerationStats {
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Of them, the start the prefix cache held, so it was not read again
    /// (on the CPU, Pincer's lower bound from the prompts that finished
    /// before; 0 where that is not tracked).
    pub cached_prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// From submitting the request to the first generated token.
    pub time_to_first_token: Duration,
    /// Prompt tokens per second, as the engine measured prefill.
    pub prefill_tokens_per_second: f64,
    /// Generated tokens per second after the first one.
    pub decode_tokens_per_second: f64,
}

/// What a generation stream yields.
#[derive(Clone, Debug, PartialEq)]
pub enum GenerationEvent {
    /// A piece of generated text (one or a few tokens).
    Delta {
        /// The text.
        text: String,
        /// Its log-probability, when asked for.
        logprob: Option<TokenLogprob>,
    },
    /// Text that belongs to a tool call (only with tools): not part of the
    /// answer's content, kept for its token and log-probability.
    CallText {
        /// The text.
        text: String,
        /// Its log-probability, when asked for.
        logprob: Option<TokenLogprob>,
    },
    /// A complete tool call, after its text.
    ToolCall(ToolCall),
    /// Text that opened a tool call but is not one (bad JSON, no name, no
    /// closing tag); the agent hands the problem back to the model.
    MalformedToolCall {
        /// The call text as written.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Generation ended; always the last event of a successful stream.
    Finished {
        /// Why it ended.
        reason: FinishReason,
        /// Counts and speed.
        stats: GenerationStats,
    },
}
