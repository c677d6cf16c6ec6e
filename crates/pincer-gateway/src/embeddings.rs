//! `POST /v1/embeddings`: the memory embedder in OpenAI's shape, so any
//! OpenAI client (and the official Python SDK, which asks for base64 by
//! default) can embed text on this machine.

use crate::error::ApiError;
use crate::GatewayState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

/// Inputs one request may carry.
const MAX_INPUTS: usize = 2048;

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct EmbeddingsRequest {
    model: String,
    input: Input,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<usize>,
}

pub async fn create_embeddings(
    State(state): State<GatewayState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body =
        body.map_err(|r| ApiError::invalid(format!("Could not read the request body: {r}"), None))?;
    let request: EmbeddingsRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(
            format!("The body is not a valid embeddings request ({e}); send {{\"model\": ..., \"input\": \"text\" or [\"text\", ...]}}. Token-id inputs are not supported."),
            None,
        )
    })?;
    let memory = state.app.memory().map_err(ApiError::from)?;
    let embedder = memory.embedder().clone();
    if request.model != embedder.id() {
        return Err(ApiError::model_not_found(&request.model, &embedder.id()));
    }
    let inputs = match request.input {
        Input::One(text) => vec![text],
        Input::Many(texts) => texts,
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS {
        return Err(ApiError::invalid(
            format!("`input` must hold 1 to {MAX_INPUTS} texts"),
            Some("input".into()),
        ));
    }
    if let Some(at) = inputs.iter().position(|t| t.trim().is_empty()) {
        return Err(ApiError::invalid(
            format!("`input[{at}]` is empty; every text needs some characters"),
            Some("input".into()),
        ));
    }
    if request
        .dimensions
        .is_some_and(|d| d != embedder.dimensions())
    {
        return Err(ApiError::invalid(
            format!(
                "this model only gives {}-dimensional vectors; leave out `dimensions`",
                embedder.dimensions()
            ),
            Some("dimensions".into()),
        ));
    }
    let base64 = match request.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                format!("`encoding_format` {other:?} is not `float` or `base64`"),
                Some("encoding_format".into()),
            ))
        }
    };
    let model = embedder.id();
    let (vectors, tokens) = tokio::task::spawn_blocking(move || {
        let texts: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let tokens: usize = texts.iter().map(|t| embedder.count_tokens(t)).sum();
        embedder.embed(&texts).map(|v| (v, tokens))
    })
    .await
    .map_err(|e| {
        ApiError::from(pincer_app::AppError::Unavailable(format!(
            "the embedder stopped: {e}"
        )))
    })?
    .map_err(|e| ApiError::from(pincer_app::AppError::Unavailable(e.to_string())))?;
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}
