//! Building a mistral.rs model from a checked source, with or without a
//! LoRA adapter.
//!
//! Two traps in mistral.rs 0.8.1 shape this module:
//!
//! - A LoRA adapter is merged into the weights while they load, from a
//!   **thread-local** list that nothing clears. A second model built on the
//!   same thread would silently inherit the first one's adapter (a rollback
//!   to the bare base would not be bare). So every model is built on a fresh
//!   OS thread with its own runtime, whose thread-locals die with it.
//! - Adapters are looked up through the Hugging Face hub API (its cache
//!   first), never as a local folder. So a local adapter is published into
//!   the hub cache under a content-addressed id (`pincer-adapter/<sha>`),
//!   as hub downloads are laid out, and that id is what mistral.rs is given.
//!
//! GGUF models take no LoRA adapter for Qwen3 in mistral.rs 0.8.1 (only
//! Llama and Phi-3 GGUF have adapter variants), so an adapter needs the
//! safetensors form of the model.

use crate::{EngineOptions, InferenceError, LoadQuantization, ModelSource, Result};
use mistralrs::{
    GgufModelBuilder, IsqType, LoraModelBuilder, Model, TextModelBuilder, TokenSource,
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The files of an adapter in the PEFT layout.
const ADAPTER_FILES: [&str; 2] = ["adapter_config.json", "adapter_model.safetensors"];

/// Builds the model on a thread of its own; a panic inside mistral.rs
/// becomes [`InferenceError::LoadFailed`]. Returns it with the in-memory
/// quantisation it got.
pub(crate) async fn build(
    source: &ModelSource,
    options: &EngineOptions,
    max_running: usize,
    prefix: Option<usize>,
) -> Result<(Model, LoadQuantization)> {
    let path = match source {
        ModelSource::Gguf { path, .. } => path.clone(),
        ModelSource::Safetensors { dir, .. } => dir.clone(),
    };
    let adapter_id = match (&options.adapter, source) {
        (None, _) => None,
        (Some(adapter), ModelSource::Safetensors { .. }) => Some(publish_adapter(adapter)?),
        (Some(_), ModelSource::Gguf { .. }) => {
            return Err(InferenceError::UnsupportedModel {
                path,
                what: "a LoRA adapter on a GGUF file (mistral.rs serves adapters on Qwen3 only from the safetensors folder); load the model's safetensors folder to serve trained adapters".into(),
            })
        }
    };
    let quantize = match source {
        ModelSource::Gguf { .. } => LoadQuantization::Off,
        ModelSource::Safetensors { dir, .. } => options.quantize.resolve(weights_size(dir)),
    };
    let (source, force_cpu) = (source.clone(), options.force_cpu);
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("pincer-model-load".into())
        .spawn(move || {
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(build_here(
                        source,
                        adapter_id,
                        force_cpu,
                        quantize,
                        max_running,
                        prefix,
                    )),
                    Err(e) => Err(format!("starting the loader's runtime: {e}")),
                }
            }));
            let _ = sender.send(built);
        })
        .map_err(|e| InferenceError::LoadFailed {
            path: path.clone(),
            message: format!("starting the loader thread: {e}"),
        })?;
    match receiver.await {
        Ok(Ok(Ok(model))) => Ok((model, quantize)),
        Ok(Ok(Err(message))) => Err(InferenceError::LoadFailed { path, message }),
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the loader stopped unexpectedly".into());
            Err(InferenceError::LoadFailed { path, message })
        }
        Err(_) => Err(InferenceError::LoadFailed {
            path,
            message: "the loader thread ended without an answer".into(),
        }),
    }
}

