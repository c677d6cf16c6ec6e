//! Pincer's HTTP gateway: OpenAI-compatible `/v1` routes over the [`App`],
//! behind a bearer token, with body-size limits and engine admission control
//! (503 + `Retry-After` when the engine queue is full).
//!
//! ```no_run
//! # async fn demo(app: pincer_app::App, token: pincer_app::ApiToken) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:18789").await?;
//! pincer_gateway::serve(listener, pincer_gateway::router(app, token, pincer_gateway::DEFAULT_BODY_LIMIT), std::future::pending()).await
//! # }
//! ```
#![deny(missing_docs)]

mod chat;
mod error;
mod openai;

pub use chat::SESSION_HEADER;
pub use error::ApiError;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pincer_app::{ApiToken, App};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;

/// The port `pincer serve` binds by default.
pub const DEFAULT_PORT: u16 = 18789;

/// Largest request body accepted: 4 MiB, far more than any chat a local
/// model's context holds.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct GatewayState {
    app: App,
    token: Arc<ApiToken>,
    body_limit: usize,
}

/// Builds the router: `/health` open, everything under `/v1` behind the token.
pub fn router(app: App, token: ApiToken, body_limit: usize) -> Router {
    let state = GatewayState { app, token: Arc::new(token), body_limit };
    let v1 = Router::new()
        .route("/models", get(list_models))
        .route("/chat/completions", post(chat::chat_completions))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/health", get(health))
        .nest("/v1", v1)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn require_token(State(state): State<GatewayState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    match presented {
        Some(token) if state.token.matches(token) => next.run(request).await,
        Some(_) => ApiError::unauthorized("Incorrect API token. `pincer token` prints this install's token.").into_response(),
        None => ApiError::unauthorized(
            "Missing `Authorization: Bearer <token>` header. `pincer token` prints this install's token.",
        )
        .into_response(),
    }
}

async fn health(State(state): State<GatewayState>) -> Json<serde_json::Value> {
    let (busy, capacity) = state.app.engine_load();
    Json(json!({"status": "ok", "model": state.app.model_id(), "requests_in_engine": busy, "engine_capacity": capacity}))
}

async fn list_models(State(state): State<GatewayState>) -> Json<serde_json::Value> {
    Json(json!({
        "object": "list",
        "data": [{"id": state.app.model_id(), "object": "model", "created": 0, "owned_by": "pincer-local"}],
    }))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::route_not_found(uri.path())
}
