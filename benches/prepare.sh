# Sourced by the bench scripts, from the repository root: where builds and
# figures go, the Python environment, and the release build of every target
# (the test suite's, so nothing is rebuilt under another profile).
target_dir="${CARGO_TARGET_DIR:-target}"
bench_dir="${PINCER_BENCH_DIR:-$target_dir/bench}"
[ -x .venv/bin/python ] || bash scripts/install.sh
cargo build --release --locked --workspace --all-targets
