#!/usr/bin/env bash
# What tool schemas add to a turn: prompt tokens and time to first token,
# cold and with the prefix cache warm, with and without 12 function tools,
# in one `pincer serve` on the Qwen3-0.6B-shaped random-weight model
# (Q8_0, written here once) or the model in PINCER_TOOLS_MODEL. Figures go
# to BENCHMARKS.md.
#   [PINCER_TOOLS_MODEL=…gguf] bash benches/tools.sh [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prepare.sh
model="${PINCER_TOOLS_MODEL:-$bench_dir/qwen3-0.6b-q8/model.gguf}"
[ -f "$model" ] || "$target_dir/release/xtask" tiny-model "$(dirname "$model")" --shape qwen3-0.6b --no-safetensors
.venv/bin/python benches/tools.py --pincer "$target_dir/release/pincer" --model "$model" \
  --out "$bench_dir/tools-$(basename "$(dirname "$model")").json" "$@"
