//! Errors in OpenAI's JSON shape, with the status each deserves.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pincer_app::{AppError, ErrorCode};
use serde::Serialize;

/// An error as an OpenAI client expects it:
/// `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    #[serde(skip)]
    retry_after_seconds: u64,
    message: String,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<String>,
    code: Option<&'static str>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a ApiError,
}

impl ApiError {
    /// 400: the body is malformed or a field is invalid; `param` names the field.
    pub fn invalid(message: impl Into<String>, param: Option<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            retry_after_seconds: 0,
            message: message.into(),
            kind: "invalid_request_error",
            param,
            code: None,
        }
    }

    /// 401: missing or wrong bearer token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            retry_after_seconds: 0,
            message: message.into(),
            kind: "invalid_request_error",
            param: None,
            code: Some("invalid_api_key"),
        }
    }

    /// 429: too many failed token checks from this client; `Retry-After`
    /// says when the lockout ends.
    pub fn too_many_auth_failures(retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs().max(1);
        Self {
            retry_after_seconds: seconds,
            ..Self::custom(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many requests with a wrong or missing token; try again in {seconds} s with the token `pincer token` prints."),
                "invalid_request_error",
                Some("too_many_auth_failures"),
            )
        }
    }

    fn custom(
        status: StatusCode,
        message: String,
        kind: &'static str,
        code: Option<&'static str>,
    ) -> Self {
        Self {
            status,
            retry_after_seconds: 0,
            message,
            kind,
            param: None,
            code,
        }
    }

    /// 404: an unknown model.
    pub fn model_not_found(requested: &str, available: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            retry_after_seconds: 0,
            message: format!("The model `{requested}` does not exist; this server serves `{available}` (see GET /v1/models)."),
            kind: "invalid_request_error",
            param: Some("model".into()),
            code: Some("model_not_found"),
        }
    }

    /// 404: an unknown route.
    pub fn route_not_found(path: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            retry_after_seconds: 0,
            message: format!("No route {path}; see /v1/models and /v1/chat/completions."),
            kind: "invalid_request_error",
            param: None,
            code: Some("unknown_url"),
        }
    }

    /// 413: the body is larger than the gateway accepts.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            retry_after_seconds: 0,
            message: format!(
                "The request body is larger than {limit} bytes; send a shorter conversation."
            ),
            kind: "invalid_request_error",
            param: None,
            code: Some("request_too_large"),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON body, for streams that report errors in-band.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Envelope { error: self }).unwrap_or_else(|_| "{\"error\":{}}".into())
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        // OpenAI's own wording and code, which clients act on (compacting
        // the conversation and retrying).
        if let AppError::Inference(pincer_inference::InferenceError::ContextExceeded {
            prompt,
            context,
        }) = &error
        {
            return Self {
                status: StatusCode::BAD_REQUEST,
                retry_after_seconds: 0,
                message: format!("This model's maximum context length is {context} tokens. However, your messages resulted in {prompt} tokens. Please reduce the length of the messages."),
                kind: "invalid_request_error",
                param: Some("messages".into()),
                code: Some("context_length_exceeded"),
            };
        }
        // Too large to read in this machine's memory: to a client, the
        // context is what fits now (so it compacts), and the reason follows.
        if let AppError::Inference(
            too_large @ pincer_inference::InferenceError::PromptTooLargeForMemory { prompt, fits, .. },
        ) = &error
        {
            return Self {
                status: StatusCode::BAD_REQUEST,
                retry_after_seconds: 0,
                message: format!("This model's maximum context length is {fits} tokens. However, your messages resulted in {prompt} tokens. Please reduce the length of the messages. ({})", too_large.to_string().trim_start_matches("invalid request: ")),
                kind: "invalid_request_error",
                param: Some("messages".into()),
                code: Some("context_length_exceeded"),
            };
        }
        let message = error.to_string();
        match error.code() {
            ErrorCode::InvalidRequest => Self::invalid(message, None),
            ErrorCode::NotFound => Self {
                status: StatusCode::NOT_FOUND,
                retry_after_seconds: 0,
                message,
                kind: "invalid_request_error",
                param: None,
                code: None,
            },
            ErrorCode::Busy => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                retry_after_seconds: 0,
                message,
                kind: "server_error",
                param: None,
                code: Some("engine_overloaded"),
            },
            // Before generating: an OpenAI client sees a server error whose
            // message names the cause; nothing was generated or saved.
            ErrorCode::NotSaved => Self {
                status: StatusCode::INSUFFICIENT_STORAGE,
                retry_after_seconds: 0,
                message,
                kind: "server_error",
                param: None,
                code: Some("not_saved"),
            },
            ErrorCode::Internal => {
                tracing::error!(%error, "internal error while serving a request");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    retry_after_seconds: 0,
                    message,
                    kind: "server_error",
                    param: None,
                    code: None,
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(Envelope { error: &self })).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.retry_after_seconds > 0 {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(self.retry_after_seconds),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"pincer\""),
            );
        }
        response
    }
}
