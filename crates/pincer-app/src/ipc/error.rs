//! Errors as the UI shows them, and the app at a glance.

use serde::{Deserialize, Serialize};
use specta::Type;

use super::ActiveModel;

/// What went wrong, as the UI shows it: a kind to branch on and a message
/// that names the problem and what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Type, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct ControlError {
    /// The class of problem.
    pub kind: ErrorKind,
    /// A sentence naming the problem and what to do.
    pub message: String,
}

/// Classes of [`ControlError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The request is malformed or a value is out of range.
    InvalidInput,
    /// What was named does not exist.
    NotFound,
    /// No model is loaded; load or download one first.
    NoModel,
    /// The engine is full; retry shortly.
    Busy,
    /// The owner halted the agent.
    Halted,
    /// The disk or a file refused (full, read-only, unreadable).
    Io,
    /// Not possible in this mode (for example, switching the gateway off from web mode).
    Unavailable,
    /// A bug or the machine's trouble.
    Internal,
}

impl ControlError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Which shell the app runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum AppMode {
    /// The Tauri desktop app.
    Desktop,
    /// `pincer serve`, with the UI in a browser.
    Web,
}

/// The app at a glance, for the window's header and status bar.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// Pincer's version.
    pub version: String,
    /// Desktop or web.
    pub mode: AppMode,
    /// The data folder.
    pub data_dir: String,
    /// The model answering chats, if any.
    pub model: Option<ActiveModel>,
    /// Whether the owner halted the agent.
    pub halted: bool,
}
