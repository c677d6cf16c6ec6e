//! The command set's boundary: errors as the UI receives them
//! ([`ControlError`], one kind per thing the owner can do about it), the
//! streamed answer's sink, and the control API's arguments as Tauri sends
//! them (an object whose `request` field holds the command's request type,
//! and `onEvent` for the streaming chat). The commands themselves are in
//! `command_table.rs`.

use crate::ipc::*;
use crate::{App, AppError, ErrorCode};
use pincer_inference::InferenceError;
use pincer_workspace::WorkspaceError;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Receives a streamed answer's events; returns `false` once its reader
/// has gone away (the window closed, the HTTP client hung up), which stops
/// the answer.
pub type EventSink = Box<dyn FnMut(ChatEvent) -> bool + Send>;

impl From<&AppError> for ControlError {
    fn from(error: &AppError) -> Self {
        let kind = match error {
            AppError::NoModel => ErrorKind::NoModel,
            AppError::Halted => ErrorKind::Halted,
            AppError::Unavailable(_) => ErrorKind::Unavailable,
            AppError::Io { .. }
            | AppError::Workspace(WorkspaceError::Io { .. } | WorkspaceError::NotText { .. })
            | AppError::Inference(InferenceError::Io { .. }) => ErrorKind::Io,
            AppError::Inference(
                InferenceError::ModelNotFound { .. }
                | InferenceError::InvalidModel { .. }
                | InferenceError::UnsupportedModel { .. }
                | InferenceError::LoadFailed { .. },
            ) => ErrorKind::InvalidInput,
            other => match other.code() {
                ErrorCode::InvalidRequest => ErrorKind::InvalidInput,
                ErrorCode::NotFound => ErrorKind::NotFound,
                ErrorCode::Busy => ErrorKind::Busy,
                ErrorCode::Internal | ErrorCode::NotSaved => ErrorKind::Internal,
            },
        };
        ControlError::new(kind, error.to_string())
    }
}

impl From<AppError> for ControlError {
    fn from(error: AppError) -> Self {
        Self::from(&error)
    }
}

impl From<pincer_learning::LearningError> for ControlError {
    fn from(error: pincer_learning::LearningError) -> Self {
        Self::from(AppError::from(error))
    }
}

impl App {
    /// The app at a glance.
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            mode: self.mode(),
            data_dir: self.data_dir().display().to_string(),
            model: self.active_model(),
            halted: self.is_halted(),
        }
    }
}

/// The command's `request` argument as `T`, or which field is wrong.
pub(crate) fn request<T: DeserializeOwned>(command: &str, args: &Value) -> Result<T, ControlError> {
    let value = args.get("request").cloned().unwrap_or(Value::Null);
    serde_path_to_error::deserialize(value).map_err(|error| {
        ControlError::new(
            ErrorKind::InvalidInput,
            format!(
                "`{command}` got a bad `request.{}`: {}",
                error.path(),
                error.inner()
            ),
        )
    })
}

/// An answer as the control API sends it.
pub(crate) fn json<T: serde::Serialize>(value: T) -> Result<Value, ControlError> {
    serde_json::to_value(value).map_err(|e| ControlError::new(ErrorKind::Internal, e.to_string()))
}
