//! `POST /v1/chat/completions`, streamed (SSE) and not.

use crate::error::ApiError;
use crate::openai::{self, ChoiceLogprobs, Provenance, Usage};
use crate::GatewayState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::{Stream, StreamExt};
use pincer_app::{ChatCall, ChatStream};
use pincer_inference::{FinishReason, GenerationEvent, GenerationStats, InferenceError};
use serde_json::{json, Value};
use std::convert::Infallible;

/// The header clients use to group requests into one session.
pub const SESSION_HEADER: &str = "x-session-id";
/// `main` (the default) or `side`: side turns (titles, summaries) never
/// become training data.
pub const TURN_TYPE_HEADER: &str = "x-turn-type";
/// The client's name for training consent (`client:<name>`); without it,
/// the User-Agent's first product (`OpenAI/Python` → `client:openai/python`).
pub const CLIENT_NAME_HEADER: &str = "x-client-name";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Whether this is a side turn; anything but `main` or `side` is refused.
fn side_turn(headers: &HeaderMap) -> Result<bool, ApiError> {
    match header(headers, TURN_TYPE_HEADER)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("main") => Ok(false),
        Some("side") => Ok(true),
        Some(other) => Err(ApiError::invalid(
            format!("`{TURN_TYPE_HEADER}: {other}` is not a turn type; use `main` or `side`."),
            None,
        )),
    }
}

/// The consent source of the calling client.
fn learning_source(headers: &HeaderMap) -> String {
    let name = header(headers, CLIENT_NAME_HEADER)
        .or_else(|| header(headers, "user-agent").and_then(|agent| agent.split_whitespace().next()))
        .unwrap_or("unnamed");
    pincer_app::client_source(name)
}

pub async fn chat_completions(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(state.body_limit)
        } else {
            ApiError::invalid(
                format!("Could not read the request body: {rejection}"),
                None,
            )
        }
    })?;
    let checked = openai::parse(&body)?;
    let Some(model_id) = state.app.model_id() else {
        return Err(ApiError::from(pincer_app::AppError::NoModel));
    };
    if checked.model != model_id {
        return Err(ApiError::model_not_found(&checked.model, &model_id));
    }
    let session_key = header(&headers, SESSION_HEADER)
        .filter(|v| v.len() <= 200)
        .map(str::to_string);
    let side_turn = side_turn(&headers)?;
    // Logprobs may be recorded for training; the client gets them only if
    // it asked.
    let wants_logprobs = checked.generation.params.logprobs;
    let chat = state
        .app
        .chat(ChatCall {
            session_key,
            session_id: None,
            source: "gateway".into(),
            request: checked.generation,
            with_soul: false,
            with_memory: false,
            learning_source: learning_source(&headers),
            side_turn,
        })
        .await?;
    let meta = Meta {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        created: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        model: model_id,
        session_id: chat.session_id().to_string(),
        calls: 0,
    };
    let session_header = HeaderValue::from_str(&meta.session_id).ok();
    let mut response = if checked.stream {
        Sse::new(sse_events(
            chat,
            meta,
            checked.include_usage,
            wants_logprobs,
        ))
        .keep_alive(KeepAlive::default())
        .into_response()
    } else {
        complete(chat, meta, wants_logprobs).await?.into_response()
    };
    if let Some(value) = session_header {
        response.headers_mut().insert("x-pincer-session-id", value);
    }
    Ok(response)
}

struct Meta {
    id: String,
    created: u64,
    model: String,
    session_id: String,
    /// Tool calls streamed so far (each delta names its index).
    calls: usize,
}

fn generation_error(error: InferenceError) -> ApiError {
    ApiError::from(pincer_app::AppError::from(error))
}

async fn complete(
    mut chat: ChatStream,
    meta: Meta,
    wants_logprobs: bool,
) -> Result<Json<Value>, ApiError> {
    let saved = chat.saved();
    let mut content = String::new();
    let mut tool_calls: Vec<Value> = Vec::new();
    let mut logprobs: Option<ChoiceLogprobs> = None;
    let mut finish: Option<(FinishReason, GenerationStats)> = None;
    while let Some(event) = chat.next().await {
        match event.map_err(generation_error)? {
            GenerationEvent::Delta { text, logprob } => {
                content.push_str(&text);
                if let Some(logprob) = logprob.filter(|_| wants_logprobs) {
                    logprobs
                        .get_or_insert_with(Default::default)
                        .content
                        .push(logprob);
                }
            }
            GenerationEvent::Finished { reason, stats } => finish = Some((reason, stats)),
            GenerationEvent::ToolCall(call) => tool_calls.push(wire_call(&call, None)),
            // The client sees what the model wrote when it is not a call.
            GenerationEvent::MalformedToolCall { text, .. } => content.push_str(&text),
            GenerationEvent::CallText { .. } => {}
        }
    }
    let (reason, stats) = finish.ok_or_else(|| {
        generation_error(InferenceError::Generation(
            "the engine stopped without finishing".into(),
        ))
    })?;
    let mut provenance = json!(Provenance::local(&meta.session_id, &stats));
    mark_saved(&mut provenance, saved.await);
    Ok(Json(json!({
        "id": meta.id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": message(content, tool_calls),
            "logprobs": logprobs,
            "finish_reason": reason.as_str(),
        }],
        "usage": Usage::from(&stats),
        "pincer": provenance,
    })))
}

