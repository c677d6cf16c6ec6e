#!/usr/bin/env bash
# Three-way benchmark (in-process mistral.rs, `pincer serve`, llama.cpp) on a
# Qwen3-0.6B-shaped random-weight model in Q4_K_M and Q8_0, plus a 64-client
# load run. Figures go to BENCHMARKS.md. Takes 20-40 minutes on 2 cores, most
# of it building llama.cpp once (llama-cpp-python compiles it from source).
#   bash benches/compare.sh [--threads N] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prepare.sh
.venv/bin/python -c 'import llama_cpp.server' 2>/dev/null || \
  CMAKE_ARGS="-DGGML_NATIVE=ON" .venv/bin/python -m pip install -q 'llama-cpp-python[server]==0.3.36'
"$target_dir/release/xtask" tiny-model "$bench_dir/tiny"
[ -f "$bench_dir/qwen3-0.6b/model.gguf" ] || \
  "$target_dir/release/xtask" tiny-model "$bench_dir/qwen3-0.6b" --shape qwen3-0.6b --gguf-type f16 --no-safetensors
.venv/bin/python benches/compare.py --pincer "$target_dir/release/pincer" \
  --f16 "$bench_dir/qwen3-0.6b/model.gguf" --tiny "$bench_dir/tiny/model.gguf" \
  --out "$bench_dir/results.json" "$@"
