#!/usr/bin/env bash
# Runs a command inside a D-Bus session with an unlocked GNOME Keyring
# (the Secret Service Pincer's vault uses), for machines with no desktop
# session: CI, containers, headless servers.
#   bash scripts/keyring-session.sh <command> [args...]
# The keyring password comes from PINCER_KEYRING_PASSWORD; without it a
# terminal is asked once (tests set a throwaway one). The keyring lives in
# ~/.local/share/keyrings, encrypted with that password.
#
# The session's bus starts the keyring itself, unlocked, whenever a client
# asks for the Secret Service: gnome-keyring-daemon has known crashes (a
# client that vanishes mid-request, GNOME gitlab gnome-keyring#196), and a
# desktop restarts it locked, behind a prompt a headless session cannot
# show. Here a restarted daemon comes back unlocked and the next call works.
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
bus_dir="$(mktemp -d)"
trap 'rm -rf "$bus_dir"' EXIT
mkdir "$bus_dir/services"
# The password reaches the daemon through a file only this user can read,
# for as long as the session lasts; the commands run never see it.
( umask 077; printf %s "$PINCER_KEYRING_PASSWORD" > "$bus_dir/password" )
unset PINCER_KEYRING_PASSWORD
cat > "$bus_dir/unlocked-keyring" <<EOF
#!/bin/sh
exec gnome-keyring-daemon --foreground --unlock --components=secrets < "$bus_dir/password" > /dev/null
EOF
chmod 700 "$bus_dir/unlocked-keyring"
cat > "$bus_dir/services/org.freedesktop.secrets.service" <<EOF
[D-BUS Service]
Name=org.freedesktop.secrets
Exec=$bus_dir/unlocked-keyring
EOF
# Our service directory comes first, so it wins over the system's locked one.
cat > "$bus_dir/session.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <servicedir>$bus_dir/services</servicedir>
  <include>/usr/share/dbus-1/session.conf</include>
</busconfig>
EOF
dbus-run-session --config-file="$bus_dir/session.conf" -- bash -c '
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.StartServiceByName string:org.freedesktop.secrets uint32:0 >/dev/null
  exec "$@"' keyring-session "$@"
