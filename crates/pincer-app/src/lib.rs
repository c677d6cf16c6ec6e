//! The composition root: one config builds the store and the engine, and
//! [`App`] is the command set every transport (HTTP gateway, Tauri IPC,
//! CLI) calls, so each behaves the same.
#![deny(missing_docs)]

mod chat;
mod paths;
mod token;

pub use chat::{ChatCall, ChatStream};
pub use paths::resolve_data_dir;
pub use pincer_inference as inference;
pub use pincer_store as store;
pub use token::ApiToken;

use pincer_inference::{Engine, EngineOptions, InferenceError, ModelSource};
use pincer_store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Local file trouble outside the store.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// No data folder could be found for this platform.
    #[error("cannot find a data folder on this platform; pass --data-dir or set PINCER_DATA_DIR")]
    NoDataDir,
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
    /// Anything else: a bug or the machine's trouble.
    Internal,
}

impl AppError {
    /// How a transport should present this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Inference(InferenceError::InvalidRequest(_)) => ErrorCode::InvalidRequest,
            Self::Inference(InferenceError::Busy { .. }) => ErrorCode::Busy,
            Self::Store(StoreError::NotFound { .. }) => ErrorCode::NotFound,
            _ => ErrorCode::Internal,
        }
    }
}

/// The app's result type.
pub type Result<T> = std::result::Result<T, AppError>;

/// What the app is built from.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Where the database and the token live.
    pub data_dir: PathBuf,
    /// The checked model to load.
    pub model: ModelSource,
    /// The id clients use for it (defaults to the file or folder name).
    pub model_id: Option<String>,
    /// Engine settings.
    pub engine: EngineOptions,
}

/// The running services, shared by every transport.
#[derive(Clone, Debug)]
pub struct App {
    store: Arc<Store>,
    engine: Arc<Engine>,
    data_dir: PathBuf,
}

impl App {
    /// Opens the store and loads the model.
    pub async fn start(config: AppConfig) -> Result<Self> {
        let store = Store::open_in(&config.data_dir)?;
        let mut engine = Engine::load(config.model, config.engine).await?;
        if let Some(id) = config.model_id {
            engine.set_id(id);
        }
        Ok(Self { store: Arc::new(store), engine: Arc::new(engine), data_dir: config.data_dir })
    }

    /// The database.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The loaded model's id.
    pub fn model_id(&self) -> &str {
        self.engine.id()
    }

    /// The data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Requests running or waiting, and how many may be.
    pub fn engine_load(&self) -> (usize, usize) {
        self.engine.load_factor()
    }
}
