//! Files memory may read only as their owner accepted them. The app
//! protects `MEMORY.md`: a change another program made waits for the owner,
//! so memory must index (and hand the agent) the accepted text, not the disk's.

use std::path::Path;

/// What memory may take of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guarded {
    /// Not protected: read it from disk.
    Open,
    /// Protected: index this text (its accepted version) in place of the disk's.
    Accepted(String),
    /// Protected and not to be indexed at all (sealed, or unreadable).
    Withheld,
}

/// Decides, per file, what memory may take. Installed with
/// [`crate::Memory::set_protection`]; without one every file is [`Guarded::Open`].
pub trait ProtectedFiles: Send + Sync + std::fmt::Debug {
    /// What memory may take of `path`.
    fn guard(&self, path: &Path) -> Guarded;
}
