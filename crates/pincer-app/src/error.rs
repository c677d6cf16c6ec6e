//! The app's one error type, grouped by what the caller should do, and
//! the transport-neutral code each maps to. The services' errors
//! (`TrustError` here, `LearningError` and `AgentError` in `hosts.rs`)
//! become these variants unchanged.

use pincer_inference::InferenceError;
use pincer_store::StoreError;
use pincer_workspace::WorkspaceError;

/// Everything the app can fail with, grouped by what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// From the database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// From loading or running the model.
    #[error(transparent)]
    Inference(#[from] InferenceError),
    /// From the workspace's soul files.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// Chat was asked for with no model loaded.
    #[error("{}", pincer_trust::refusals::NO_MODEL)]
    NoModel,
    /// The owner halted the agent from the tray or the UI.
    #[error("{}", pincer_trust::refusals::HALTED)]
    Halted,
    /// A value the caller sent is out of range.
    #[error("{0}")]
    InvalidInput(String),
    /// Nothing could be saved (a full disk, a damaged database); the text
    /// names the cause and what to do.
    #[error("{0}")]
    NotSaved(String),
    /// Not possible in this mode.
    #[error("{0}")]
    Unavailable(String),
    /// Local file trouble outside the store.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// From the OS keychain.
    #[error(transparent)]
    Vault(#[from] pincer_vault::VaultError),
    /// A request to another host carried a secret and was not sent.
    #[error("blocked a request to {destination}: it carried {found}; nothing was sent")]
    LeakBlocked {
        /// Where it was going (host and path, without the query).
        destination: String,
        /// What was found, by name.
        found: String,
    },
    /// A training round failed (a damaged run folder, a model that does
    /// not fit the trainer).
    #[error("training failed: {0}")]
    Training(String),
    /// No data folder could be found for this platform.
    #[error("cannot find a data folder on this platform; pass --data-dir or set PINCER_DATA_DIR")]
    NoDataDir,
}

impl From<pincer_trust::TrustError> for AppError {
    fn from(error: pincer_trust::TrustError) -> Self {
        use pincer_trust::TrustError;
        match error {
            TrustError::Store(error) => Self::Store(error),
            TrustError::Vault(error) => Self::Vault(error),
            TrustError::Workspace(error) => Self::Workspace(error),
            TrustError::InvalidInput(text) => Self::InvalidInput(text),
            TrustError::Io { context, source } => Self::Io { context, source },
            TrustError::LeakBlocked { destination, found } => {
                Self::LeakBlocked { destination, found }
            }
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// A stable, transport-neutral classification of [`AppError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The caller sent something wrong.
    InvalidRequest,
    /// The thing asked for does not exist.
    NotFound,
    /// Try again shortly.
    Busy,
    /// Nothing could be saved (a full disk, a damaged database); the
    /// message names the cause and what to do.
    NotSaved,
    /// Anything else: a bug or the machine's trouble.
    Internal,
}

impl AppError {
    /// How a transport should present this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Inference(
                InferenceError::InvalidRequest(_)
                | InferenceError::ContextExceeded { .. }
                | InferenceError::PromptTooLargeForMemory { .. },
            ) => ErrorCode::InvalidRequest,
            Self::Inference(InferenceError::Busy { .. }) => ErrorCode::Busy,
            Self::Store(StoreError::NotFound { .. }) => ErrorCode::NotFound,
            Self::Store(error) if error.is_not_saved() => ErrorCode::NotSaved,
            Self::NotSaved(_) => ErrorCode::NotSaved,
            Self::InvalidInput(_)
            | Self::Workspace(WorkspaceError::UnknownFile(_) | WorkspaceError::TooLarge { .. }) => {
                ErrorCode::InvalidRequest
            }
            Self::NoModel | Self::Halted => ErrorCode::Busy,
            Self::Vault(pincer_vault::VaultError::InvalidName(_)) | Self::LeakBlocked { .. } => {
                ErrorCode::InvalidRequest
            }
            Self::Vault(pincer_vault::VaultError::Missing { .. }) => ErrorCode::NotFound,
            _ => ErrorCode::Internal,
        }
    }
}

/// The app's result type.
pub type Result<T> = std::result::Result<T, AppError>;
