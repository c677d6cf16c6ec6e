//! Memory in the app: finding and loading the embedder, the background sync
//! and file watcher, and the memory commands (retrieval before each turn is
//! the agent's, in pincer-agent's `prompt.rs`).

use crate::ipc::{MemoryHitView, MemorySearch, MemorySourceView, MemoryStatus, RememberedNote};
use crate::{blocking, Action, Actor, App, AppError, Result};
use pincer_trust::problems::Area;
use pincer_inference::hub::{self, HubConfig, HubFile};
use pincer_memory::{
    ChunkOptions, Embedder, EmbedderOptions, Memory, MemoryError, MemoryOptions, MemoryWatcher,
    Provenance, SearchOptions,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The files of the default embedder in its hub repository.
const EMBEDDER_FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "model.safetensors",
    "sentence_bert_config.json",
];

/// Memory's place in the app; memory is off until an embedder is found.
#[derive(Debug, Default)]
pub(crate) struct MemoryState {
    memory: RwLock<Option<Arc<Memory>>>,
    watcher: Mutex<Option<MemoryWatcher>>,
    problem: Mutex<Option<String>>,
    syncing: Arc<AtomicBool>,
    /// Held while the embedder loads, so [`App::memory_ready`] can wait.
    starting: Arc<tokio::sync::Mutex<()>>,
}

