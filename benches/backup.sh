#!/usr/bin/env bash
# What a backup of a 1 GB database costs a chat: first-token time of
# streamed answers from `pincer serve` while `pincer backup now` copies the
# database, against the same answers with no backup running, alternating
# round by round. Several minutes on 2 cores (most of it writing the 1 GB
# and its copies). Figures go to BENCHMARKS.md.
#   bash benches/backup.sh [--gigabytes 1] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prepare.sh
"$target_dir/release/xtask" tiny-model "$bench_dir/tiny"
# A throwaway keyring of its own, as the tests use.
export PINCER_KEYRING_PASSWORD="${PINCER_KEYRING_PASSWORD:-pincer-bench-keyring}"
export XDG_DATA_HOME="$(mktemp -d)"
exec bash scripts/keyring-session.sh .venv/bin/python benches/backup.py \
  --pincer "$target_dir/release/pincer" --model "$bench_dir/tiny/model.gguf" \
  --out "$bench_dir/backup.json" "$@"
