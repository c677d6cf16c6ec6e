//! pincer-inference against real mistral.rs and the generated tiny Qwen3 model.

mod engine;
mod hub;
mod model_files;

use std::path::PathBuf;

/// One generated model per test binary: a Hugging Face folder with `model.gguf` beside it.
pub fn tiny_model() -> PathBuf {
    xtask::shared_tiny_model().to_path_buf()
}
