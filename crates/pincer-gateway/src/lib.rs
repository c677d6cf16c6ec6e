//! Pincer's HTTP gateway: OpenAI-compatible `/v1` routes over the [`App`],
//! behind a bearer token, with body-size limits and engine admission control
//! (503 + `Retry-After` when the engine queue is full); the UI's control API
//! under `/api/control` and, in web mode, the UI itself.
//!
//! ```no_run
//! # async fn demo(app: pincer_app::App) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:18789").await?;
//! let router = pincer_gateway::router(app, pincer_gateway::GatewayOptions::default());
//! pincer_gateway::serve(listener, router, std::future::pending()).await
//! # }
//! ```
#![deny(missing_docs)]

mod auth_limit;
mod chat;
mod control;
mod embeddings;
mod error;
mod openai;

pub use chat::SESSION_HEADER;
pub use error::ApiError;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pincer_app::App;
use serde_json::json;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// The port `pincer serve` binds by default.
pub const DEFAULT_PORT: u16 = 18789;

/// Largest request body accepted: 4 MiB, far more than any chat a local
/// model's context holds.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The Content-Security-Policy of the web UI: nothing but its own files.
pub const UI_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How the router is built.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// Largest request body accepted.
    pub body_limit: usize,
    /// The built UI (`ui/dist`) to serve at `/` for web mode; `None` serves no UI.
    pub ui_dir: Option<PathBuf>,
    /// Host names besides loopback that the UI and control API answer to
    /// (the address the owner bound, when not loopback).
    pub extra_hosts: Vec<String>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            ui_dir: None,
            extra_hosts: Vec::new(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct GatewayState {
    app: App,
    body_limit: usize,
    extra_hosts: Arc<Vec<String>>,
    auth_failures: Arc<auth_limit::AuthFailures>,
}

/// Builds the router: `/health` open; `/v1` and `/api/control` behind the
/// token (the latter same-origin only); the UI's files, when given, at `/`.
pub fn router(app: App, options: GatewayOptions) -> Router {
    let state = GatewayState {
        app,
        body_limit: options.body_limit,
        extra_hosts: Arc::new(
            options
                .extra_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        ),
        auth_failures: Arc::default(),
    };
    let v1 = Router::new()
        .route("/models", get(list_models))
        .route("/chat/completions", post(chat::chat_completions))
        .route("/embeddings", post(embeddings::create_embeddings))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    let control = Router::new()
        .route("/control/{command}", post(control::run_command))
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::same_origin_only,
        ));
    // The browser's one-time pairing: same-origin, no token (it is how the
    // page gets one), failures counted like wrong tokens.
    let pairing = Router::new()
        .route("/pair", post(pair))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::same_origin_only,
        ));
    let mut router = Router::new()
        .route("/health", get(health))
        .nest("/v1", v1)
        .nest("/api", control.merge(pairing));
    router = match &options.ui_dir {
        Some(dir) => {
            let files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
            let ui = Router::new()
                .fallback_service(files)
                .layer(SetResponseHeaderLayer::overriding(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(UI_CSP),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    control::same_origin_only,
                ));
            router.merge(ui)
        }
        None => router.fallback(not_found),
    };
    router
        .layer(DefaultBodyLimit::max(options.body_limit))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The caller's address; routers served without connection info (tests)
/// count as loopback.
fn client_ip(request: &Request) -> std::net::IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or(
            std::net::IpAddr::from([127, 0, 0, 1]),
            |ConnectInfo(address)| address.ip(),
        )
}

async fn require_token(
    State(state): State<GatewayState>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let refused = match presented {
        Some(token) if state.app.token_matches(token) => return next.run(request).await,
        Some(_) => ("wrong token", ApiError::unauthorized("Incorrect API token. `pincer token` prints this install's token.")),
        None => (
            "missing token",
            ApiError::unauthorized("Missing `Authorization: Bearer <token>` header. `pincer token` prints this install's token."),
        ),
    };
    let client_ip = client_ip(&request);
    // The presented value is never recorded: it may be a real secret sent to the wrong place.
    let path = request.uri().path().to_string();
    match state
        .auth_failures
        .refuse(client_ip, std::time::Instant::now())
    {
        auth_limit::Refusal::Audit => {
            state.app.note(
                pincer_app::Actor::Client,
                pincer_app::Action::GatewayAuth,
                &path,
                "denied",
                json!({"reason": refused.0, "client": client_ip.to_string()}),
            );
            refused.1.into_response()
        }
        auth_limit::Refusal::LockedOut { retry_after } => {
            let details = json!({"reason": "too many failed token checks", "client": client_ip.to_string(), "seconds": retry_after.as_secs()});
            state.app.note(
                pincer_app::Actor::Client,
                pincer_app::Action::GatewayAuth,
                &path,
                "throttled",
                details,
            );
            ApiError::too_many_auth_failures(retry_after).into_response()
        }
        auth_limit::Refusal::Quiet { retry_after } => {
            ApiError::too_many_auth_failures(retry_after).into_response()
        }
    }
}

#[derive(serde::Deserialize)]
struct PairRequest {
    code: String,
}

async fn pair(State(state): State<GatewayState>, request: Request) -> Response {
    let client_ip = client_ip(&request);
    let body = match axum::body::to_bytes(request.into_body(), 4096).await {
        Ok(body) => body,
        Err(_) => return ApiError::too_large(4096).into_response(),
    };
    let Ok(PairRequest { code }) = serde_json::from_slice(&body) else {
        return ApiError::invalid("send {\"code\": \"<pairing code>\"}", Some("code".into()))
            .into_response();
    };
    if let auth_limit::Refusal::Quiet { retry_after }
    | auth_limit::Refusal::LockedOut { retry_after } = state
        .auth_failures
        .peek(client_ip, std::time::Instant::now())
    {
        return ApiError::too_many_auth_failures(retry_after).into_response();
    }
    match state.app.redeem_pairing_code(code.trim()) {
        Ok(token) => {
            let mut response = Json(json!({ "token": token })).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            state
                .auth_failures
                .refuse(client_ip, std::time::Instant::now());
            ApiError::from(error).into_response()
        }
    }
}

async fn health(State(state): State<GatewayState>) -> Json<serde_json::Value> {
    let (busy, capacity) = state.app.engine_load();
    // `status` is the store's `ok`, `degraded` or `damaged` (with its
    // cause: answers still come, but what is not saved is said so), and
    // `degraded` while background work that failed (`problems`: the memory
    // sync, the judge, a backup, an audit record) has not succeeded since.
    let store = state.app.store().condition();
    let problems = state.app.health().problems;
    let status = match store.as_str() {
        "ok" if !problems.is_empty() => "degraded",
        other => other,
    };
    Json(
        json!({"status": status, "store": store, "problems": problems, "model": state.app.model_id(), "requests_in_engine": busy, "engine_capacity": capacity}),
    )
}

async fn list_models(State(state): State<GatewayState>) -> Json<serde_json::Value> {
    let data: Vec<serde_json::Value> = state
        .app
        .model_id()
        .into_iter()
        .chain(state.app.memory().ok().map(|m| m.embedder().id()))
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "pincer-local"}))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::route_not_found(uri.path())
}
