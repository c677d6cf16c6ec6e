//! Catalog models fetched whole: a sharded safetensors folder from a
//! loopback server laid out like the Hugging Face hub, then loaded by
//! mistral.rs from the hub cache.

use crate::tiny_model;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use pincer_inference::catalog::{CatalogEntry, CatalogFormat};
use pincer_inference::hub::HubConfig;
use pincer_inference::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const COMMIT: &str = "fedcba9876543210fedcba9876543210fedcba98";

/// A repository's files by path; anything else is a 404.
struct FolderHub {
    files: HashMap<String, Vec<u8>>,
    asked: Mutex<Vec<String>>,
}

async fn resolve(
    State(hub): State<Arc<FolderHub>>,
    UrlPath((_org, _name, revision, file)): UrlPath<(String, String, String, String)>,
) -> Response {
    hub.asked
        .lock()
        .expect("lock")
        .push(format!("{revision}:{file}"));
    let Some(body) = hub.files.get(&file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (StatusCode::OK, body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert("x-repo-commit", COMMIT.parse().expect("hv"));
    let sha = hex::encode(Sha256::digest(body));
    headers.insert("x-linked-etag", format!("\"{sha}\"").parse().expect("hv"));
    response
}

async fn serve(hub: Arc<FolderHub>) -> String {
    crate::serve(
        Router::new()
            .route("/{org}/{name}/resolve/{rev}/{*file}", get(resolve))
            .with_state(hub),
    )
    .await
}

/// The tiny model's folder as a hub repository, its weights split in two
/// shards with an index, as large models ship.
fn sharded_tiny_repo() -> HashMap<String, Vec<u8>> {
    let dir = tiny_model();
    let read = |name: &str| std::fs::read(dir.join(name)).expect("tiny model file");
    let mut files: HashMap<String, Vec<u8>> = [
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
    ]
    .iter()
    .map(|name| (name.to_string(), read(name)))
    .collect();
    let weights = read("model.safetensors");
    let tensors = safetensors::SafeTensors::deserialize(&weights).expect("safetensors");
    let mut names: Vec<String> = tensors.names().into_iter().map(str::to_string).collect();
    names.sort();
    let mut weight_map = serde_json::Map::new();
    for (index, part) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let shard = format!("model-0000{}-of-00002.safetensors", index + 1);
        let views: Vec<(String, safetensors::tensor::TensorView)> = part
            .iter()
            .map(|name| (name.clone(), tensors.tensor(name).expect("tensor")))
            .collect();
        files.insert(
            shard.clone(),
            safetensors::serialize(views, None).expect("serialize"),
        );
        for name in part {
            weight_map.insert(name.clone(), shard.clone().into());
        }
    }
    files.insert(
        "model.safetensors.index.json".into(),
        serde_json::json!({ "metadata": {}, "weight_map": weight_map })
            .to_string()
            .into_bytes(),
    );
    files
}

/// A fake hub serving `files`, and a hub cache of its own.
async fn hub_serving(
    files: HashMap<String, Vec<u8>>,
) -> (Arc<FolderHub>, tempfile::TempDir, HubConfig) {
    let hub = Arc::new(FolderHub {
        files,
        asked: Mutex::new(Vec::new()),
    });
    let cache = tempfile::tempdir().expect("temp");
    let config = HubConfig {
        endpoint: serve(Arc::clone(&hub)).await,
        cache_dir: cache.path().into(),
        offline: false,
    };
    (hub, cache, config)
}

fn entry(repo: &'static str) -> CatalogEntry {
    CatalogEntry {
        id: "tiny-sharded",
        repo,
        format: CatalogFormat::Safetensors,
        size_bytes: 1,
        quantization: "as stored",
        min_memory_bytes: 1,
        sha256: None,
        description: "test",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_safetensors_model_is_fetched_whole_and_serves() {
    let files = sharded_tiny_repo();
    let total: u64 = files.values().map(|body| body.len() as u64).sum();
    let (hub, cache, config) = hub_serving(files).await;
    let entry = entry("org/tiny");
    assert_eq!(fetch::cached(&config, &entry), None);
    let mut last = 0;
    let folder = fetch::fetch(&config, &entry, &mut |done, _| last = done)
        .await
        .expect("fetch");
    assert_eq!(last, total, "progress adds up every file");
    assert_eq!(
        folder,
        cache
            .path()
            .join("models--org--tiny/snapshots")
            .join(COMMIT)
    );
    let asked = hub.asked.lock().expect("lock").clone();
    assert_eq!(asked[0], "main:config.json");
    assert!(
        asked
            .iter()
            .filter(|a| !a.ends_with(":config.json"))
            .all(|a| a.starts_with(COMMIT)),
        "after config.json, every file comes from the commit it named: {asked:?}"
    );
    assert_eq!(fetch::cached(&config, &entry), Some(folder.clone()));

    // mistral.rs loads the two shards from the hub cache and generates.
    let engine = Engine::load(
        ModelSource::inspect(&folder).expect("a model folder"),
        EngineOptions::default(),
    )
    .await
    .expect("load");
    let ids = engine.tokenize_text("hello").await.expect("tokenize");
    let scores = engine
        .score(
            &[ChatMessage {
                role: Role::User,
                content: "Hi".into(),
                ..Default::default()
            }],
            &ids,
        )
        .await
        .expect("score");
    assert!(scores.iter().all(|s| s.is_finite() && *s <= 0.0));

    // Offline, the cached folder is enough; a fresh fetch asks nothing.
    let offline = HubConfig {
        offline: true,
        ..config.clone()
    };
    let asked_before = hub.asked.lock().expect("lock").len();
    assert_eq!(
        fetch::fetch(&offline, &entry, &mut |_, _| {})
            .await
            .expect("cached"),
        folder
    );
    assert_eq!(hub.asked.lock().expect("lock").len(), asked_before);
}

#[tokio::test]
async fn a_repository_without_a_tokenizer_or_weights_is_named() {
    let mut files = sharded_tiny_repo();
    files.remove("tokenizer.json");
    let (_hub, _cache, config) = hub_serving(files).await;
    let error = fetch::fetch(&config, &entry("org/broken"), &mut |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("no tokenizer.json"), "{error}");

    let offline = HubConfig {
        offline: true,
        ..config
    };
    let error = fetch::fetch(&offline, &entry("org/elsewhere"), &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(error, InferenceError::Offline { .. }), "{error}");
}
