#!/usr/bin/env bash
# README command 2: the whole test suite. Rust unit and integration tests
# (real SQLite + sqlite-vec, real mistral.rs on a generated model), then the
# end-to-end tests that drive the real `pincer serve` with the official
# OpenAI Python client. Everything builds in one release profile, so the
# mistral.rs tree is compiled once for tests, binaries and benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
target_dir="$(cd "$target_dir" && pwd)"

[ -x .venv/bin/python ] || bash scripts/install.sh

echo "== building (release profile)"
cargo build --release --locked --workspace --all-targets

echo "== generating the tiny Qwen3 test model"
model_dir="$target_dir/tiny-model"
# The binary built above, not `cargo xtask`: a per-package build would
# resolve different features and recompile shared crates.
"$target_dir/release/xtask" tiny-model "$model_dir"

echo "== Rust tests"
cargo test --release --locked --workspace

echo "== end-to-end tests (pincer serve + openai client)"
PINCER_BIN="$target_dir/release/pincer" PINCER_TEST_MODEL="$model_dir" \
  .venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider
