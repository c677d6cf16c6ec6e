//! Bad model files give one specific error, never a panic.

use crate::tiny_model;
use pincer_inference::{InferenceError, ModelSource};
use std::path::Path;

fn problem(path: &Path) -> String {
    match ModelSource::inspect(path) {
        Err(InferenceError::InvalidModel { problem, .. }) => problem,
        other => panic!(
            "expected InvalidModel for {}, got {other:?}",
            path.display()
        ),
    }
}

#[test]
fn the_generated_model_is_recognised_both_ways() {
    let dir = tiny_model();
    match ModelSource::inspect(&dir.join("model.gguf")).expect("gguf") {
        ModelSource::Gguf {
            architecture,
            quantization,
            ..
        } => {
            assert_eq!(architecture, "qwen3");
            assert_eq!(quantization, "Q8_0", "most bytes are Q8_0 matrices");
        }
        other => panic!("expected GGUF, got {other:?}"),
    }
    assert!(
        matches!(ModelSource::inspect(&dir).expect("folder"), ModelSource::Safetensors { model_type, .. } if model_type == "qwen3")
    );
}

#[test]
fn a_truncated_gguf_is_named_truncated() {
    let scratch = tempfile::tempdir().expect("temp");
    let bytes = std::fs::read(tiny_model().join("model.gguf")).expect("read");
    for cut in [bytes.len() / 2, bytes.len() - 1, 100, 10] {
        let path = scratch.path().join(format!("cut-{cut}.gguf"));
        std::fs::write(&path, &bytes[..cut]).expect("write");
        let message = problem(&path);
        assert!(message.contains("truncated"), "cut at {cut}: {message}");
    }
}

#[test]
fn garbage_empty_and_corrupt_headers_are_refused_cleanly() {
    let scratch = tempfile::tempdir().expect("temp");
    let garbage = scratch.path().join("notes.gguf");
    std::fs::write(&garbage, b"this is a text file, not a model").expect("write");
    assert!(problem(&garbage).contains("not a GGUF file"));
    let empty = scratch.path().join("empty.gguf");
    std::fs::write(&empty, b"").expect("write");
    assert!(problem(&empty).contains("empty"));
    // A header whose first key claims an absurd length must not make us
    // allocate it: a bounds check refuses it first.
    let mut bytes = std::fs::read(tiny_model().join("model.gguf")).expect("read");
    bytes[24..32].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    let corrupt = scratch.path().join("corrupt.gguf");
    std::fs::write(&corrupt, &bytes).expect("write");
    assert!(
        problem(&corrupt).contains("corrupt"),
        "{}",
        problem(&corrupt)
    );
}

#[test]
fn an_unknown_architecture_is_unsupported_not_invalid() {
    let scratch = tempfile::tempdir().expect("temp");
    let mut bytes = std::fs::read(tiny_model().join("model.gguf")).expect("read");
    let needle = b"\x05\x00\x00\x00\x00\x00\x00\x00qwen3";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("architecture value");
    bytes[at + 8..at + 13].copy_from_slice(b"mamba");
    let path = scratch.path().join("mamba.gguf");
    std::fs::write(&path, &bytes).expect("write");
    let error = ModelSource::inspect(&path).expect_err("unsupported");
    assert!(
        matches!(&error, InferenceError::UnsupportedModel { what, .. } if what.contains("mamba")),
        "{error}"
    );
}

#[test]
fn a_truncated_safetensors_folder_is_refused() {
    let scratch = tempfile::tempdir().expect("temp");
    for name in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(tiny_model().join(name), scratch.path().join(name)).expect("copy");
    }
    let weights = std::fs::read(tiny_model().join("model.safetensors")).expect("read");
    std::fs::write(
        scratch.path().join("model.safetensors"),
        &weights[..weights.len() - 4096],
    )
    .expect("write");
    let message = problem(scratch.path());
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn a_missing_path_says_what_to_pass() {
    let error = ModelSource::inspect(Path::new("/nonexistent/model.gguf")).expect_err("missing");
    assert!(matches!(error, InferenceError::ModelNotFound { .. }));
    assert!(error
        .to_string()
        .contains(".gguf file or a Hugging Face model folder"));
}
