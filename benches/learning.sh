#!/usr/bin/env bash
# The learning signal's cost to an answer (consent off vs on vs answering
# while the judge samples), side by side in one `pincer serve` on the
# generated tiny model, or the model in PINCER_LEARNING_MODEL (the
# Qwen3-0.6B-shaped Q4_K_M that benches/compare.sh writes). A few minutes
# on 2 cores for the tiny model. Figures go to BENCHMARKS.md.
#   [PINCER_LEARNING_MODEL=…gguf] bash benches/learning.sh [--rounds N] [--max-tokens N]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prepare.sh
model="${PINCER_LEARNING_MODEL:-}"
if [ -z "$model" ]; then
  "$target_dir/release/xtask" tiny-model "$bench_dir/tiny"
  model="$bench_dir/tiny/model.gguf"
fi
.venv/bin/python benches/learning.py --pincer "$target_dir/release/pincer" --model "$model" \
  --out "$bench_dir/learning-$(basename "$model" .gguf).json" "$@"
