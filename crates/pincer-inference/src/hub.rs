//! Downloads from the Hugging Face hub into the hub's own cache layout
//! (`models--org--name/{blobs,snapshots,refs}`), so files are shared with
//! other tools; resumable and SHA-256-verified.
//!
//! Honours `HF_ENDPOINT`, `HF_HUB_CACHE` / `HF_HOME` and `HF_HUB_OFFLINE`.

use crate::{InferenceError, Result};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where and how to reach the hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubConfig {
    /// Base URL, `https://huggingface.co` unless `HF_ENDPOINT` says otherwise.
    pub endpoint: String,
    /// The hub cache folder (`.../huggingface/hub`).
    pub cache_dir: PathBuf,
    /// Never touch the network (`HF_HUB_OFFLINE=1`).
    pub offline: bool,
}

impl HubConfig {
    /// Reads the hub's standard environment variables.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| "https://huggingface.co".into());
        let cache_dir = var("HF_HUB_CACHE").map(PathBuf::from).unwrap_or_else(|| {
            var("HF_HOME")
                .map(PathBuf::from)
                .or_else(|| dirs::cache_dir().map(|c| c.join("huggingface")))
                .unwrap_or_else(|| PathBuf::from(".cache/huggingface"))
                .join("hub")
        });
        let offline = var("HF_HUB_OFFLINE").is_some_and(|v| {
            matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
        });
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            cache_dir,
            offline,
        }
    }
}

/// A file in a hub repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubFile {
    /// `org/name`.
    pub repo: String,
    /// Branch, tag or commit.
    pub revision: String,
    /// Path inside the repository.
    pub file: String,
    /// The expected SHA-256, when known in advance.
    pub sha256: Option<String>,
}

/// Progress of a download: bytes on disk so far, and the total if known.
pub type Progress<'a> = &'a mut (dyn FnMut(u64, Option<u64>) + Send);

fn repo_dir(config: &HubConfig, repo: &str) -> PathBuf {
    config
        .cache_dir
        .join(format!("models--{}", repo.replace('/', "--")))
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> InferenceError {
    let context = context.into();
    move |source| InferenceError::Io { context, source }
}

/// The cached copy of `file`, if the cache already has it.
pub fn cached(config: &HubConfig, file: &HubFile) -> Option<PathBuf> {
    let dir = repo_dir(config, &file.repo);
    let commit = std::fs::read_to_string(dir.join("refs").join(&file.revision))
        .map(|c| c.trim().to_string())
        .unwrap_or_else(|_| file.revision.clone());
    let path = dir.join("snapshots").join(commit).join(&file.file);
    path.is_file().then_some(path)
}

/// The address `file` is fetched from; callers check it for secrets
/// before anything is sent.
pub fn url(config: &HubConfig, file: &HubFile) -> String {
    format!(
        "{}/{}/resolve/{}/{}",
        config.endpoint, file.repo, file.revision, file.file
    )
}

/// Fetches `file` into the cache (or finds it there) and returns its path.
///
/// A partial download left by an interrupted run is resumed with an HTTP
/// range request. The result is checked against `file.sha256` or, failing
/// that, the hash the hub publishes; a mismatch deletes the partial file.
pub async fn download(
    config: &HubConfig,
    file: &HubFile,
    progress: Progress<'_>,
) -> Result<PathBuf> {
    match download_if_present(config, file, progress).await? {
        Some(path) => Ok(path),
        None => Err(InferenceError::Download {
            url: url(config, file),
            message: "the hub has no such file (404)".into(),
        }),
    }
}

/// Like [`download`], but a file the repository does not have is `None`
/// rather than an error (for optional files, and to tell a sharded model
/// from a single-file one).
pub async fn download_if_present(
    config: &HubConfig,
    file: &HubFile,
    progress: Progress<'_>,
) -> Result<Option<PathBuf>> {
    if let Some(path) = cached(config, file) {
        return Ok(Some(path));
    }
    if config.offline {
        return Err(InferenceError::Offline {
            repo: file.repo.clone(),
            file: file.file.clone(),
        });
    }
    let url = url(config, file);
    let failed = |message: String| InferenceError::Download {
        url: url.clone(),
        message,
    };
    // The hub puts the commit and the LFS hash on the first response, before
    // any redirect to a CDN, so that one is read without following redirects.
    let probe = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let head = probe
        .get(&url)
        .header(reqwest::header::RANGE, "bytes=0-0")
        .send()
        .await
        .map_err(|e| failed(format!("{e}; check the network, or set HF_HUB_OFFLINE=1 and pass --model with a local file")))?;
    if head.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if head.status().is_client_error() || head.status().is_server_error() {
        return Err(failed(format!("the hub answered {}", head.status())));
    }
    let header = |name: &str| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_string())
    };
    let commit = header("x-repo-commit").unwrap_or_else(|| file.revision.clone());
    let linked = header("x-linked-etag").or_else(|| header("etag"));
    let published = linked.filter(|e| e.len() == 64 && e.chars().all(|c| c.is_ascii_hexdigit()));
    let expected = file
        .sha256
        .clone()
        .or(published)
        .map(|h| h.to_ascii_lowercase());
    let blob_name = expected
        .clone()
        .unwrap_or_else(|| format!("{}-{}", commit, file.file.replace('/', "_")));

    let dir = repo_dir(config, &file.repo);
    let blobs = dir.join("blobs");
    std::fs::create_dir_all(&blobs).map_err(io(format!("creating {}", blobs.display())))?;
    let blob = blobs.join(&blob_name);
    if !blob.is_file() {
        fetch_blob(&url, &blob, expected.as_deref(), &file.file, progress).await?;
    }
    let snapshot = dir.join("snapshots").join(&commit).join(&file.file);
    link_snapshot(&blob, &snapshot)?;
    let refs = dir.join("refs");
    if commit != file.revision {
        std::fs::create_dir_all(&refs).map_err(io("creating the refs folder"))?;
        std::fs::write(refs.join(&file.revision), &commit).map_err(io("writing the ref"))?;
    }
    Ok(Some(snapshot))
}

