//! Local inference for Pincer, on the mistral.rs SDK.
//!
//! This crate is the only one that sees mistral.rs: it checks model files
//! before loading them ([`ModelSource::inspect`]), loads GGUF files and
//! safetensors folders with no network access ([`Engine::load`]), streams
//! tokens with counts, timings and optional log-probabilities
//! ([`Engine::try_generate`]), and knows which models to offer and how to
//! fetch them ([`catalog`], [`hub`]).
//!
//! ```no_run
//! # async fn demo() -> pincer_inference::Result<()> {
//! use futures::StreamExt;
//! use pincer_inference::*;
//! let source = ModelSource::inspect(std::path::Path::new("model.gguf"))?;
//! let engine = Engine::load(source, EngineOptions::default()).await?;
//! let mut stream = engine.try_generate(GenerationRequest {
//!     messages: vec![ChatMessage::new(Role::User, "Hello")],
//!     params: GenerationParams { max_tokens: Some(16), ..Default::default() },
//! })?;
//! while let Some(event) = stream.next().await {
//!     println!("{:?}", event?);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod catalog;
mod engine;
pub mod fetch;
pub mod hub;
mod loading;
mod model_file;
pub mod prefill_memory;
mod sampling;
mod script;
mod stop;
mod tool_request;
mod tool_text;
mod types;

pub use engine::{Engine, EngineOptions, GenerationStream, LoadQuantization};
pub use model_file::{ModelSource, SUPPORTED_GGUF_ARCHITECTURES, SUPPORTED_MODEL_TYPES};
pub use tool_text::call_text;
pub use types::*;

use std::path::PathBuf;

/// Everything that can go wrong loading a model or generating with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InferenceError {
    /// Nothing at the given path.
    #[error("no model at {path}: pass a .gguf file or a Hugging Face model folder")]
    ModelNotFound {
        /// Where we looked.
        path: PathBuf,
    },
    /// The file is truncated, corrupt, or not a model.
    #[error("{path} is not a usable model: {problem}")]
    InvalidModel {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong, and what to do.
        problem: String,
    },
    /// A well-formed model of a kind mistral.rs cannot run.
    #[error("{path} uses {what}, which this build of Pincer cannot run; pick a model from `pincer models`")]
    UnsupportedModel {
        /// The file or folder.
        path: PathBuf,
        /// The unsupported part.
        what: String,
    },
    /// mistral.rs refused the model.
    #[error("loading {path} failed: {message}")]
    LoadFailed {
        /// The file or folder.
        path: PathBuf,
        /// The engine's explanation.
        message: String,
    },
    /// The request itself is wrong.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The prompt does not fit the model's context.
    #[error("invalid request: the conversation is {prompt} tokens but the model's context holds {context}; shorten it")]
    ContextExceeded {
        /// The prompt's tokens, as the model's template makes them.
        prompt: usize,
        /// The most the model takes.
        context: usize,
    },
    /// Reading the prompt on the CPU would take more memory than allowed
    /// (see [`prefill_memory`]).
    #[error(
        "invalid request: reading this {prompt}-token prompt on the CPU would take about {:.1} GB for its attention mask, over the limit of {:.1} GB; up to {fits} tokens fit now. Shorten the conversation, or raise the limit (`pincer serve --prefill-memory-gb`)",
        *needed_bytes as f64 / 1e9,
        *limit_bytes as f64 / 1e9
    )]
    PromptTooLargeForMemory {
        /// The prompt's tokens.
        prompt: usize,
        /// The longest prompt that fits now.
        fits: usize,
        /// What reading it would take.
        needed_bytes: u64,
        /// The limit.
        limit_bytes: u64,
    },
    /// The engine is holding as many requests as it may; retry shortly.
    #[error("the engine is busy ({capacity} requests running or waiting); retry shortly")]
    Busy {
        /// How many requests it holds.
        capacity: usize,
    },
    /// Generation failed midway.
    #[error("generation failed: {0}")]
    Generation(String),
    /// A download could not complete.
    #[error("download of {url} failed: {message}")]
    Download {
        /// What was being fetched.
        url: String,
        /// Why it failed, and what to do.
        message: String,
    },
    /// The downloaded bytes are not the published ones.
    #[error("{file} is corrupt: its SHA-256 is {actual}, expected {expected}; the partial file was removed, run the command again")]
    ChecksumMismatch {
        /// The file.
        file: String,
        /// Published hash.
        expected: String,
        /// Hash of what arrived.
        actual: String,
    },
    /// The hub is switched off (`HF_HUB_OFFLINE`) and the file is not cached.
    #[error("{file} from {repo} is not in the local cache and HF_HUB_OFFLINE is set; download it on a connected machine or pass a local file with --model")]
    Offline {
        /// The repository.
        repo: String,
        /// The file.
        file: String,
    },
    /// Local file system trouble (disk full, permissions).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, InferenceError>;
