//! Getting a catalog model onto disk: one GGUF file, or a whole
//! safetensors folder (config, tokenizer and every weight shard), through
//! the hub cache so other tools share the files.

use crate::catalog::{CatalogEntry, CatalogFormat};
use crate::hub::{self, HubConfig, HubFile, Progress};
use crate::{InferenceError, Result};
use std::path::{Path, PathBuf};

/// What a safetensors folder needs besides its weights.
const FOLDER_FILES: [&str; 3] = ["config.json", "tokenizer.json", "tokenizer_config.json"];
/// Fetched when the repository has them.
const OPTIONAL_FILES: [&str; 1] = ["generation_config.json"];
/// A sharded model's map from tensor to shard.
const INDEX: &str = "model.safetensors.index.json";
/// An unsharded model's weights.
const SINGLE: &str = "model.safetensors";

fn hub_file(repo: &str, revision: &str, file: &str, sha256: Option<&str>) -> HubFile {
    HubFile {
        repo: repo.into(),
        revision: revision.into(),
        file: file.into(),
        sha256: sha256.map(str::to_string),
    }
}

/// The shard files `index` (a `model.safetensors.index.json`) names.
fn shards(index: &Path) -> Result<Vec<String>> {
    let invalid = |problem: String| InferenceError::InvalidModel {
        path: index.to_path_buf(),
        problem,
    };
    let text =
        std::fs::read_to_string(index).map_err(|e| invalid(format!("cannot read it: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
    let map = value
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| invalid("it has no weight_map".into()))?;
    let mut files: Vec<String> = map
        .values()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    files.sort();
    files.dedup();
    if files.is_empty() || files.iter().any(|f| f.contains("..") || f.starts_with('/')) {
        return Err(invalid("its weight_map names no usable shard".into()));
    }
    Ok(files)
}

/// The local copy of `entry` (the GGUF file, or the model folder with
/// every file in it), if the cache holds all of it.
pub fn cached(config: &HubConfig, entry: &CatalogEntry) -> Option<PathBuf> {
    match entry.format {
        CatalogFormat::Gguf { file } => {
            hub::cached(config, &hub_file(entry.repo, "main", file, None))
        }
        CatalogFormat::Safetensors => {
            let config_json =
                hub::cached(config, &hub_file(entry.repo, "main", "config.json", None))?;
            let folder = config_json.parent()?.to_path_buf();
            let has = |name: &str| folder.join(name).is_file();
            let weights = has(SINGLE)
                || (has(INDEX)
                    && shards(&folder.join(INDEX)).is_ok_and(|files| files.iter().all(|f| has(f))));
            (FOLDER_FILES.iter().all(|f| has(f)) && weights).then_some(folder)
        }
    }
}

/// Fetches `entry` into the hub cache (resuming partial files) and returns
/// the path to load: the GGUF file, or the snapshot folder. `progress`
/// gets the bytes fetched so far over all files, and the total once known
/// (a folder's total is only known file by file, so it reports none).
pub async fn fetch(
    config: &HubConfig,
    entry: &CatalogEntry,
    progress: Progress<'_>,
) -> Result<PathBuf> {
    match entry.format {
        CatalogFormat::Gguf { file } => {
            hub::download(
                config,
                &hub_file(entry.repo, "main", file, entry.sha256),
                progress,
            )
            .await
        }
        CatalogFormat::Safetensors => fetch_folder(config, entry.repo, progress).await,
    }
}

/// Fetches one repository's files at one revision, adding up progress.
struct FolderFetch<'a, 'p> {
    config: &'a HubConfig,
    repo: &'a str,
    revision: String,
    finished: u64,
    progress: Progress<'p>,
}

impl FolderFetch<'_, '_> {
    async fn get(&mut self, file: &str) -> Result<Option<PathBuf>> {
        let before = self.finished;
        let progress = &mut *self.progress;
        let fetched = hub::download_if_present(
            self.config,
            &hub_file(self.repo, &self.revision, file, None),
            &mut |done, _| progress(before + done, None),
        )
        .await?;
        if let Some(path) = &fetched {
            self.finished += std::fs::metadata(path).map_or(0, |m| m.len());
        }
        Ok(fetched)
    }

    async fn require(&mut self, file: &str) -> Result<PathBuf> {
        self.get(file)
            .await?
            .ok_or_else(|| InferenceError::Download {
                url: format!("{}/{}", self.config.endpoint, self.repo),
                message: format!(
                    "the repository has no {file}; it is not a Hugging Face model folder"
                ),
            })
    }
}

async fn fetch_folder(config: &HubConfig, repo: &str, progress: Progress<'_>) -> Result<PathBuf> {
    let mut fetch = FolderFetch {
        config,
        repo,
        revision: "main".into(),
        finished: 0,
        progress,
    };
    let config_json = fetch.require(FOLDER_FILES[0]).await?;
    let folder = config_json
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // Every other file from the same commit, even if the branch moves on.
    if let Some(commit) = folder.file_name() {
        fetch.revision = commit.to_string_lossy().into_owned();
    }
    for file in &FOLDER_FILES[1..] {
        fetch.require(file).await?;
    }
    for file in OPTIONAL_FILES {
        fetch.get(file).await?;
    }
    match fetch.get(INDEX).await? {
        Some(index) => {
            for shard in shards(&index)? {
                fetch.require(&shard).await?;
            }
        }
        None => {
            fetch.require(SINGLE).await?;
        }
    }
    Ok(folder)
}
