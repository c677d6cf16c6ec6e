#!/usr/bin/env bash
# README command 1: install what is needed, build, and start Pincer.
#  - With a display (DISPLAY or WAYLAND_DISPLAY set): the desktop app, which
#    also serves the OpenAI-compatible API on 127.0.0.1:18789 (Settings).
#  - Without one, or with --serve: `pincer serve` on loopback, with the same
#    UI in the browser at the address it prints. Other arguments go to
#    `pincer serve`, e.g. --model ~/models/Qwen3-4B-Instruct-2507-Q4_K_M.gguf
#    (without --model, the catalog's default model is downloaded on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
npm run --silent ui:build
cargo build --release --locked --workspace --all-targets
target_dir="${CARGO_TARGET_DIR:-target}"
# Secrets live in the OS keychain. With no Secret Service on the session
# bus (a server, a container), start one: the keyring's password is asked
# once per start, or read from PINCER_KEYRING_PASSWORD.
if [ "${PINCER_VAULT:-keychain}" = "keychain" ] && ! gdbus call --session --dest org.freedesktop.secrets \
    --object-path /org/freedesktop/secrets --method org.freedesktop.DBus.Peer.Ping >/dev/null 2>&1; then
  exec bash scripts/keyring-session.sh bash "$0" "$@"
fi
serve=0
if [ "${1:-}" = "--serve" ]; then serve=1; shift; fi
if [ $serve -eq 0 ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$target_dir/release/pincer-desktop"
fi
echo "API token (for Authorization: Bearer ...): $("$target_dir/release/pincer" token)"
exec "$target_dir/release/pincer" serve --ui ui/dist "$@"
