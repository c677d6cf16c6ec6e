"""First-token time of a chat while a backup of a large database runs.

  none     streamed answers from `pincer serve`, nothing else running (the peer)
  backup   the same answers while `pincer backup now` copies the database
           (SQLite's backup API on its own connection, one read transaction)

The database is grown to the size asked for with conversations of random
text first. Each round takes one backup and asks as many questions during
it as fit, then the same number with no backup; the conditions alternate so
drift hits both alike. Reports median and p90 first-token and whole-answer
times, and each backup's size and duration.
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import openai


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def grow(db_path: Path, gigabytes: float) -> int:
    """Adds conversations of random text until the file is `gigabytes` big."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode = WAL")
    target = int(gigabytes * 1e9)
    now = int(time.time())
    rows = 0
    while db_path.stat().st_size < target:
        with db:
            for _ in range(20):
                session = str(uuid.uuid4())
                db.execute(
                    "INSERT INTO sessions (id, source, title, created_at, updated_at) VALUES (?, 'bench', 'bench', ?, ?)",
                    (session, now, now),
                )
                for position in range(50):
                    db.execute(
                        "INSERT INTO messages (session_id, position, role, content, created_at) VALUES (?, ?, ?, ?, ?)",
                        (session, position, "user" if position % 2 == 0 else "assistant", os.urandom(5000).hex(), now),
                    )
                    rows += 1
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return rows


def start(pincer, model, data_dir, port):
    token = subprocess.run([pincer, "token", "--data-dir", data_dir], check=True, capture_output=True, text=True).stdout.strip()
    log = open(Path(data_dir).parent / "serve.log", "w")
    process = subprocess.Popen(
        [pincer, "serve", "--model", model, "--port", str(port), "--data-dir", data_dir], stdout=log, stderr=subprocess.STDOUT
    )
    for _ in range(1200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return process, token
        except OSError:
            time.sleep(0.2)  # polling while the server starts, not synchronisation
    raise SystemExit("pincer serve did not start")


def timed(client, model, question, max_tokens):
    started = time.perf_counter()
    first = None
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}], max_tokens=max_tokens, stream=True
    )
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter()
    end = time.perf_counter()
    return ((first or end) - started) * 1000, (end - started) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pincer", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--port", type=int, default=18941)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="pincer-backup-bench-"))
    data_dir = root / "data"
    subprocess.run([args.pincer, "--data-dir", str(data_dir), "token"], check=True, capture_output=True)
    grow_started = time.perf_counter()
    rows = grow(data_dir / "pincer.db", args.gigabytes)
    size = (data_dir / "pincer.db").stat().st_size
    print(f"grew the database to {size / 1e9:.2f} GB ({rows} messages) in {time.perf_counter() - grow_started:.0f} s", flush=True)

    process, token = start(args.pincer, args.model, str(data_dir), args.port)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{args.port}/v1", api_key=token, max_retries=0)
    model = client.models.list().data[0].id
    timed(client, model, "warm up", args.max_tokens)
    results = {"none": {"first": [], "whole": []}, "backup": {"first": [], "whole": []}}
    backups = []
    try:
        for round_index in range(args.rounds):
            shutil.rmtree(data_dir / "backups", ignore_errors=True)
            started = time.perf_counter()
            copying = subprocess.Popen(
                [args.pincer, "--data-dir", str(data_dir), "backup", "now"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            asked = 0
            while copying.poll() is None:
                first, whole = timed(client, model, f"round {round_index} during {asked}", args.max_tokens)
                results["backup"]["first"].append(first)
                results["backup"]["whole"].append(whole)
                asked += 1
            out, err = copying.communicate()
            if copying.returncode != 0:
                raise SystemExit(f"the backup failed: {err}")
            backups.append({"seconds": time.perf_counter() - started, "answers_during": asked, "said": out.strip()})
            print(f"round {round_index}: backup {backups[-1]['seconds']:.1f} s, {asked} answers during it", flush=True)
            for i in range(max(asked, 1)):
                first, whole = timed(client, model, f"round {round_index} alone {i}", args.max_tokens)
                results["none"]["first"].append(first)
                results["none"]["whole"].append(whole)
    finally:
        process.terminate()
        process.wait(timeout=60)
    summary = {
        "database_bytes": size,
        "backups": backups,
        **{
            condition: {
                kind: {"median_ms": statistics.median(values), "p90_ms": percentile(values, 0.9), "n": len(values)}
                for kind, values in figures.items()
            }
            for condition, figures in results.items()
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
