//! Pincer's memory: the workspace's markdown (the source of truth) and the
//! folders the owner adds, cut into chunks that keep their file, lines and
//! heading path, embedded locally with candle, and searched by keyword (FTS5)
//! and meaning (sqlite-vec) in the one SQLite database.
//!
//! The index is derived data: [`Memory::reindex`] rebuilds it from the files.
//! Each file is written in one transaction (its chunks, their keyword rows
//! and their vectors), so a killed process leaves every file either fully
//! indexed at its old content or at its new one, and the next sync resumes.
#![deny(missing_docs)]

mod chunk;
mod embed;
mod files;
mod guard;
mod index;
mod memory;
mod notes;
mod search;
mod vectors;
mod watch;

pub use chunk::{chunk_markdown, Chunk, ChunkOptions, Provenance};
pub use embed::{dot, Embedder, EmbedderOptions};
pub use guard::{protected_files, Guarded, ProtectedFiles};
pub use memory::{Memory, MemoryOptions, MemoryStats, Progress, Source, SyncReport};
pub use notes::remember_request;
pub use search::{Hit, SearchOptions};
pub use vectors::{ChunkTags, VectorIndex};
pub use watch::{MemoryWatcher, Reindexed};

use std::path::PathBuf;

/// Everything that can go wrong in memory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// The embedding model folder is incomplete or does not match its config.
    #[error("the embedding model in {folder} cannot be loaded: {detail}. Point memory at a folder holding config.json, tokenizer.json and model.safetensors of a BERT sentence embedder (e.g. all-MiniLM-L6-v2)")]
    EmbedderFiles {
        /// The folder.
        folder: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The disk cannot hold the index of a folder or file being added.
    #[error("indexing {source_path} needs about {needed} in {folder}, and {free} is free; free some space there, or add a smaller folder")]
    NoSpace {
        /// The folder or file to index.
        source_path: String,
        /// The database's folder.
        folder: String,
        /// About what its index takes.
        needed: String,
        /// What is free.
        free: String,
    },
    /// The embedder failed on some input.
    #[error("embedding failed: {0}")]
    Embedding(String),
    /// candle reported an error while computing.
    #[error("embedding failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// SQLite refused an operation.
    #[error("memory index: database error while {context}: {source}")]
    Sqlite {
        /// What memory was doing.
        context: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be turned into text (e.g. a damaged PDF).
    #[error("{path} cannot be read as text: {detail}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        detail: String,
    },
    /// The caller named something that is not there.
    #[error("{0}")]
    NotFound(String),
    /// The caller's input makes no sense (an empty note, a relative path).
    #[error("{0}")]
    Invalid(String),
}

impl MemoryError {
    /// Whether this is a fault of the machine (the database, the disk, the
    /// embedder) rather than of a file's content or the caller's input.
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            MemoryError::Unreadable { .. } | MemoryError::NotFound(_) | MemoryError::Invalid(_)
        )
    }
}

/// Memory's result type.
pub type Result<T> = std::result::Result<T, MemoryError>;

pub(crate) trait SqliteContext<T> {
    fn context(self, context: &'static str) -> Result<T>;
}

impl<T> SqliteContext<T> for std::result::Result<T, rusqlite::Error> {
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|source| MemoryError::Sqlite { context, source })
    }
}

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> MemoryError + '_ {
    move |source| MemoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}