impl MemoryState {
    /// Why memory is off or what went wrong starting it, if anything.
    fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Memory, when it is on and ready.
    pub(crate) fn current(&self) -> Option<Arc<Memory>> {
        self.memory
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl From<MemoryError> for AppError {
    fn from(error: MemoryError) -> Self {
        match error {
            MemoryError::NotFound(m) | MemoryError::Invalid(m) => AppError::InvalidInput(m),
            no_space @ MemoryError::NoSpace { .. } => AppError::NotSaved(no_space.to_string()),
            other => AppError::Unavailable(other.to_string()),
        }
    }
}

/// Where the embedder is: the configured folder, else the hub cache's copy
/// of `sentence-transformers/all-MiniLM-L6-v2` once downloaded.
pub fn find_embedder(explicit: Option<PathBuf>) -> Option<PathBuf> {
    if explicit.is_some() {
        return explicit;
    }
    let config = HubConfig::from_env();
    let files: Vec<PathBuf> = EMBEDDER_FILES[..3]
        .iter()
        .map(|f| hub::cached(&config, &hub_file(f)))
        .collect::<Option<Vec<_>>>()?;
    files
        .first()
        .and_then(|f| f.parent())
        .map(Path::to_path_buf)
}

fn hub_file(file: &str) -> HubFile {
    HubFile {
        repo: Embedder::DEFAULT_REPO.into(),
        revision: "main".into(),
        file: file.into(),
        sha256: None,
    }
}

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
                            &format!("{} changed file(s) could not be indexed ({first})", done.failed.len()),
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

    /// Downloads the default embedder into the hub cache and turns memory on.
    pub async fn download_embedder(&self) -> Result<MemoryStatus> {
        let config = HubConfig::from_env();
        for file in EMBEDDER_FILES {
            let mut progress = |_: u64, _: Option<u64>| {};
            self.check_outbound(&hub::url(&config, &hub_file(file)))?;
            hub::download(&config, &hub_file(file), &mut progress).await?;
        }
        self.start_memory(None).await;
        self.memory_status()
    }

    fn set_memory_problem(&self, problem: Option<String>) {
        *self
            .inner
            .memory
            .problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problem;
    }

    /// Memory, or why it is off.
    pub fn memory(&self) -> Result<Arc<Memory>> {
        self.inner.memory.current().ok_or_else(|| {
            AppError::Unavailable(
                self.inner
                    .memory
                    .problem()
                    .unwrap_or_else(|| "memory is still starting; try again in a moment".into()),
            )
        })
    }

    /// Runs a sync (or a full reindex) on its own thread unless one runs.
    fn sync_memory_in_background(&self, from_scratch: bool) {
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

    /// Memory's state for the Memory pane.
    pub fn memory_status(&self) -> Result<MemoryStatus> {
        let problem = self.inner.memory.problem();
        let Ok(memory) = self.memory() else {
            return Ok(MemoryStatus {
                available: false,
                problem,
                ..Default::default()
            });
        };
        let stats = memory.stats()?;
        let progress = memory.progress();
        Ok(MemoryStatus {
            available: true,
            problem,
            embedder: Some(stats.embedder),
            workspace: memory.workspace().display().to_string(),
            files: stats.files as u32,
            chunks: stats.chunks as u32,
            syncing: progress.running || self.inner.memory.syncing.load(Ordering::SeqCst),
            files_done: progress.files_done as u32,
            files_total: progress.files_total as u32,
            current_file: progress.current,
            errors: progress.errors,
            sources: memory
                .sources()?
                .into_iter()
                .map(MemorySourceView::from)
                .collect(),
        })
    }

    /// Searches memory (the Memory pane, `memory_search` tool).
    pub async fn memory_search(&self, request: MemorySearch) -> Result<Vec<MemoryHitView>> {
        let memory = self.memory()?;
        let provenance = request
            .provenance
            .iter()
            .map(|p| {
                Provenance::parse(p).ok_or_else(|| {
                    AppError::InvalidInput(format!(
                        "unknown provenance {p:?}; use owner, agent, untrusted or system"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let options = SearchOptions {
            limit: request.limit.unwrap_or(10).clamp(1, 50) as usize,
            sources: request.sources.iter().map(|s| i64::from(*s)).collect(),
            provenance,
            since: request.since,
            until: request.until,
            recency_half_life_days: request.recency_half_life_days.map(|d| d as f32),
            mmr_lambda: request.mmr_lambda.map(|l| l as f32),
        };
        let query = request.query;
        blocking(move || {
            Ok(memory
                .search(&query, &options)?
                .into_iter()
                .map(MemoryHitView::from)
                .collect())
        })
        .await
    }

    /// Adds a folder or file to memory and indexes it in the background.
    pub async fn memory_add_source(
        &self,
        path: String,
        provenance: Option<String>,
    ) -> Result<MemorySourceView> {
        let memory = self.memory()?;
        let provenance = match provenance.as_deref() {
            None => Provenance::Untrusted,
            Some(p) => Provenance::parse(p).ok_or_else(|| {
                AppError::InvalidInput(format!("unknown provenance {p:?}; use owner or untrusted"))
            })?,
        };
        let source = blocking(move || Ok(memory.add_source(Path::new(&path), provenance)?)).await?;
        if let Some(watcher) = self
            .inner
            .memory
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if let Err(error) = watcher.watch(Path::new(&source.path)) {
                let error = format!("the new source will not be followed for changes: {error}");
                self.inner.trust.problems().report(Area::Memory, &error);
            }
        }
        self.record(
            Actor::Owner,
            Action::MemorySourceAdd,
            &source.path,
            "done",
            serde_json::json!({"provenance": source.provenance.as_str()}),
        )?;
        self.sync_memory_in_background(false);
        Ok(source.into())
    }

    /// Forgets a source: its chunks and vectors leave the index; its files stay.
    pub async fn memory_forget_source(&self, id: u32) -> Result<MemoryStatus> {
        let memory = self.memory()?;
        let path = blocking(move || Ok(memory.forget_source(i64::from(id))?)).await?;
        self.record(
            Actor::Owner,
            Action::MemorySourceForget,
            &path.display().to_string(),
            "done",
            serde_json::json!({"id": id}),
        )?;
        if let Some(watcher) = self
            .inner
            .memory
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            watcher.unwatch(&path);
        }
        self.memory_status()
    }

    /// Rebuilds the index from the files, in the background.
    pub fn memory_reindex(&self) -> Result<MemoryStatus> {
        self.memory()?;
        self.sync_memory_in_background(true);
        self.record(
            Actor::Owner,
            Action::MemoryReindex,
            "memory",
            "started",
            serde_json::json!({}),
        )?;
        self.memory_status()
    }

    /// A whole remembered file, for the pane's viewer (`memory_get`).
    pub async fn memory_read_file(&self, path: String) -> Result<String> {
        let memory = self.memory()?;
        blocking(move || Ok(memory.get(&path, 1, usize::MAX)?)).await
    }

    /// Appends to today's daily note ("remember that …"; the agent files
    /// it, with its secrets scrubbed, and audits it).
    pub async fn memory_remember(&self, text: String) -> Result<RememberedNote> {
        self.memory()?;
        let (path, line) = self.inner.agent.remember(text).await?.ok_or_else(|| {
            AppError::Unavailable("memory is still starting; try again in a moment".into())
        })?;
        Ok(RememberedNote {
            path: path.display().to_string(),
            line: line as u32,
        })
    }
}