/// The answer's message: `content` is null when the answer is only calls,
/// as OpenAI sends it.
fn message(content: String, tool_calls: Vec<Value>) -> Value {
    if tool_calls.is_empty() {
        return json!({"role": "assistant", "content": content});
    }
    let content = (!content.is_empty()).then_some(content);
    json!({"role": "assistant", "content": content, "tool_calls": tool_calls})
}

/// One call in OpenAI's shape; streamed ones carry their `index`.
fn wire_call(call: &pincer_inference::ToolCall, index: Option<usize>) -> Value {
    let mut wire = json!({
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    });
    if let Some(index) = index {
        wire["index"] = json!(index);
    }
    wire
}

/// Says in the answer's `pincer` provenance whether the exchange is in the
/// database: `"saved": false` with `"notSaved"` naming the cause (a full
/// disk) when the answer came but could not be kept.
fn mark_saved(provenance: &mut Value, saved: pincer_app::Saved) {
    provenance["saved"] = json!(saved.problem.is_none());
    if let Some(problem) = saved.problem {
        provenance["notSaved"] = json!(problem);
    }
}

fn chunk(meta: &Meta, delta: Value, logprobs: Option<Value>, finish_reason: Option<&str>) -> Value {
    json!({
        "id": meta.id,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "model": meta.model,
        "system_fingerprint": null,
        "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}],
    })
}

fn data(value: &Value) -> Event {
    Event::default().data(value.to_string())
}

/// The SSE body: a role chunk, content chunks, a finish chunk, optionally a
/// usage chunk, then `[DONE]`. The stream owns the chat, so a client that
/// hangs up drops it and generation is canceled.
fn sse_events(
    chat: ChatStream,
    meta: Meta,
    include_usage: bool,
    wants_logprobs: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let first = data(&chunk(
        &meta,
        json!({"role": "assistant", "content": ""}),
        None,
        None,
    ));
    let mut chat = chat;
    let saved = chat.saved();
    let state = (chat, meta, false, Some(saved));
    let body = futures::stream::unfold(
        state,
        move |(mut chat, mut meta, finished, mut saved)| async move {
            if finished {
                return None;
            }
            let (events, done): (Vec<Event>, bool) = match chat.next().await {
                Some(Ok(GenerationEvent::Delta { text, logprob })) => {
                    let logprobs = logprob
                        .filter(|_| wants_logprobs)
                        .map(|l| json!({"content": [l]}));
                    (
                        vec![data(&chunk(
                            &meta,
                            json!({"content": text}),
                            logprobs,
                            None,
                        ))],
                        false,
                    )
                }
                Some(Ok(GenerationEvent::ToolCall(call))) => {
                    let index = meta.calls;
                    meta.calls += 1;
                    let delta = json!({"tool_calls": [wire_call(&call, Some(index))]});
                    (vec![data(&chunk(&meta, delta, None, None))], false)
                }
                Some(Ok(GenerationEvent::MalformedToolCall { text, .. })) => (
                    vec![data(&chunk(&meta, json!({"content": text}), None, None))],
                    false,
                ),
                Some(Ok(GenerationEvent::CallText { .. })) => (Vec::new(), false),
                Some(Ok(GenerationEvent::Finished { reason, stats })) => {
                    let mut last = chunk(&meta, json!({}), None, Some(reason.as_str()));
                    last["pincer"] = json!(Provenance::local(&meta.session_id, &stats));
                    // The finish chunk waits for the save (milliseconds), so it
                    // can say whether the exchange was kept.
                    if let Some(saved) = saved.take() {
                        mark_saved(&mut last["pincer"], saved.await);
                    }
                    let mut events = vec![data(&last)];
                    if include_usage {
                        let mut usage = chunk(&meta, json!({}), None, None);
                        usage["choices"] = json!([]);
                        usage["usage"] = json!(Usage::from(&stats));
                        events.push(data(&usage));
                    }
                    events.push(Event::default().data("[DONE]"));
                    (events, true)
                }
                Some(Err(error)) => {
                    let error = generation_error(error);
                    (
                        vec![
                            Event::default().data(error.to_json()),
                            Event::default().data("[DONE]"),
                        ],
                        true,
                    )
                }
                None => (vec![Event::default().data("[DONE]")], true),
            };
            Some((futures::stream::iter(events), (chat, meta, done, saved)))
        },
    );
    futures::stream::once(async move { first })
        .chain(body.flatten())
        .map(Ok)
}
