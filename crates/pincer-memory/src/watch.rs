//! Keeping the index fresh: a debounced file watcher over every source
//! that re-indexes changed files and drops deleted ones, on its own thread.

use crate::{Memory, MemoryError, Result};
use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// How long a file must be quiet before it is re-indexed: editors save in
/// bursts (write, rename, chmod), and one re-index per save is enough.
pub const DEBOUNCE: Duration = Duration::from_millis(400);

/// What re-indexing one batch of changed files did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reindexed {
    /// Files whose chunks in the index changed.
    pub changed: Vec<PathBuf>,
    /// Files that could not be re-indexed for a fault of the machine (the
    /// database, the disk, the embedder), each with why.
    pub failed: Vec<String>,
}

/// Watches every source; dropping it stops watching.
pub struct MemoryWatcher {
    debouncer: Mutex<Debouncer<RecommendedWatcher, RecommendedCache>>,
}

impl std::fmt::Debug for MemoryWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryWatcher")
    }
}

impl MemoryWatcher {
    /// Starts watching the workspace and every source. `on_batch` runs on
    /// the watcher's thread after each batch of files was re-indexed, with
    /// the paths that changed the index and the files that failed (so a
    /// failure reaches the owner instead of only the log).
    pub fn start(
        memory: Arc<Memory>,
        on_batch: impl Fn(Reindexed) + Send + 'static,
    ) -> Result<Self> {
        let (sender, receiver) = mpsc::channel::<Vec<PathBuf>>();
        let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            if let Ok(events) = result {
                let paths: BTreeSet<PathBuf> =
                    events.into_iter().flat_map(|e| e.event.paths).collect();
                let _ = sender.send(paths.into_iter().collect());
            }
        })
        .map_err(|e| MemoryError::Invalid(format!("cannot start the file watcher: {e}")))?;
        let worker_memory = memory.clone();
        std::thread::Builder::new()
            .name("pincer-memory-watch".into())
            .spawn(move || {
                for batch in receiver {
                    let mut done = Reindexed::default();
                    for path in batch.into_iter().filter(|p| !p.is_dir()) {
                        match worker_memory.index_path(&path) {
                            Ok(true) => done.changed.push(path),
                            Ok(false) => {}
                            Err(error) => {
                                tracing::warn!(path = %path.display(), %error, "re-indexing a changed file failed");
                                if error.is_fault() {
                                    done.failed.push(format!("{}: {error}", path.display()));
                                }
                            }
                        }
                    }
                    if !done.changed.is_empty() || !done.failed.is_empty() {
                        on_batch(done);
                    }
                }
            })
            .map_err(|e| MemoryError::Invalid(format!("cannot start the watcher thread: {e}")))?;
        let watcher = Self {
            debouncer: Mutex::new(debouncer),
        };
        std::fs::create_dir_all(memory.workspace().join("memory"))
            .map_err(crate::io_error(memory.workspace()))?;
        for source in memory.source_paths()? {
            watcher.watch(Path::new(&source.path))?;
        }
        Ok(watcher)
    }

    /// Starts watching one more source.
    pub fn watch(&self, path: &Path) -> Result<()> {
        let mode = if path.is_dir() {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        self.debouncer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .watch(path, mode)
            .map_err(|e| MemoryError::Invalid(format!("cannot watch {}: {e}", path.display())))
    }

    /// Stops watching a source that was forgotten.
    pub fn unwatch(&self, path: &Path) {
        let _ = self
            .debouncer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwatch(path);
    }
}
