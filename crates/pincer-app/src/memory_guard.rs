//! Memory's view of the protected files, wired here because memory and the
//! trust base sit side by side: `MEMORY.md` is indexed as the owner
//! accepted it, and not at all in sealed mode (its text would sit in the
//! index unsealed; the prompt carries it instead).

use pincer_memory::{Guarded, ProtectedFiles};
use pincer_trust::Protected;
use pincer_workspace::MEMORY_FILE;
use std::path::Path;
use std::sync::Arc;

/// The guard memory asks before it indexes a file.
pub(crate) fn for_memory(protected: &Arc<Protected>) -> Arc<dyn ProtectedFiles> {
    Arc::new(MemoryGuard(protected.clone()))
}

#[derive(Debug)]
struct MemoryGuard(Arc<Protected>);

impl ProtectedFiles for MemoryGuard {
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
