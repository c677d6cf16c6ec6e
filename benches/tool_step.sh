#!/usr/bin/env bash
# What one tool step (call parsed → gate → run → result back in the prompt)
# adds to a turn of the agent's own chat, against the same turn answered
# directly, in one `pincer serve` on the tiny model. Figures go to
# BENCHMARKS.md.
#   bash benches/tool_step.sh [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prepare.sh
model="$target_dir/tiny-model/model.gguf"
[ -f "$model" ] || "$target_dir/release/xtask" tiny-model "$(dirname "$model")"
.venv/bin/python benches/tool_step.py --pincer "$target_dir/release/pincer" --model "$model" \
  --out "$bench_dir/tool-step.json" "$@"
