//! The control API: the UI's typed command set over HTTP, for web mode.
//!
//! `POST /api/control/{command}` with the arguments Tauri would send (an
//! object with `request`). The answer is the command's JSON result, or an
//! error status with `{"error": {"kind", "message"}}`. `send_message`
//! streams JSON lines instead: `{"event": ChatEvent}` per step, then one
//! `{"result": ...}` or `{"error": ...}` line.
//!
//! Behind the bearer token, and only for same-origin requests to a loopback
//! host name, so other web pages (and DNS-rebinding tricks) cannot drive it.

use crate::GatewayState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pincer_app::ipc::{ControlError, ErrorKind};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Host names the UI and control API answer to, besides the bound address.
const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

fn control_error_response(error: ControlError) -> Response {
    let status = status_of(&error);
    (status, Json(json!({ "error": error }))).into_response()
}

fn status_of(error: &ControlError) -> StatusCode {
    match error.kind {
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::NoModel | ErrorKind::Busy | ErrorKind::Halted => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unavailable => StatusCode::CONFLICT,
        ErrorKind::Io | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Rejects requests whose `Host` is not a loopback name (or the address the
/// owner bound), and cross-origin requests from browsers.
pub(crate) async fn same_origin_only(
    State(state): State<GatewayState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = host_name(&host);
    let allowed = LOOPBACK_HOSTS.contains(&name) || state.extra_hosts.iter().any(|h| h == name);
    if !allowed {
        state.app.note(
            pincer_app::Actor::Client,
            pincer_app::Action::GatewayHost,
            request.uri().path(),
            "denied",
            json!({"host": host}),
        );
        return forbidden(format!(
            "Host `{host}` is not this Pincer; open the UI at http://127.0.0.1:<port>/ (other host names are refused to stop DNS rebinding)"
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let expected = [format!("http://{host}"), format!("https://{host}")];
        if !expected.iter().any(|e| e.eq_ignore_ascii_case(origin)) {
            state.app.note(
                pincer_app::Actor::Client,
                pincer_app::Action::GatewayOrigin,
                request.uri().path(),
                "denied",
                json!({"origin": origin}),
            );
            return forbidden(format!("requests from the page at {origin} are refused; only Pincer's own UI may use this API"));
        }
    }
    next.run(request).await
}

fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.split(':').next().unwrap_or(host)
}

fn forbidden(message: String) -> Response {
    let error = ControlError::new(ErrorKind::Unavailable, message);
    (StatusCode::FORBIDDEN, Json(json!({ "error": error }))).into_response()
}

/// `POST /api/control/{command}`.
pub(crate) async fn run_command(
    State(state): State<GatewayState>,
    Path(command): Path<String>,
    body: Bytes,
) -> Response {
    let args: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(args) => args,
            Err(error) => {
                return control_error_response(ControlError::new(
                    ErrorKind::InvalidInput,
                    format!(
                    "the body is not JSON ({error}); send the command's arguments as a JSON object"
                ),
                ))
            }
        }
    };
    if !pincer_app::STREAMING.contains(&command.as_str()) {
        return match pincer_app::dispatch(&state.app, &command, args, None).await {
            Ok(value) => Json(value).into_response(),
            Err(error) => control_error_response(error),
        };
    }
    // Streamed: events as JSON lines, then the result line.
    let (lines, receiver) = mpsc::unbounded_channel::<Result<Bytes, std::io::Error>>();
    let event_lines = lines.clone();
    let sink: pincer_app::EventSink = Box::new(move |event| {
        let line = json!({ "event": event }).to_string() + "\n";
        event_lines.send(Ok(Bytes::from(line))).is_ok()
    });
    let app = state.app.clone();
    tokio::spawn(async move {
        let last = match pincer_app::dispatch(&app, &command, args, Some(sink)).await {
            Ok(result) => json!({ "result": result }),
            Err(error) => json!({ "error": error }),
        };
        let _ = lines.send(Ok(Bytes::from(last.to_string() + "\n")));
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
