#!/usr/bin/env bash
# README command 1: install what is needed, build, and start `pincer serve` on
# loopback (127.0.0.1:18789). Extra arguments go to `pincer serve`, e.g.
#   bash scripts/start.sh --model ~/models/Qwen3-4B-Instruct-2507-Q4_K_M.gguf
# Without --model, the catalog's default model is downloaded on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
cargo build --release --locked --workspace --all-targets
target_dir="${CARGO_TARGET_DIR:-target}"
echo "API token (for Authorization: Bearer ...): $("$target_dir/release/pincer" token)"
exec "$target_dir/release/pincer" serve "$@"
