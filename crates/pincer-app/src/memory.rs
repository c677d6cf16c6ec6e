//! Memory in the app: finding the embedder and the memory commands (its
//! start, background sync and watcher are `memory_upkeep.rs`; retrieval
//! before each turn is the agent's, in pincer-agent's `prompt.rs`).

use crate::ipc::{MemoryHitView, MemorySearch, MemorySourceView, MemoryStatus, RememberedNote};
use crate::{blocking, Action, Actor, App, AppError, Result};
use pincer_inference::hub::{self, HubConfig, HubFile};
use pincer_memory::{Embedder, Memory, MemoryError, MemoryWatcher, Provenance, SearchOptions};
use pincer_trust::problems::Area;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The files of the default embedder in its hub repository.
pub(crate) const EMBEDDER_FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "model.safetensors",
    "sentence_bert_config.json",
];

/// Memory's place in the app; memory is off until an embedder is found.
#[derive(Debug, Default)]
pub(crate) struct MemoryState {
    pub(crate) memory: RwLock<Option<Arc<Memory>>>,
    pub(crate) watcher: Mutex<Option<MemoryWatcher>>,
    pub(crate) problem: Mutex<Option<String>>,
    pub(crate) syncing: Arc<AtomicBool>,
    /// Held while the embedder loads, so [`App::memory_ready`] can wait.
    pub(crate) starting: Arc<tokio::sync::Mutex<()>>,
}

impl MemoryState {
    /// Why memory is off or what went wrong starting it, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
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

pub(crate) fn hub_file(file: &str) -> HubFile {
    HubFile {
        repo: Embedder::DEFAULT_REPO.into(),
        revision: "main".into(),
        file: file.into(),
        sha256: None,
    }
}

impl App {
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