async fn build_here(
    source: ModelSource,
    adapter_id: Option<String>,
    force_cpu: bool,
    quantize: LoadQuantization,
    max_running: usize,
    prefix: Option<usize>,
) -> std::result::Result<Model, String> {
    let built = match &source {
        ModelSource::Gguf { path, .. } => {
            let dir = path
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|| ".".into());
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut builder = GgufModelBuilder::new(dir, vec![file])
                .with_token_source(TokenSource::None)
                .with_max_num_seqs(max_running)
                .with_prefix_cache_n(prefix);
            if force_cpu {
                builder = builder.with_force_cpu();
            }
            builder.build().await
        }
        ModelSource::Safetensors { dir, .. } => {
            let mut builder = TextModelBuilder::new(dir.to_string_lossy())
                .with_token_source(TokenSource::None)
                .with_max_num_seqs(max_running)
                .with_prefix_cache_n(prefix);
            if force_cpu {
                builder = builder.with_force_cpu();
            }
            match quantize {
                LoadQuantization::Q4K => builder = builder.with_isq(IsqType::Q4K),
                LoadQuantization::Q8_0 => builder = builder.with_isq(IsqType::Q8_0),
                LoadQuantization::Off | LoadQuantization::Auto => {}
            }
            match adapter_id {
                None => builder.build().await,
                Some(id) => {
                    LoraModelBuilder::from_text_model_builder(builder, [id])
                        .build()
                        .await
                }
            }
        }
    };
    built.map_err(|error| format!("{error:#}"))
}

/// Bytes of safetensors weights in a model folder (what `Auto` decides by).
fn weights_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|listing| {
            listing
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
                .filter_map(|e| std::fs::metadata(e.path()).ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Places the adapter where mistral.rs's hub lookup finds it and returns
/// the id to ask for. The id is the adapter's content hash, so a changed
/// adapter is never confused with an older one in the cache.
pub(crate) fn publish_adapter(adapter: &Path) -> Result<String> {
    let invalid = |problem: String| InferenceError::InvalidModel {
        path: adapter.to_path_buf(),
        problem,
    };
    let mut hasher = Sha256::new();
    let mut config_bytes = Vec::new();
    for file in ADAPTER_FILES {
        let bytes = std::fs::read(adapter.join(file))
            .map_err(|e| invalid(format!("{file} cannot be read ({e}); an adapter folder holds adapter_config.json and adapter_model.safetensors")))?;
        hasher.update(file.as_bytes());
        hasher.update(&bytes);
        if file == ADAPTER_FILES[0] {
            config_bytes = bytes;
        }
    }
    let config: serde_json::Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| invalid(format!("adapter_config.json is not JSON ({e})")))?;
    if config.get("r").and_then(|r| r.as_u64()).is_none()
        || config
            .get("target_modules")
            .and_then(|t| t.as_array())
            .is_none()
    {
        return Err(invalid(
            "adapter_config.json lacks `r` or `target_modules`; it is not a PEFT LoRA config"
                .into(),
        ));
    }
    let revision = hex::encode(&hasher.finalize()[..16]);
    let id = format!("pincer-adapter/{revision}");
    let repo = hub_cache_dir()
        .ok_or_else(|| {
            invalid("there is no home folder for the model cache; set HF_HUB_CACHE".into())
        })?
        .join(format!("models--pincer-adapter--{revision}"));
    let snapshot = repo.join("snapshots").join(&revision);
    let io = |context: &str, source: std::io::Error| InferenceError::Io {
        context: format!("{context} {}", repo.display()),
        source,
    };
    std::fs::create_dir_all(&snapshot).map_err(|e| io("creating", e))?;
    for file in ADAPTER_FILES {
        let target = snapshot.join(file);
        if !target.exists() {
            let partial = snapshot.join(format!("{file}.partial"));
            std::fs::copy(adapter.join(file), &partial)
                .map_err(|e| io("copying the adapter into", e))?;
            std::fs::rename(&partial, &target).map_err(|e| io("copying the adapter into", e))?;
        }
    }
    std::fs::create_dir_all(repo.join("refs")).map_err(|e| io("creating", e))?;
    std::fs::write(repo.join("refs").join("main"), &revision)
        .map_err(|e| io("writing the ref in", e))?;
    Ok(id)
}

/// The hub cache mistral.rs reads, by its own rule: `HF_HUB_CACHE`, else
/// `HF_HOME/hub`, else `~/.cache/huggingface/hub`.
fn hub_cache_dir() -> Option<PathBuf> {
    std::env::var_os("HF_HUB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HF_HOME").map(|home| PathBuf::from(home).join("hub")))
        .or_else(|| {
            dirs::home_dir().map(|home| home.join(".cache").join("huggingface").join("hub"))
        })
}
