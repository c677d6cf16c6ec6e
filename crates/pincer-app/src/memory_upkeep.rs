//! Memory's upkeep in the app: loading the embedder without holding up
//! start-up, the sync and the file watcher in the background, and what
//! they report: a fault of the machine (the database, the disk, the
//! embedder) is kept as the memory problem the banner and `/health` show;
//! a file memory cannot read shows in the Memory pane only.

use crate::memory::find_embedder;
use crate::{blocking, App, Result};
use pincer_memory::{
    ChunkOptions, Embedder, EmbedderOptions, Memory, MemoryOptions, MemoryWatcher,
};
use pincer_trust::problems::Area;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

impl App {
    /// Starts memory without holding up start-up: loading the embedder
    /// (~160 ms, 90 MB of weights) runs on its own task; until it is done
    /// turns answer without memory and memory commands say it is starting.
    pub(crate) async fn start_memory_in_background(&self, embedder: Option<PathBuf>) {
        let starting = self.inner.memory.starting.clone().lock_owned().await;
        let app = self.clone();
        tokio::spawn(async move {
            app.start_memory(embedder).await;
            // The app first, so whoever waited in `memory_ready` holds the
            // last reference once it wakes.
            drop(app);
            drop(starting);
        });
    }

    /// Memory once it has finished starting (or why it is off). `pincer
    /// serve` waits for this before it reports healthy.
    pub async fn memory_ready(&self) -> Result<Arc<Memory>> {
        let _started = self.inner.memory.starting.lock().await;
        self.memory()
    }

    /// Loads the embedder and opens memory, then syncs and watches in the
    /// background. A missing or broken embedder leaves memory off with the
    /// reason in [`App::memory_status`]; chat works without it.
    pub(crate) async fn start_memory(&self, embedder: Option<PathBuf>) {
        let Some(folder) = find_embedder(embedder) else {
            self.set_memory_problem(Some(format!(
                "no embedding model yet: choose Download in Memory (about 90 MB from {}), or start with --embedder <folder>",
                Embedder::DEFAULT_REPO
            )));
            return;
        };
        let store = self.store().clone();
        let workspace = self.workspace().dir().to_path_buf();
        let guard = pincer_memory::protected_files(&self.inner.protected);
        let opened = blocking(move || {
            let embedder = Arc::new(Embedder::load(&folder, EmbedderOptions::default())?);
            let options = MemoryOptions {
                workspace,
                chunking: ChunkOptions::default(),
            };
            let memory = Memory::open(store, embedder, options)?;
            memory.set_protection(guard);
            Ok(Arc::new(memory))
        })
        .await;
        match opened {
            Ok(memory) => {
                *self
                    .inner
                    .memory
                    .memory
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) = Some(memory.clone());
                self.set_memory_problem(None);
                let trust = self.inner.trust.clone();
                match MemoryWatcher::start(memory, move |done| {
                    tracing::debug!(paths = ?done.changed, "memory re-indexed changed files");
                    match done.failed.as_slice() {
                        [] => trust.problems().clear(Area::Memory),
                        [first, ..] => trust.problems().report(
                            Area::Memory,
                            &format!(
                                "{} changed file(s) could not be indexed ({first})",
                                done.failed.len()
                            ),
                        ),
                    }
                }) {
                    Ok(watcher) => {
                        *self
                            .inner
                            .memory
                            .watcher
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) = Some(watcher)
                    }
                    Err(error) => self.inner.trust.problems().report(
                        Area::Memory,
                        &format!("memory will not follow file changes: {error}"),
                    ),
                }
                self.sync_memory_in_background(false);
            }
            Err(error) => self.set_memory_problem(Some(error.to_string())),
        }
    }

    /// Indexes `MEMORY.md` again after its accepted version changed (a
    /// save, an accepted outside change, sealed mode switched). Memory that
    /// is off or still starting picks it up in its first sync.
    pub(crate) async fn reindex_memory_file(&self) {
        let Ok(memory) = self.memory() else { return };
        let path = self.workspace().dir().join(pincer_workspace::MEMORY_FILE);
        let indexed = blocking(move || Ok(memory.index_path(&path)?)).await;
        if let Err(error) = indexed {
            let error = format!("MEMORY.md could not be indexed again: {error}");
            self.inner.trust.problems().report(Area::Memory, &error);
        }
    }

    pub(crate) fn set_memory_problem(&self, problem: Option<String>) {
        *self
            .inner
            .memory
            .problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problem;
    }

    /// Runs a sync (or a full reindex) on its own thread unless one runs.
    pub(crate) fn sync_memory_in_background(&self, from_scratch: bool) {
        let Ok(memory) = self.memory() else { return };
        let syncing = self.inner.memory.syncing.clone();
        if syncing.swap(true, Ordering::SeqCst) {
            return;
        }
        let trust = self.inner.trust.clone();
        let spawned = std::thread::Builder::new()
            .name("pincer-memory-sync".into())
            .spawn(move || {
                let never = AtomicBool::new(false);
                let result = if from_scratch {
                    memory.reindex(&never)
                } else {
                    memory.sync(&never)
                };
                // A file memory cannot read shows in the Memory pane; a
                // fault of the machine is the owner's to see everywhere.
                match result {
                    Ok(report) if report.faults.is_empty() => {
                        tracing::info!(?report, "memory is in step with its sources");
                        trust.problems().clear(Area::Memory);
                    }
                    Ok(report) => trust.problems().report(
                        Area::Memory,
                        &format!(
                            "{} file(s) could not be indexed ({})",
                            report.faults.len(),
                            report.faults[0]
                        ),
                    ),
                    Err(error) => trust.problems().report(Area::Memory, &error),
                }
                syncing.store(false, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.inner.memory.syncing.store(false, Ordering::SeqCst);
        }
    }
}
