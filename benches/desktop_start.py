#!/usr/bin/env python3
"""Cold start to an interactive window, and idle resident memory with no
model loaded, of the desktop app under Xvfb; beside it, the same UI in web
mode (`pincer serve` + Chromium showing the page) as the memory peer.

"Interactive" is the UI's first IPC call reaching the Rust side (the window
is drawn, its script ran, IPC answered): the app prints a line then when
PINCER_STARTUP_PROBE is set. Memory is VmRSS summed over the process tree
(WebKitGTK renders in child processes), read after 5 s idle.

Usage (from the repo root, after scripts/test.sh built everything):
  xvfb-run -a -s "-screen 0 1920x1080x24" dbus-run-session -- \
    python3 benches/desktop_start.py --runs 5
"""
import argparse, json, os, re, signal, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def tree_rss_kb(pid):
    """VmRSS of pid and all its descendants, in kB."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    total, stack, names = 0, [pid], []
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        rss = re.search(r"VmRSS:\s+(\d+)", status)
        if rss:
            total += int(rss.group(1))
            names.append(re.search(r"Name:\s+(\S+)", status).group(1))
        stack.extend(children.get(p, []))
    return total, names


def wait_line(proc, pattern, timeout):
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stderr.fileno(), False)
    buffered = b""
    while time.monotonic() < deadline:
        chunk = proc.stderr.read()
        if chunk:
            buffered += chunk
            match = re.search(pattern, buffered)
            if match:
                return time.monotonic(), match
        elif proc.poll() is not None:
            raise RuntimeError(f"exited early: {buffered.decode(errors='replace')}")
        time.sleep(0.005)
    raise RuntimeError(f"timed out; output: {buffered.decode(errors='replace')}")


def desktop_run():
    data = tempfile.mkdtemp(prefix="pincer-bench-desktop-")
    Path(data, "settings.json").write_text(json.dumps({"gatewayEnabled": False}))
    env = dict(os.environ, PINCER_DATA_DIR=data, PINCER_STARTUP_PROBE="1")
    start = time.monotonic()
    proc = subprocess.Popen([str(TARGET / "release" / "pincer-desktop")], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        ready, _ = wait_line(proc, rb"pincer-desktop: interactive", 60)
        time.sleep(5)
        rss, names = tree_rss_kb(proc.pid)
        main_rss, main_anon = tree_rss_kb_single(proc.pid)
        return ready - start, rss, (main_rss, main_anon), names
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def tree_rss_kb_single(pid):
    """VmRSS of one process and its private (anonymous) part, in kB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)), int(re.search(r"RssAnon:\s+(\d+)", status).group(1))


def web_run(chromium):
    data = tempfile.mkdtemp(prefix="pincer-bench-web-")
    # `pincer serve` always loads a model: the 1.4 MB tiny test model.
    model = TARGET / "tiny-model" / "model.gguf"
    server = subprocess.Popen([str(TARGET / "release" / "pincer"), "serve", "--model", str(model), "--port", "0",
                               "--data-dir", data, "--ui", str(ROOT / "ui" / "dist")], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    browser = None
    try:
        _, match = wait_line(server, rb"(http://127\.0\.0\.1:\d+/#pair=\S+)", 60)
        url = match.group(1).decode()
        profile = tempfile.mkdtemp(prefix="pincer-bench-chromium-")
        browser = subprocess.Popen([chromium, "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                                    f"--user-data-dir={profile}", f"--app={url}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(8)
        return tree_rss_kb(server.pid)[0], tree_rss_kb(browser.pid)[0]
    finally:
        for p in (browser, server):
            if p:
                p.send_signal(signal.SIGTERM)
                p.wait(10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    starts, totals, mains, anons = [], [], [], []
    for _ in range(args.runs):
        seconds, rss, (main_rss, main_anon), names = desktop_run()
        starts.append(seconds)
        totals.append(rss / 1024)
        mains.append(main_rss / 1024)
        anons.append(main_anon / 1024)
    print(f"desktop app, {args.runs} runs: cold start to interactive median {statistics.median(starts)*1000:.0f} ms "
          f"(min {min(starts)*1000:.0f}, max {max(starts)*1000:.0f})")
    print(f"  idle RSS, whole process tree ({', '.join(sorted(set(names)))}): median {statistics.median(totals):.0f} MB; "
          f"main process alone {statistics.median(mains):.0f} MB, of which private (anonymous) {statistics.median(anons):.0f} MB")
    web = [web_run(args.chromium) for _ in range(min(args.runs, 3))]
    server = statistics.median(s for s, _ in web) / 1024
    browser = statistics.median(b for _, b in web) / 1024
    print(f"peer, the same UI in web mode: pincer serve (tiny model) {server:.0f} MB + Chromium --app {browser:.0f} MB "
          f"= {server + browser:.0f} MB idle RSS (memory only; its start is not comparable)")


if __name__ == "__main__":
    sys.exit(main())
