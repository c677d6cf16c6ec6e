//! Models: the catalog with what fits this machine, downloads that can be
//! paused, resumed and canceled, and loading a local model into the engine.

use crate::ipc::{ActiveModel, CatalogModel, DownloadView};
use crate::{Action, Actor, App, AppError, Result};
use pincer_inference::catalog::{self, CatalogEntry, Fit, Memory};
use pincer_inference::fetch;
use pincer_inference::hub::{self, HubConfig};
use pincer_inference::{Engine, LoadQuantization, ModelSource};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Downloads started from the UI, by catalog id.
#[derive(Debug, Default)]
pub(crate) struct Downloads {
    entries: Mutex<HashMap<String, Download>>,
}

#[derive(Debug)]
struct Download {
    view: Arc<Mutex<DownloadView>>,
    task: Option<tokio::task::AbortHandle>,
}

fn find_entry(id: &str) -> Result<&'static CatalogEntry> {
    catalog::find(id)
        .ok_or_else(|| AppError::InvalidInput(format!("`{id}` is not in the model catalog")))
}

impl App {
    /// Loads a model into the engine, replacing the current one.
    pub(crate) async fn load_engine(
        &self,
        source: ModelSource,
        id: Option<String>,
    ) -> Result<ActiveModel> {
        let mut options = self.inner.engine_options.clone();
        options.adapter = self.inner.learning.adapter_for(&source);
        let mut engine = Engine::load(source, options).await?;
        if let Some(id) = id {
            engine.set_id(id);
        }
        let active = describe(&engine);
        *self.inner.engine.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(engine));
        self.start_read_ahead();
        Ok(active)
    }

    /// The model answering chats.
    pub fn active_model(&self) -> Option<ActiveModel> {
        self.engine().map(|engine| describe(&engine))
    }

    /// Checks and loads a local `.gguf` file or model folder; remembered for
    /// the next start. A bad file leaves the current model serving.
    pub async fn load_model(&self, path: String) -> Result<ActiveModel> {
        let path = PathBuf::from(path.trim());
        if path.as_os_str().is_empty() {
            return Err(AppError::InvalidInput(
                "give the path of a .gguf file or a model folder".into(),
            ));
        }
        let checked = path.clone();
        let target = path.display().to_string();
        let inspected = tokio::task::spawn_blocking(move || ModelSource::inspect(&checked))
            .await
            .map_err(|join| AppError::InvalidInput(format!("checking the model failed: {join}")))
            .and_then(|checked| checked.map_err(AppError::from));
        let loaded = match inspected {
            Ok(source) => self.load_engine(source, None).await,
            Err(error) => Err(error),
        };
        let active = match loaded {
            Ok(active) => active,
            Err(error) => {
                self.note(
                    Actor::Owner,
                    Action::ModelLoad,
                    &target,
                    "failed",
                    serde_json::json!({"error": error.to_string()}),
                );
                return Err(error);
            }
        };
        self.record(
            Actor::Owner,
            Action::ModelLoad,
            &target,
            "done",
            serde_json::json!({"model": active.id}),
        )?;
        self.remember_model(&path);
        Ok(active)
    }

    /// Unloads the model, freeing its memory; chats wait for a new one.
    pub fn unload_model(&self) -> Result<()> {
        *self.inner.engine.write().unwrap_or_else(|e| e.into_inner()) = None;
        self.record(
            Actor::Owner,
            Action::ModelUnload,
            "model",
            "done",
            serde_json::json!({}),
        )
    }

    /// The model loaded last time, if it is still there.
    pub fn last_model(&self) -> Option<PathBuf> {
        self.settings().last_model.filter(|p| p.exists())
    }

    /// The catalog, with each model's fit, local copy and download.
    pub fn catalog(&self) -> Vec<CatalogModel> {
        let memory = Memory::current();
        let config = HubConfig::from_env();
        let downloads = self
            .inner
            .downloads
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        catalog::entries()
            .iter()
            .map(|entry| CatalogModel {
                id: entry.id.into(),
                description: entry.description.into(),
                size_bytes: entry.size_bytes as f64,
                min_memory_bytes: entry.min_memory_bytes as f64,
                fit: match catalog::fit(entry, memory) {
                    Fit::Fits => "fits",
                    Fit::NeedsFreeMemory => "needsFreeMemory",
                    Fit::TooLarge => "tooLarge",
                }
                .into(),
                is_default: entry.id == catalog::DEFAULT_MODEL_ID,
                local_path: fetch::cached(&config, entry).map(|p| p.display().to_string()),
                download: downloads
                    .get(entry.id)
                    .map(|d| d.view.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            })
            .collect()
    }

    /// Starts or resumes downloading a catalog model (a paused download
    /// continues from its partial file).
    pub fn start_download(&self, id: &str) -> Result<DownloadView> {
        let entry = find_entry(id)?;
        let mut entries = self
            .inner
            .downloads
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = entries.get(entry.id) {
            if existing
                .view
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .state
                == "running"
            {
                return Ok(existing
                    .view
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone());
            }
        }
        let view = Arc::new(Mutex::new(DownloadView {
            id: entry.id.into(),
            state: "running".into(),
            done_bytes: 0.0,
            total_bytes: Some(entry.size_bytes as f64),
            error: None,
        }));
        let shared = Arc::clone(&view);
        let checker = self.clone();
        let outbound_check = move |url: &str| checker.check_outbound(url);
        let task = tokio::spawn(async move {
            let config = HubConfig::from_env();
            let progress_view = Arc::clone(&shared);
            let mut progress = move |done: u64, total: Option<u64>| {
                let mut view = progress_view.lock().unwrap_or_else(|e| e.into_inner());
                view.done_bytes = done as f64;
                if let Some(total) = total {
                    view.total_bytes = Some(total as f64);
                }
            };
            let result = match outbound_check(&format!("{}/{}", config.endpoint, entry.repo)) {
                Ok(()) => fetch::fetch(&config, entry, &mut progress)
                    .await
                    .map_err(AppError::from),
                Err(error) => Err(error),
            };
            let mut view = shared.lock().unwrap_or_else(|e| e.into_inner());
            match result {
                Ok(_) => {
                    view.state = "done".into();
                    if let Some(total) = view.total_bytes {
                        view.done_bytes = total;
                    }
                }
                Err(error) => {
                    view.state = "failed".into();
                    view.error = Some(error.to_string());
                }
            }
        });
        let snapshot = view.lock().unwrap_or_else(|e| e.into_inner()).clone();
        entries.insert(
            entry.id.into(),
            Download {
                view,
                task: Some(task.abort_handle()),
            },
        );
        Ok(snapshot)
    }

    /// Pauses a download; its partial file stays for a later resume.
    pub fn pause_download(&self, id: &str) -> Result<DownloadView> {
        self.halt_download(id, "paused")
    }

    /// Cancels a download and deletes its partial file.
    pub fn cancel_download(&self, id: &str) -> Result<DownloadView> {
        let view = self.halt_download(id, "canceled")?;
        let entry = find_entry(id)?;
        hub::discard_partial(&HubConfig::from_env(), entry.repo)?;
        Ok(view)
    }

    fn halt_download(&self, id: &str, state: &str) -> Result<DownloadView> {
        let entry = find_entry(id)?;
        let mut entries = self
            .inner
            .downloads
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let download = entries
            .get_mut(entry.id)
            .ok_or_else(|| AppError::InvalidInput(format!("no download of `{id}` was started")))?;
        if let Some(task) = download.task.take() {
            task.abort();
        }
        let mut view = download.view.lock().unwrap_or_else(|e| e.into_inner());
        if view.state == "running" || view.state == "paused" {
            view.state = state.into();
        }
        Ok(view.clone())
    }
}

fn describe(engine: &Engine) -> ActiveModel {
    let id = engine.id();
    match engine.source() {
        ModelSource::Gguf {
            path,
            architecture,
            quantization,
        } => ActiveModel {
            id: id.into(),
            path: display(path),
            format: "gguf".into(),
            details: format!("{architecture}, {quantization}"),
        },
        ModelSource::Safetensors { dir, model_type } => ActiveModel {
            id: id.into(),
            path: display(dir),
            format: "safetensors".into(),
            details: match engine.quantized() {
                LoadQuantization::Off | LoadQuantization::Auto => {
                    format!("{model_type}, safetensors")
                }
                held => format!("{model_type}, safetensors, {} in memory", held.name()),
            },
        },
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
