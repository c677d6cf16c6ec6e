//! Pincer's own request and event types: no mistral.rs type crosses this crate's boundary.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Who wrote a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person.
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// The text.
    pub content: String,
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
}

/// A chat generation to run.
#[derive(Clone, Debug, PartialEq)]
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
            Self::Other(other) => other,
        }
    }

    pub(crate) fn from_engine(reason: &str) -> Self {
        match reason {
            "stop" | "eos" => Self::Stop,
            "length" => Self::Length,
            "canceled" | "cancelled" => Self::Canceled,
            other => Self::Other(other.to_string()),
        }
    }
}

/// Token counts and speed of one generation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GenerationStats {
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
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
    /// Generation ended; always the last event of a successful stream.
    Finished {
        /// Why it ended.
        reason: FinishReason,
        /// Counts and speed.
        stats: GenerationStats,
    },
}
