"""What tool schemas cost a turn, side by side in one `pincer serve`:

  none    a ~2,000-character system prompt and a question, no tools
  tools   the same with 12 OpenAI function tools (OpenClaw sends 12)

For each condition: the prompt tokens the model's template makes, and the
time to first token (a one-token answer's whole request, timed by the client) on a cold
request (a system prompt never seen) and a warm one (the same system
prompt and tools with the next question, as the next turn sends them, so
the prefix cache holds all but the question). Conditions alternate round by
round so drift hits both alike.
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import openai


def start(pincer, model, data_dir, port, extra=()):
    token = subprocess.run([pincer, "token", "--data-dir", data_dir], check=True, capture_output=True, text=True).stdout.strip()
    log = open(Path(data_dir) / "serve.log", "w")
    command = [pincer, "serve", "--model", model, "--port", str(port), "--data-dir", data_dir, *extra]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return process, token
        except OSError:
            time.sleep(0.2)  # polling while the model loads
    raise SystemExit("pincer serve did not start")


def publish(report, out):
    """Prints a report and keeps it as JSON at `out` (if given)."""
    print(json.dumps(report, indent=2))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=2))


def tools():
    """Twelve function tools shaped like an agent framework's (names, descriptions, object schemas)."""
    shapes = [
        ("read", {"path": "string", "offset": "integer", "limit": "integer"}),
        ("write", {"path": "string", "content": "string"}),
        ("edit", {"path": "string", "old_text": "string", "new_text": "string"}),
        ("exec", {"command": "string", "timeout": "integer", "workdir": "string"}),
        ("process", {"action": "string", "session_id": "string"}),
        ("web_search", {"query": "string", "count": "integer"}),
        ("web_fetch", {"url": "string", "max_chars": "integer"}),
        ("memory_search", {"query": "string", "max_results": "integer"}),
        ("memory_get", {"path": "string", "from": "integer", "lines": "integer"}),
        ("sessions_list", {"limit": "integer"}),
        ("sessions_send", {"session_key": "string", "message": "string"}),
        ("message", {"channel": "string", "to": "string", "text": "string"}),
    ]
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": f"The {name.replace('_', ' ')} tool: does what its name says with the arguments given.",
                "parameters": {
                    "type": "object",
                    "properties": {key: {"type": kind, "description": f"the {key}"} for key, kind in fields.items()},
                    "required": [next(iter(fields))],
                },
            },
        }
        for name, fields in shapes
    ]


def ask(client, model, system, with_tools, question):
    extra = {"tools": tools(), "tool_choice": "none"} if with_tools else {}
    started = time.perf_counter()
    answer = client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
        max_tokens=1,
        temperature=0,
        **extra,
    )
    # A one-token answer: the request's time is the prompt's prefill and
    # the first token (the server's own first-token figure is 0 for an
    # answer that ends at its first token).
    return answer.usage.prompt_tokens, 1000 * (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pincer", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--port", type=int, default=18932)
    parser.add_argument("--out")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="pincer-tools-bench-")
    process, token = start(args.pincer, args.model, data_dir, args.port)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{args.port}/v1", api_key=token, max_retries=0)
        model = client.models.list().data[0].id
        ask(client, model, "warm-up", False, "hello")
        figures = {name: {"tokens": None, "cold": [], "warm": []} for name in ("none", "tools")}
        for round_ in range(args.rounds):
            for name in ("none", "tools") if round_ % 2 == 0 else ("tools", "none"):
                # A system prompt no earlier request had: the first ask is cold.
                system = f"Round {round_} {name}. " + "You are a careful personal assistant; answer briefly. " * 36
                tokens, cold = ask(client, model, system, name == "tools", "What is on my list today?")
                # The next turn: the same system prompt and tools, a new
                # question. (The very same prompt again would not hit:
                # mistral.rs 0.8.1 reuses a cached prefix only when the new
                # prompt goes past it, prefix_cacher.rs.)
                _, warm = ask(client, model, system, name == "tools", "And what is on it tomorrow?")
                figures[name]["tokens"] = tokens
                figures[name]["cold"].append(cold)
                figures[name]["warm"].append(warm)
        report = {}
        for name, f in figures.items():
            report[name] = {
                "prompt_tokens": f["tokens"],
                "ttft_cold_ms_median": round(statistics.median(f["cold"]), 1),
                "ttft_warm_ms_median": round(statistics.median(f["warm"]), 1),
            }
        added = report["tools"]["prompt_tokens"] - report["none"]["prompt_tokens"]
        report["added_prompt_tokens"] = added
        for kind in ("cold", "warm"):
            base = report["none"][f"ttft_{kind}_ms_median"]
            report[f"added_ttft_{kind}_percent"] = round(100 * (report["tools"][f"ttft_{kind}_ms_median"] - base) / base, 1)
        publish(report, args.out)
    finally:
        process.terminate()
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
