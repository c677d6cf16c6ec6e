#!/usr/bin/env bash
# An OpenClaw-sized request (~41k characters of system prompt, 12 tools)
# against `pincer serve` on the tiny model written with a 64k context: the
# default server's refusal on a machine with less than ~27 GB, and with the
# prefill limit raised the first and second turn's first token and the
# server's peak memory. Figures go to BENCHMARKS.md.
#   bash benches/long_prompt.sh [--chars N] [--raised-gb G]
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
bench_dir="${PINCER_BENCH_DIR:-$target_dir/bench}"
[ -x .venv/bin/python ] || bash scripts/install.sh
cargo build --release --locked --workspace --all-targets
model="$bench_dir/tiny-64k/model.gguf"
[ -f "$model" ] || "$target_dir/release/xtask" tiny-model "$(dirname "$model")" --context 65536 --no-safetensors
.venv/bin/python benches/long_prompt.py --pincer "$target_dir/release/pincer" --model "$model" \
  --out "$bench_dir/long-prompt.json" "$@"
