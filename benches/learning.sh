#!/usr/bin/env bash
# The learning signal's cost to an answer (consent off vs on vs answering
# while the judge samples), side by side in one `pincer serve` on the
# generated tiny model. A few minutes on 2 cores. Figures go to BENCHMARKS.md.
#   bash benches/learning.sh [--rounds N] [--max-tokens N]
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
bench_dir="${PINCER_BENCH_DIR:-$target_dir/bench}"
[ -x .venv/bin/python ] || bash scripts/install.sh
cargo build --release --locked --workspace --all-targets
"$target_dir/release/xtask" tiny-model "$bench_dir/tiny"
.venv/bin/python benches/learning.py --pincer "$target_dir/release/pincer" --model "$bench_dir/tiny/model.gguf" \
  --out "$bench_dir/learning.json" "$@"
