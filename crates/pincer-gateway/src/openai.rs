//! OpenAI's chat-completions wire format: parsing with field-precise errors,
//! and the response bodies.

use crate::error::ApiError;
use pincer_inference::{
    ChatMessage, GenerationParams, GenerationRequest, GenerationStats, Role, TokenLogprob,
};
use serde::{Deserialize, Serialize};

/// A `POST /v1/chat/completions` body. Unknown fields are accepted and ignored,
/// as OpenAI's own server does for fields a model does not use.
#[derive(Debug, Deserialize)]
pub struct ChatCompletionRequest {
    pub model: String,
    pub messages: Vec<WireMessage>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub stop: Option<Stop>,
    #[serde(default)]
    pub seed: Option<i64>,
    #[serde(default)]
    pub n: Option<u32>,
    #[serde(default)]
    pub logprobs: Option<bool>,
    #[serde(default)]
    pub top_logprobs: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
pub struct WireMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<Content>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

/// A parsed and checked request.
#[derive(Debug)]
pub struct Checked {
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    pub generation: GenerationRequest,
}

/// Parses `body`, naming the offending field on failure.
pub fn parse(body: &[u8]) -> Result<Checked, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    let request: ChatCompletionRequest =
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let message = if inner.is_syntax() || inner.is_eof() {
                format!("The body is not valid JSON: {inner}")
            } else if path == "." {
                format!("Invalid request body: {inner}")
            } else {
                format!("Invalid value for `{path}`: {inner}")
            };
            let param = if inner.is_syntax() || inner.is_eof() {
                None
            } else {
                (path != ".")
                    .then_some(path)
                    .or_else(|| missing_field(&message))
            };
            ApiError::invalid(message, param)
        })?;
    check(request)
}

fn missing_field(message: &str) -> Option<String> {
    message
        .split("missing field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string)
}

fn check(request: ChatCompletionRequest) -> Result<Checked, ApiError> {
    let invalid =
        |param: &str, message: String| ApiError::invalid(message, Some(param.to_string()));
    if request.messages.is_empty() {
        return Err(invalid(
            "messages",
            "`messages` must hold at least one message.".into(),
        ));
    }
    let mut messages = Vec::with_capacity(request.messages.len());
    for (index, message) in request.messages.into_iter().enumerate() {
        let role = match message.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            other => {
                return Err(invalid(
                    &format!("messages[{index}].role"),
                    format!("Unknown role `{other}` in `messages[{index}].role`; use system, developer, user, assistant or tool."),
                ))
            }
        };
        let content = match message.content {
            None => String::new(),
            Some(Content::Text(text)) => text,
            Some(Content::Parts(parts)) => {
                let mut text = String::new();
                for (part_index, part) in parts.into_iter().enumerate() {
                    match (part.kind.as_str(), part.text) {
                        ("text", Some(t)) => text.push_str(&t),
                        (kind, _) => {
                            return Err(invalid(
                                &format!("messages[{index}].content[{part_index}].type"),
                                format!("Content part type `{kind}` in `messages[{index}].content[{part_index}]` is not supported by this text model; send text parts."),
                            ))
                        }
                    }
                }
                text
            }
        };
        messages.push(ChatMessage {
            role,
            content,
            ..Default::default()
        });
    }
    if let Some(t) = request.temperature {
        if !(0.0..=2.0).contains(&t) {
            return Err(invalid(
                "temperature",
                format!("`temperature` must be between 0 and 2, got {t}."),
            ));
        }
    }
    if let Some(p) = request.top_p {
        if !(p > 0.0 && p <= 1.0) {
            return Err(invalid(
                "top_p",
                format!("`top_p` must be in (0, 1], got {p}."),
            ));
        }
    }
    if let Some(n) = request.n.filter(|n| *n != 1) {
        return Err(invalid("n", format!("Only `n` = 1 is supported, got {n}.")));
    }
    let max_tokens = request.max_completion_tokens.or(request.max_tokens);
    if max_tokens == Some(0) {
        let param = if request.max_completion_tokens.is_some() {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        return Err(invalid(param, format!("`{param}` must be at least 1.")));
    }
    let stop = match request.stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(list)) => list,
    };
    if stop.len() > 4 || stop.iter().any(String::is_empty) {
        return Err(invalid(
            "stop",
            "`stop` takes up to 4 non-empty strings.".into(),
        ));
    }
    let logprobs = request.logprobs.unwrap_or(false);
    let top_logprobs = request.top_logprobs.unwrap_or(0);
    if top_logprobs > 20 {
        return Err(invalid(
            "top_logprobs",
            format!("`top_logprobs` must be between 0 and 20, got {top_logprobs}."),
        ));
    }
    if top_logprobs > 0 && !logprobs {
        return Err(invalid(
            "top_logprobs",
            "`top_logprobs` needs `logprobs` set to true.".into(),
        ));
    }
    let stream = request.stream.unwrap_or(false);
    Ok(Checked {
        model: request.model,
        stream,
        include_usage: stream
            && request
                .stream_options
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
        generation: GenerationRequest {
            messages,
            params: GenerationParams {
                max_tokens: max_tokens.map(|m| m as usize),
                // OpenAI's default temperature is 1.
                temperature: Some(request.temperature.unwrap_or(1.0)),
                top_p: request.top_p,
                stop,
                logprobs,
                top_logprobs: top_logprobs as usize,
                // Any 64-bit pattern is a seed; negative ones included.
                seed: request.seed.map(|seed| seed as u64),
                ..Default::default()
            },
        },
    })
}

/// Token counts in OpenAI's shape.
#[derive(Debug, Serialize, Clone)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub total_tokens: usize,
}

impl From<&GenerationStats> for Usage {
    fn from(stats: &GenerationStats) -> Self {
        Self {
            prompt_tokens: stats.prompt_tokens,
            completion_tokens: stats.completion_tokens,
            total_tokens: stats.prompt_tokens + stats.completion_tokens,
        }
    }
}

/// Where an answer came from and why, so every client can tell local from cloud.
#[derive(Debug, Serialize, Clone)]
pub struct Provenance {
    pub route: &'static str,
    pub reason: &'static str,
    pub session_id: String,
    pub time_to_first_token_ms: f64,
    pub decode_tokens_per_second: f64,
    pub prefill_tokens_per_second: f64,
}

impl Provenance {
    pub fn local(session_id: &str, stats: &GenerationStats) -> Self {
        Self {
            route: "local",
            reason: "answered by the local model; no cloud route is configured",
            session_id: session_id.to_string(),
            time_to_first_token_ms: stats.time_to_first_token.as_secs_f64() * 1000.0,
            decode_tokens_per_second: stats.decode_tokens_per_second,
            prefill_tokens_per_second: stats.prefill_tokens_per_second,
        }
    }
}

/// `choices[].logprobs` in OpenAI's shape.
#[derive(Debug, Serialize, Clone, Default)]
pub struct ChoiceLogprobs {
    pub content: Vec<TokenLogprob>,
}
