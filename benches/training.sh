#!/usr/bin/env bash
# Training benchmark: Pincer's candle LoRA trainer against PyTorch + PEFT on
# a Qwen3-0.6B-shaped random-weight model (safetensors, f32), rank 16 on
# every projection, one 256-token sequence a step, 2 threads each; seconds
# per step, tokens per second and peak memory. About 10 minutes on 2 cores.
#   bash benches/training.sh [--steps N] [--sequence N] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/install.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
bench_dir="${PINCER_BENCH_DIR:-$CARGO_TARGET_DIR/bench}"
# The release build of every target (the test suite's), so nothing is rebuilt
# under another profile; the bench binary is found in its output.
bench="$(cargo build --release --locked --workspace --all-targets --message-format=json 2>/dev/null \
  | .venv/bin/python -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "training" and "bench" in m["target"]["kind"] and m.get("executable")][0])')"
[ -f "$bench_dir/qwen3-0.6b-st/model.safetensors" ] || \
  "$CARGO_TARGET_DIR/release/xtask" tiny-model "$bench_dir/qwen3-0.6b-st" --shape qwen3-0.6b
.venv/bin/python benches/training.py --bench "$bench" --model "$bench_dir/qwen3-0.6b-st" \
  --out "$bench_dir/training.json" "$@"
