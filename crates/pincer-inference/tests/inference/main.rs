//! pincer-inference against real mistral.rs and the generated tiny Qwen3 model.

mod engine;
mod hub;
mod model_files;

use std::path::PathBuf;
use std::sync::OnceLock;

/// One generated model per test binary: a Hugging Face folder with `model.gguf` beside it.
pub fn tiny_model() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        xtask::write_tiny_model(dir.path()).expect("generate the tiny model");
        dir
    })
    .path()
    .to_path_buf()
}
