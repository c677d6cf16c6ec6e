//! Long because the wire format's request types, their field-by-field
//! checks (tools included) and the response shapes are one contract.
//!
//! OpenAI's chat-completions wire format: parsing with field-precise errors,
//! and the response bodies.

use crate::error::ApiError;
use pincer_inference::{
    ChatMessage, GenerationParams, GenerationRequest, GenerationStats, Role, TokenLogprob,
    ToolCall, ToolChoice, ToolDefinition,
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
    /// Functions the model may call; their schemas go into its template.
    #[serde(default)]
    pub tools: Option<Vec<WireTool>>,
    #[serde(default)]
    pub tool_choice: Option<WireToolChoice>,
    // `parallel_tool_calls` is ignored like any unknown field: the model
    // may make several calls in one answer either way.
}

/// `{"type": "function", "function": {"name", "description", "parameters"}}`.
#[derive(Debug, Deserialize)]
pub struct WireTool {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: WireFunction,
}

#[derive(Debug, Deserialize)]
pub struct WireFunction {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<serde_json::Value>,
}

/// `"none"`, `"auto"`, `"required"` or `{"type": "function", "function": {"name"}}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum WireToolChoice {
    Mode(String),
    Named { function: NamedFunction },
}

#[derive(Debug, Deserialize)]
pub struct NamedFunction {
    pub name: String,
}

/// An assistant's call in the history.
#[derive(Debug, Deserialize)]
pub struct WireToolCall {
    pub id: String,
    pub function: WireCalled,
}

#[derive(Debug, Deserialize)]
pub struct WireCalled {
    pub name: String,
    /// JSON text, as OpenAI sends it.
    pub arguments: String,
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
    #[serde(default)]
    pub tool_calls: Option<Vec<WireToolCall>>,
    #[serde(default)]
    pub tool_call_id: Option<String>,
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
        let tool_calls: Vec<ToolCall> = message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|call| ToolCall {
                id: call.id,
                name: call.function.name,
                arguments: call.function.arguments,
            })
            .collect();
        if role == Role::Tool && message.tool_call_id.is_none() {
            return Err(invalid(
                &format!("messages[{index}].tool_call_id"),
                format!("`messages[{index}]` is a tool message without `tool_call_id`; name the call it answers."),
            ));
        }
        messages.push(ChatMessage {
            role,
            content,
            tool_calls,
            tool_call_id: message.tool_call_id,
        });
    }
    let (tools, tool_choice) = checked_tools(request.tools, request.tool_choice)?;
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
                tools,
                tool_choice,
            },
        },
    })
}

/// The tools and the choice among them, checked field by field.
fn checked_tools(
    tools: Option<Vec<WireTool>>,
    choice: Option<WireToolChoice>,
) -> Result<(Vec<ToolDefinition>, ToolChoice), ApiError> {
    let invalid = |param: String, message: String| ApiError::invalid(message, Some(param));
    let mut definitions = Vec::new();
    for (index, tool) in tools.unwrap_or_default().into_iter().enumerate() {
        if tool.kind != "function" {
            return Err(invalid(
                format!("tools[{index}].type"),
                format!(
                    "Tool type `{}` in `tools[{index}]` is not supported; send `function` tools.",
                    tool.kind
                ),
            ));
        }
        let parameters = tool
            .function
            .parameters
            .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
        definitions.push(ToolDefinition {
            name: tool.function.name,
            description: tool.function.description.unwrap_or_default(),
            parameters,
        });
    }
    let choice = match choice {
        None => ToolChoice::Auto,
        Some(WireToolChoice::Mode(mode)) => match mode.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(invalid(
                    "tool_choice".into(),
                    format!("`tool_choice` `{other}` is not one of none, auto, required or a named function."),
                ))
            }
        },
        Some(WireToolChoice::Named { function }) => ToolChoice::Named(function.name),
    };
    Ok((definitions, choice))
}

/// Token counts in OpenAI's shape.
#[derive(Debug, Serialize, Clone)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub total_tokens: usize,
    pub prompt_tokens_details: PromptTokensDetails,
}

/// `usage.prompt_tokens_details`: how much of the prompt was not read
/// again, as OpenAI reports its prompt caching.
#[derive(Debug, Serialize, Clone)]
pub struct PromptTokensDetails {
    pub cached_tokens: usize,
}

impl From<&GenerationStats> for Usage {
    fn from(stats: &GenerationStats) -> Self {
        Self {
            prompt_tokens: stats.prompt_tokens,
            completion_tokens: stats.completion_tokens,
            total_tokens: stats.prompt_tokens + stats.completion_tokens,
            prompt_tokens_details: PromptTokensDetails {
                cached_tokens: stats.cached_prompt_tokens,
            },
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
