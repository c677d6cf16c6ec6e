//! Downloads against a loopback server laid out like the Hugging Face hub.

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use pincer_inference::hub::{self, HubConfig, HubFile};
use pincer_inference::InferenceError;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A fake hub: serves `body` for any file, advertising `advertised_sha`.
struct FakeHub {
    body: Vec<u8>,
    advertised_sha: String,
    ranges_seen: Mutex<Vec<String>>,
}

async fn resolve(
    State(hub): State<Arc<FakeHub>>,
    UrlPath((_org, _name, _rev, _file)): UrlPath<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut response = match &range {
        Some(range) => {
            hub.ranges_seen.lock().expect("lock").push(range.clone());
            let spec = range.trim_start_matches("bytes=");
            let (start, end) = spec.split_once('-').expect("range");
            let start: usize = start.parse().expect("start");
            let end: usize = if end.is_empty() {
                hub.body.len() - 1
            } else {
                end.parse().expect("end")
            };
            if start >= hub.body.len() {
                return StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            }
            let mut r =
                (StatusCode::PARTIAL_CONTENT, hub.body[start..=end].to_vec()).into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{}", hub.body.len())
                    .parse()
                    .expect("hv"),
            );
            r
        }
        None => (StatusCode::OK, hub.body.clone()).into_response(),
    };
    let h = response.headers_mut();
    h.insert("x-repo-commit", COMMIT.parse().expect("hv"));
    h.insert(
        "x-linked-etag",
        format!("\"{}\"", hub.advertised_sha).parse().expect("hv"),
    );
    response
}

async fn start(hub: Arc<FakeHub>) -> String {
    crate::serve(
        Router::new()
            .route("/{org}/{name}/resolve/{rev}/{*file}", get(resolve))
            .with_state(hub),
    )
    .await
}

fn payload() -> (Vec<u8>, String) {
    let body: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let sha = hex::encode(Sha256::digest(&body));
    (body, sha)
}

fn file() -> HubFile {
    HubFile {
        repo: "org/model-GGUF".into(),
        revision: "main".into(),
        file: "model-Q4_K_M.gguf".into(),
        sha256: None,
    }
}

#[tokio::test]
async fn a_download_lands_in_the_hub_cache_layout_and_is_reused() {
    let (body, sha) = payload();
    let hub_state = Arc::new(FakeHub {
        body: body.clone(),
        advertised_sha: sha.clone(),
        ranges_seen: Mutex::new(vec![]),
    });
    let cache = tempfile::tempdir().expect("temp");
    let config = HubConfig {
        endpoint: start(hub_state).await,
        cache_dir: cache.path().into(),
        offline: false,
    };
    let mut last = (0, None);
    let path = hub::download(&config, &file(), &mut |done, total| last = (done, total))
        .await
        .expect("download");
    assert_eq!(std::fs::read(&path).expect("read"), body);
    assert_eq!(
        last,
        (body.len() as u64, Some(body.len() as u64)),
        "progress reaches the total"
    );
    let repo = cache.path().join("models--org--model-GGUF");
    assert!(
        repo.join("blobs").join(&sha).is_file(),
        "blobs are named by their SHA-256, as the hub cache does"
    );
    assert_eq!(
        path,
        repo.join("snapshots")
            .join(COMMIT)
            .join("model-Q4_K_M.gguf")
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).expect("ref"),
        COMMIT
    );
    // Offline, the cached copy is still found.
    let offline = HubConfig {
        offline: true,
        ..config
    };
    assert_eq!(
        hub::download(&offline, &file(), &mut |_, _| {})
            .await
            .expect("cached"),
        path
    );
}

#[tokio::test]
async fn an_interrupted_download_resumes_from_where_it_stopped() {
    let (body, sha) = payload();
    let hub_state = Arc::new(FakeHub {
        body: body.clone(),
        advertised_sha: sha.clone(),
        ranges_seen: Mutex::new(vec![]),
    });
    let cache = tempfile::tempdir().expect("temp");
    let blobs = cache.path().join("models--org--model-GGUF/blobs");
    std::fs::create_dir_all(&blobs).expect("blobs");
    std::fs::write(blobs.join(format!("{sha}.incomplete")), &body[..100_000]).expect("partial");
    let config = HubConfig {
        endpoint: start(Arc::clone(&hub_state)).await,
        cache_dir: cache.path().into(),
        offline: false,
    };
    let path = hub::download(&config, &file(), &mut |_, _| {})
        .await
        .expect("resume");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        body,
        "the resumed file must equal the original"
    );
    let ranges = hub_state.ranges_seen.lock().expect("lock").clone();
    assert!(
        ranges.contains(&"bytes=100000-".to_string()),
        "only the missing bytes are asked for: {ranges:?}"
    );
    assert!(!blobs.join(format!("{sha}.incomplete")).exists());
}

#[tokio::test]
async fn a_corrupted_download_is_rejected_and_removed() {
    let (body, _) = payload();
    let wrong = hex::encode(Sha256::digest(b"something else"));
    let hub_state = Arc::new(FakeHub {
        body,
        advertised_sha: wrong.clone(),
        ranges_seen: Mutex::new(vec![]),
    });
    let cache = tempfile::tempdir().expect("temp");
    let config = HubConfig {
        endpoint: start(hub_state).await,
        cache_dir: cache.path().into(),
        offline: false,
    };
    let error = hub::download(&config, &file(), &mut |_, _| {})
        .await
        .expect_err("must fail");
    assert!(
        matches!(&error, InferenceError::ChecksumMismatch { expected, .. } if *expected == wrong),
        "{error}"
    );
    let blobs = cache.path().join("models--org--model-GGUF/blobs");
    let left: Vec<_> = std::fs::read_dir(&blobs).expect("blobs").collect();
    assert!(
        left.is_empty(),
        "nothing corrupt may stay in the cache: {left:?}"
    );
    assert!(hub::cached(&config, &file()).is_none());
}

#[tokio::test]
async fn offline_without_a_cached_copy_says_how_to_proceed() {
    let cache = tempfile::tempdir().expect("temp");
    let config = HubConfig {
        endpoint: "http://127.0.0.1:9".into(),
        cache_dir: cache.path().into(),
        offline: true,
    };
    let error = hub::download(&config, &file(), &mut |_, _| {})
        .await
        .expect_err("offline");
    assert!(matches!(error, InferenceError::Offline { .. }));
    assert!(error.to_string().contains("--model"), "{error}");
}

#[tokio::test]
async fn a_download_the_disk_cannot_hold_is_refused_before_writing() {
    // A real filesystem too small for the file and its margin.
    let small = tempfile::tempdir().expect("temp");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(small.path())
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: cannot mount a small filesystem here (needs root or CAP_SYS_ADMIN): {mounted:?}");
        return;
    }
    let (body, sha) = payload();
    let hub_state = Arc::new(FakeHub {
        body,
        advertised_sha: sha,
        ranges_seen: Mutex::new(vec![]),
    });
    let config = HubConfig {
        endpoint: start(hub_state).await,
        cache_dir: small.path().into(),
        offline: false,
    };
    let refused = hub::download(&config, &file(), &mut |_, _| {}).await;
    let _ = std::process::Command::new("umount")
        .arg(small.path())
        .status();
    let message = refused.expect_err("refused").to_string();
    assert!(
        message.contains("needs") && message.contains("free") && message.contains("resumes"),
        "{message}"
    );
}
