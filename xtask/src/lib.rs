//! The random-weight Qwen3 test model, as a library so tests can generate
//! their own copy; `cargo xtask tiny-model <dir>` is the command-line face.

pub mod model;
pub mod vocab;

pub use model::{GgufType, Plan, Qwen3Shape};

/// Writes the tiny test model (safetensors folder + `model.gguf` in Q8_0) into `dir`.
pub fn write_tiny_model(dir: &std::path::Path) -> anyhow::Result<()> {
    model::write(&Plan { dir, shape: Qwen3Shape::TINY, seed: 1234, gguf_type: GgufType::Q8_0, write_safetensors: true })
}

/// The tiny model generated once per test binary into a temporary folder
/// (removed when the process ends), shared by every test that needs it.
pub fn shared_tiny_model() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder for the tiny model");
        write_tiny_model(dir.path()).expect("generate the tiny model");
        dir
    })
    .path()
}
