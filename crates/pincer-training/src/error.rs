//! What can go wrong in training, grouped by what a caller does about it:
//! fix what it passed ([`TrainingError::InvalidInput`]), start a damaged
//! run again ([`TrainingError::Damaged`], [`TrainingError::Json`]), see to
//! the disk ([`TrainingError::Io`]), or the computation itself failed
//! ([`TrainingError::Tensor`]). Every message names the problem and what
//! to do.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

/// Everything that can go wrong while training or judging an adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainingError {
    /// candle failed while computing (shapes, dtypes, the device, memory);
    /// its own message, as before this crate had its own error.
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    /// A file or folder could not be read or written (the context names
    /// the path, the file system's error says why).
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The error from the file system.
        #[source]
        source: std::io::Error,
    },
    /// A run's JSON file (`run.json`, `gate.json`, a checkpoint's
    /// `state.json`) is not what was written.
    #[error("{} is damaged ({source}); start the run again", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// What was passed cannot be used: a folder that already holds a run,
    /// a model folder that is not a Qwen3, an adapter for another model or
    /// shape, a sequence with no prompt or answer. The message says what to
    /// pass instead.
    #[error("{0}")]
    InvalidInput(String),
    /// A run folder or checkpoint cannot be read back; the message says
    /// what to do (usually: start the run again).
    #[error("{0}")]
    Damaged(String),
    /// The disk cannot hold the next checkpoint; nothing of the run so far
    /// is lost.
    #[error("the disk cannot hold the training checkpoint: it needs {needed}, and {free} is free in {folder}; free some space, then start the round again (it resumes from its last checkpoint)")]
    NoSpace {
        /// The run folder.
        folder: String,
        /// What the checkpoint needs.
        needed: String,
        /// What is free.
        free: String,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, TrainingError>;

impl TrainingError {
    /// File trouble while `context` (which names the path).
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Reads a safetensors file onto `device`: a file that cannot be read is
/// [`TrainingError::Io`]; one that is not safetensors is worded by
/// `not_safetensors` (whose advice depends on what the file is).
pub(crate) fn load_safetensors(
    path: &Path,
    device: &Device,
    not_safetensors: impl FnOnce(candle_core::Error) -> TrainingError,
) -> Result<HashMap<String, Tensor>> {
    let bytes = std::fs::read(path)
        .map_err(|source| TrainingError::io(format!("cannot read {}", path.display()), source))?;
    candle_core::safetensors::load_buffer(&bytes, device).map_err(not_safetensors)
}

/// Writes `tensors` as a safetensors file at `path`, naming it on failure.
pub(crate) fn save_safetensors(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    candle_core::safetensors::save(tensors, path).map_err(|e| {
        TrainingError::io(
            format!("cannot write {}", path.display()),
            std::io::Error::other(e),
        )
    })
}

/// JSON for a value this crate defines (which always serialises), as an
/// error naming `path` should it ever not.
pub(crate) fn to_json<T: serde::Serialize>(
    path: &Path,
    value: &T,
    pretty: bool,
) -> Result<Vec<u8>> {
    let bytes = match pretty {
        true => serde_json::to_vec_pretty(value),
        false => serde_json::to_vec(value),
    };
    bytes.map_err(|e| {
        TrainingError::io(
            format!("cannot write {}", path.display()),
            std::io::Error::other(e),
        )
    })
}