async fn fetch_blob(
    url: &str,
    blob: &Path,
    expected: Option<&str>,
    name: &str,
    progress: Progress<'_>,
) -> Result<()> {
    let failed = |message: String| InferenceError::Download {
        url: url.to_string(),
        message,
    };
    let partial = blob.with_extension("incomplete");
    let mut hasher = Sha256::new();
    let mut have = 0u64;
    if let Ok(mut existing) = std::fs::File::open(&partial) {
        have = std::io::copy(&mut existing, &mut hasher)
            .map_err(io("reading the partial download"))?;
    }
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let mut request = client.get(url);
    if have > 0 {
        request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let response = request.send().await.map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    let resumed = status == reqwest::StatusCode::PARTIAL_CONTENT;
    if status == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
        // The partial file is already complete (or longer than the file): start over.
        std::fs::remove_file(&partial).map_err(io("removing a stale partial download"))?;
        return Err(failed(
            "the partial download did not match the file; it was removed, run the command again"
                .into(),
        ));
    }
    if !status.is_success() {
        return Err(failed(format!("the server answered {status}")));
    }
    if !resumed && have > 0 {
        tracing::info!("server ignored the range request; downloading {name} from the start");
        hasher = Sha256::new();
        have = 0;
    }
    let total = response.content_length().map(|len| len + have);
    if let Some(remaining) = response.content_length() {
        check_space(&partial, remaining).map_err(failed)?;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(resumed)
        .write(true)
        .truncate(!resumed)
        .open(&partial)
        .map_err(io(format!("opening {}", partial.display())))?;
    progress(have, total);
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| failed(format!("{e}; run the command again to resume")))?;
        out.write_all(&chunk).map_err(io(format!(
            "writing {} (is the disk full?)",
            partial.display()
        )))?;
        hasher.update(&chunk);
        have += chunk.len() as u64;
        progress(have, total);
    }
    out.sync_all()
        .map_err(io("flushing the download to disk"))?;
    drop(out);
    let actual = hex::encode(hasher.finalize());
    if let Some(expected) = expected {
        if actual != expected {
            std::fs::remove_file(&partial).map_err(io("removing a corrupt download"))?;
            return Err(InferenceError::ChecksumMismatch {
                file: name.to_string(),
                expected: expected.to_string(),
                actual,
            });
        }
    }
    std::fs::rename(&partial, blob).map_err(io("moving the download into the cache"))
}

/// Refuses a download the disk cannot hold, naming what it needs and what
/// is free, before a byte is written (what was downloaded stays, and the
/// download resumes once there is room).
fn check_space(partial: &Path, remaining: u64) -> std::result::Result<(), String> {
    let folder = partial.parent().unwrap_or(Path::new("."));
    let Ok(free) = fs2::available_space(folder) else {
        return Ok(());
    };
    let wanted = remaining + remaining / 50 + 16 * 1024 * 1024;
    if free >= wanted {
        return Ok(());
    }
    let gigabytes = |bytes: u64| format!("{:.2} GB", bytes as f64 / 1e9);
    Err(format!(
        "the download needs {} more and the disk holding {} has {} free; free some space, then start it again (it resumes)",
        gigabytes(wanted),
        folder.display(),
        gigabytes(free)
    ))
}

fn link_snapshot(blob: &Path, snapshot: &Path) -> Result<()> {
    if let Some(parent) = snapshot.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    if snapshot.exists() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        let depth = snapshot
            .strip_prefix(
                blob.parent()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new("/")),
            )
            .map(|p| p.components().count())
            .unwrap_or(0);
        let relative: PathBuf = std::iter::repeat_n("..", depth.saturating_sub(1))
            .collect::<PathBuf>()
            .join("blobs")
            .join(blob.file_name().unwrap_or_default());
        std::os::unix::fs::symlink(&relative, snapshot).map_err(io("linking the snapshot"))
    }
    #[cfg(not(unix))]
    {
        std::fs::copy(blob, snapshot)
            .map(|_| ())
            .map_err(io("copying the snapshot"))
    }
}

/// Deletes the partial downloads of a repository (a canceled download);
/// finished files in the cache are kept.
pub fn discard_partial(config: &HubConfig, repo: &str) -> Result<()> {
    let blobs = repo_dir(config, repo).join("blobs");
    let Ok(listing) = std::fs::read_dir(&blobs) else {
        return Ok(());
    };
    for entry in listing.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "incomplete") {
            std::fs::remove_file(&path).map_err(io(format!("removing {}", path.display())))?;
        }
    }
    Ok(())
}
