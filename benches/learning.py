"""What the learning signal costs an answer, side by side in one `pincer serve`:

  off     a client without training consent (the peer: nothing recorded)
  on      a client with consent: logprobs forced on, tokens collected, the
          turn written to the database with its prompt
  judging consent on, asked once the judge's quiet period after the last
          answer (15 s) is over and it is sampling a backlog: the judge must
          give way (its sample is dropped), after the engine step it is in

Requests alternate between the conditions round by round, so drift hits all
three alike. Reports time to first token and the whole answer (median, p90)
per condition, and how many turns the judge scored per minute when idle.
"""

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import openai


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start(pincer, model, data_dir, port):
    token = subprocess.run([pincer, "token", "--data-dir", data_dir], check=True, capture_output=True, text=True).stdout.strip()
    log = open(Path(data_dir) / "serve.log", "w")
    process = subprocess.Popen([pincer, "serve", "--model", model, "--port", str(port), "--data-dir", data_dir], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return process, token
        except OSError:
            time.sleep(0.2)
    raise SystemExit("pincer serve did not start")


def timed(client, model, messages, max_tokens, headers):
    started = time.perf_counter()
    first = None
    text = []
    stream = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens, stream=True, extra_headers=headers)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if first is None:
                first = time.perf_counter()
            text.append(chunk.choices[0].delta.content)
    end = time.perf_counter()
    return (first or end) - started, end - started, "".join(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pincer", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--quiet-s", type=float, default=15.0, help="the judge's quiet period after an answer")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="pincer-learning-bench-")
    for name in ("bench-on", "bench-judging"):
        subprocess.run([args.pincer, "--data-dir", data_dir, "data", "consent", f"client:{name}", "on"], check=True, capture_output=True)
    process, token = start(args.pincer, args.model, data_dir, args.port)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{args.port}/v1", api_key=token, max_retries=0)
    model = client.models.list().data[0].id
    db = sqlite3.connect(Path(data_dir) / "pincer.db")

    def waiting():
        return db.execute("SELECT count(*) FROM trajectories WHERE next_kind IS NOT NULL AND judged_at_ms IS NULL").fetchone()[0]

    def judged():
        return db.execute("SELECT count(*) FROM trajectories WHERE judged_at_ms IS NOT NULL").fetchone()[0]

    # Judge throughput when idle: a backlog of 6 turns, then nothing else.
    backlog = [{"role": "user", "content": "Start."}]
    for i in range(7):
        _, _, answer = timed(client, model, backlog, args.max_tokens, {"x-client-name": "bench-judging", "x-session-id": "warm"})
        backlog += [{"role": "assistant", "content": answer}, {"role": "user", "content": f"Now step {i}."}]
    time.sleep(args.quiet_s)  # the judge starts after its quiet period; the rate is measured from then
    t0, j0 = time.perf_counter(), judged()
    while waiting() > 0 and time.perf_counter() - t0 < 600:
        time.sleep(0.05)
    idle_rate = (judged() - j0) / max(time.perf_counter() - t0, 1e-9) * 60

    results = {"off": [], "on": [], "judging": []}
    histories = {name: [{"role": "user", "content": "Hello."}] for name in results}
    for round_ in range(args.rounds):
        for name in results:
            headers = {"x-client-name": f"bench-{name}", "x-session-id": f"{name}-{round_ // 5}"}
            history = histories[name] if round_ % 5 else [{"role": "user", "content": "Hello."}]
            if name == "judging":
                # Keep the judge busy: a waiting turn, and wait until it is sampling.
                timed(client, model, [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}, {"role": "user", "content": "z"}],
                      2, {"x-client-name": "bench-judging", "x-session-id": f"feed-{round_}"})
                timed(client, model, [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}, {"role": "user", "content": "again"}],
                      2, {"x-client-name": "bench-judging", "x-session-id": f"feed-{round_}"})
                # Past the quiet period the judge takes the engine; the measured answer interrupts it.
                time.sleep(args.quiet_s + 1.0)
            ttft, total, answer = timed(client, model, history, args.max_tokens, headers)
            results[name].append((ttft, total))
            histories[name] = history + [{"role": "assistant", "content": answer}, {"role": "user", "content": f"And {round_}?"}]

    recorded = dict(db.execute("SELECT source, count(*) FROM trajectories GROUP BY source").fetchall())
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    summary = {
        "model": os.path.basename(args.model),
        "rounds": args.rounds,
        "max_tokens": args.max_tokens,
        "judge_turns_per_minute_idle": round(idle_rate, 1),
        "records": recorded,
        "conditions": {
            name: {
                "ttft_ms_median": round(statistics.median(t for t, _ in rows) * 1000, 1),
                "ttft_ms_p90": round(percentile([t for t, _ in rows], 0.9) * 1000, 1),
                "answer_ms_median": round(statistics.median(a for _, a in rows) * 1000, 1),
                "answer_ms_p90": round(percentile([a for _, a in rows], 0.9) * 1000, 1),
            }
            for name, rows in results.items()
        },
    }
    Path(args.out).write_text(json.dumps(summary, indent=2))
    json.dump(summary, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
