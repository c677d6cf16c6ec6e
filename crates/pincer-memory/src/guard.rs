//! Files memory may read only as their owner accepted them. The trust base
//! protects `MEMORY.md`: a change another program made waits for the owner,
//! so memory must index (and hand the agent) the accepted text, not the
//! disk's, and nothing of it in sealed mode (its text would sit in the index
//! unsealed; the prompt carries it instead).

use pincer_trust::Protected;
use pincer_workspace::MEMORY_FILE;
use std::path::Path;
use std::sync::Arc;

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

/// The guard the trust base's protected files give memory: `MEMORY.md` as
/// the owner accepted it, withheld when sealed or unreadable.
pub fn protected_files(protected: &Arc<Protected>) -> Arc<dyn ProtectedFiles> {
    Arc::new(TrustGuard(protected.clone()))
}

#[derive(Debug)]
struct TrustGuard(Arc<Protected>);

impl ProtectedFiles for TrustGuard {
    fn guard(&self, path: &Path) -> Guarded {
        if !self.0.is_memory_file(path) {
            return Guarded::Open;
        }
        if self.0.sealed() {
            return Guarded::Withheld;
        }
        match self.0.accepted_text(MEMORY_FILE) {
            Ok((text, _)) => Guarded::Accepted(text),
            Err(error) => {
                tracing::warn!(%error, "MEMORY.md is left out of memory until it can be read");
                Guarded::Withheld
            }
        }
    }
}
