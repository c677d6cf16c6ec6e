#!/usr/bin/env bash
# The first chat turn after start with the chat's shared start read ahead
# (`pincer serve --ui`, as the desktop app does) against an API-only server
# that reads it with the question. Figures go to BENCHMARKS.md. Needs a
# keyring session (scripts/keyring-session.sh) like the app.
#   bash benches/read_ahead.sh [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prepare.sh
[ -f ui/dist/index.html ] || npm run --silent ui:build
model="$target_dir/tiny-model/model.gguf"
[ -f "$model" ] || "$target_dir/release/xtask" tiny-model "$(dirname "$model")"
.venv/bin/python benches/read_ahead.py --pincer "$target_dir/release/pincer" --model "$model" \
  --ui ui/dist --out "$bench_dir/read-ahead.json" "$@"
