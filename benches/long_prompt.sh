#!/usr/bin/env bash
# An OpenClaw-sized request (~41k characters of system prompt, 12 tools)
# against `pincer serve` on the tiny model written with a 64k context: the
# default server's refusal on a machine with less than ~27 GB, and with the
# prefill limit raised the first and second turn's first token and the
# server's peak memory. Figures go to BENCHMARKS.md.
#   bash benches/long_prompt.sh [--chars N] [--raised-gb G]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prepare.sh
model="$bench_dir/tiny-64k/model.gguf"
[ -f "$model" ] || "$target_dir/release/xtask" tiny-model "$(dirname "$model")" --context 65536 --no-safetensors
.venv/bin/python benches/long_prompt.py --pincer "$target_dir/release/pincer" --model "$model" \
  --out "$bench_dir/long-prompt.json" "$@"
