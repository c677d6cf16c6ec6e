//! Pincer's one SQLite database.
//!
//! Everything Pincer records lives in one file: sessions and messages now,
//! the memory index, trajectories, the audit chain and exposure records in
//! later migrations. Opening a [`Store`] registers the sqlite-vec extension,
//! turns on WAL, foreign keys and a busy timeout, and brings the schema up to
//! date with versioned migrations.
//!
//! ```no_run
//! let store = pincer_store::Store::open(std::path::Path::new("/tmp/pincer.db"))?;
//! let session = store.create_session(pincer_store::NewSession::default())?;
//! # Ok::<(), pincer_store::StoreError>(())
//! ```
#![deny(missing_docs)]

mod adapters;
mod audit;
mod audit_query;
pub mod backup;
mod checkpoint;
mod connection;
mod health;
mod integrity;
mod migrations;
mod proposals;
mod redact;
mod seal;
mod sessions;
mod soul;
mod trajectories;

pub use adapters::{AdapterVersion, NewAdapter};
pub use audit::{
    record_hash, AuditBreak, AuditEvent, AuditObserver, AuditRecord, AuditVerification, GENESIS,
};
pub use audit_query::AuditFilter;
pub use backup::{BackupCopy, KeptFile};
pub use checkpoint::{AuditAnchor, AuditCheckpoint, AuditPrune};
pub use connection::Store;
pub use health::{free_bytes, human_bytes, StoreCondition, RESTORE_ADVICE};
pub use integrity::{CheckDepth, Integrity, QUICK_CHECK_BUDGET};
pub use migrations::SCHEMA_VERSION;
pub use proposals::SoulProposal;
pub use redact::Redactor;
pub use sessions::{Message, MessageSource, MessageStats, NewMessage, NewSession, Session};
pub use soul::{content_sha256, SoulVersion};
pub use trajectories::{
    purpose, Consent, Judgment, NewTrajectory, SourceStats, TokenRecord, Trajectory, Vote,
};

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation (disk full, locked past the busy timeout, constraint).
    #[error("database error while {context}: {source}")]
    Sqlite {
        /// What the store was doing.
        context: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The disk is full: nothing of this write was saved, and what was saved
    /// before is intact.
    #[error("nothing was saved while {context}: {cause}")]
    DiskFull {
        /// What the store was doing.
        context: &'static str,
        /// Where, how much is free, and what to do.
        cause: String,
    },
    /// The database file is damaged; writes are stopped until a restore.
    #[error("nothing was saved while {context}: {cause}")]
    Damaged {
        /// What the store was doing.
        context: &'static str,
        /// What was found and the way out.
        cause: String,
    },
    /// A backup that cannot be used: missing, changed since it was taken,
    /// damaged, or its audit chain broken.
    #[error("the backup {folder} cannot be used: {problem}")]
    Backup {
        /// The backup folder.
        folder: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A file the store writes beside the database could not be written.
    #[error("{context} ({path}): {source}")]
    Io {
        /// What the store was doing.
        context: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database folder could not be created.
    #[error("cannot create the data folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was written by a newer Pincer; opening it could lose data.
    #[error("the database {path} has schema version {found}, newer than this Pincer understands ({supported}); upgrade Pincer or point --data-dir elsewhere")]
    SchemaTooNew {
        /// The database file.
        path: std::path::PathBuf,
        /// The version in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// Sealed text (sealed mode) that does not open.
    #[error("the {what} is sealed and does not open: {reason}")]
    Sealed {
        /// What was being read.
        what: &'static str,
        /// Why it does not open.
        reason: String,
    },
    /// A turn offered for training from a source without a training grant.
    #[error("no training consent for {from}; nothing was stored")]
    NoConsent {
        /// The source (`app`, `client:<name>`, `session:<id>`).
        from: String,
    },
    /// A row the caller named does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of row.
        what: &'static str,
        /// Its id.
        id: String,
    },
}

/// The store's result type.
pub type Result<T> = std::result::Result<T, StoreError>;

pub(crate) trait SqliteContext<T> {
    fn context(self, context: &'static str) -> Result<T>;
}

impl<T> SqliteContext<T> for std::result::Result<T, rusqlite::Error> {
    /// Names what failed; a full disk or damage is noted against the store
    /// this thread holds and returned as its own error, naming the cause.
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|source| health::classify(context, source))
    }
}

impl StoreError {
    /// Whether nothing could be saved because of the store's condition (a
    /// full disk, damage) rather than the request: the caller says so and
    /// keeps what it was given.
    pub fn is_not_saved(&self) -> bool {
        matches!(self, Self::DiskFull { .. } | Self::Damaged { .. })
    }
}

/// Milliseconds since the Unix epoch (audit records).
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Seconds since the Unix epoch, the store's time format for sessions.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
