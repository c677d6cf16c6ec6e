"""The first chat turn after start, with and without the chat's shared start
read ahead, side by side: two fresh `pincer serve` runs on the same model,
one API-only (nothing read ahead) and one with `--ui` (the soul, skill
catalog and tool schemas are read into the engine at start). Each answers
one question through the control API as the web UI sends it, once the
server is ready (and, with `--ui`, once its log says the read ahead ended).
Reported: the prompt tokens, the tokens the engine already held, and the
time to the first token as the client sees it; the read ahead's own time
from its log line. Rounds alternate the two conditions.
"""

import argparse
import json
import re
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from tools import publish, start

READ = re.compile(r"shared start is read ahead.*?seconds=([0-9.]+)")


def first_turn(port, token, text):
    """Sends `text` as a new chat; returns (ms to the first text, stats)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/control/send_message",
        data=json.dumps({"request": {"sessionId": None, "text": text, "maxTokens": 4}}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    first_text, stats = None, None
    with urllib.request.urlopen(request, timeout=1800) as stream:
        for line in stream:
            item = json.loads(line)
            if "event" in item and item["event"]["type"] == "delta" and first_text is None:
                first_text = 1000 * (time.perf_counter() - started)
            elif "result" in item:
                stats = item["result"]["stats"]
            elif "error" in item:
                raise SystemExit(f"the turn failed: {item['error']}")
    return first_text or 1000 * (time.perf_counter() - started), stats


def run(args, ahead, port):
    data_dir = tempfile.mkdtemp(prefix="pincer-read-ahead-")
    extra = ["--ui", args.ui] if ahead else []
    process, token = start(args.pincer, args.model, data_dir, port, extra)
    try:
        read_seconds = None
        if ahead:
            log = Path(data_dir) / "serve.log"
            for _ in range(18_000):
                found = READ.search(re.sub(r"\x1b\[[0-9;]*m", "", log.read_text()))
                if found:
                    read_seconds = float(found.group(1))
                    break
                time.sleep(0.1)  # polling the log for the read ahead's end
            else:
                raise SystemExit("the read ahead never ended")
        ms, stats = first_turn(port, token, "What is on my list today?")
        return {
            "first_token_ms": round(ms, 1),
            "prompt_tokens": stats["promptTokens"],
            "cached_prompt_tokens": stats["cachedPromptTokens"],
            "read_ahead_s": read_seconds,
        }
    finally:
        process.terminate()
        process.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pincer", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--ui", required=True, help="the built UI folder (ui/dist)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=18_641)
    parser.add_argument("--out")
    args = parser.parse_args()
    results = {"cold": [], "read_ahead": []}
    for _ in range(args.rounds):
        results["cold"].append(run(args, False, args.port))
        results["read_ahead"].append(run(args, True, args.port + 1))
    report = {
        "model": args.model,
        "rounds": args.rounds,
        "runs": results,
        "median_first_token_ms": {
            name: statistics.median(r["first_token_ms"] for r in runs) for name, runs in results.items()
        },
    }
    publish(report, args.out)


if __name__ == "__main__":
    main()
