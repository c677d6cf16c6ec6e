#!/usr/bin/env bash
# Runs a command inside a D-Bus session with an unlocked GNOME Keyring
# (the Secret Service Pincer's vault uses), for machines with no desktop
# session: CI, containers, headless servers.
#   bash scripts/keyring-session.sh <command> [args...]
# The keyring password comes from PINCER_KEYRING_PASSWORD; without it a
# terminal is asked once (tests set a throwaway one). The keyring lives in
# ~/.local/share/keyrings, encrypted with that password.
set -euo pipefail
if [ -z "${PINCER_KEYRING_PASSWORD:-}" ]; then
  if [ -t 0 ]; then
    read -r -s -p "Password to unlock (or create) your login keyring: " PINCER_KEYRING_PASSWORD
    echo
  else
    echo "error: no keyring is running and no terminal to ask for its password; set PINCER_KEYRING_PASSWORD, or PINCER_VAULT=env (README, Headless servers)" >&2
    exit 1
  fi
fi
export PINCER_KEYRING_PASSWORD
exec dbus-run-session -- bash -c '
  printf %s "$PINCER_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  unset PINCER_KEYRING_PASSWORD
  exec "$@"' keyring-session "$@"
