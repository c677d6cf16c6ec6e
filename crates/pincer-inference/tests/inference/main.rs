//! pincer-inference against real mistral.rs and the generated tiny Qwen3 model.

mod engine;
mod fetch;
mod hub;
mod model_files;
mod tools;

use std::path::PathBuf;

/// One generated model per test binary: a Hugging Face folder with `model.gguf` beside it.
pub fn tiny_model() -> PathBuf {
    xtask::shared_tiny_model().to_path_buf()
}

/// Serves `app` on a free loopback port and returns its base URL (the fake
/// hubs the download tests talk to).
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{address}")
}
