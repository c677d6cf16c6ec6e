"""An OpenClaw-sized agent request against `pincer serve`: a ~41,000-
character system prompt, 12 function tools and `tool_choice: "auto"`, on a
model with a 64k context. Side by side in one run:

  default   the server as shipped: a prompt whose reading on the CPU would
            take more than the prefill memory limit (half the machine's
            memory) is refused before anything streams, as OpenAI's
            `context_length_exceeded` with the length that fits
  raised    the same server with `--prefill-memory-gb` above what the
            prompt needs: the first turn (cold), then the second turn (the
            same system prompt and tools, the first answer and a new
            question), which the prefix cache should make pay only for
            what is new

For each: the prompt tokens, the time to first token (a one-token answer's
whole request, timed by the client) and the server's peak resident memory
(VmHWM) after the request.
"""

import argparse
import tempfile
import time
from pathlib import Path

import openai

from tools import publish, start, tools


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc")


def system_prompt(chars: int) -> str:
    """Sections shaped like an agent framework's system prompt: rules, tool
    notes, workspace files; deterministic, so each server sees the same."""
    parts, n = [], 0
    while sum(len(p) for p in parts) < chars:
        parts.append(
            f"## Section {n}\n\nWhen the owner asks about item {n}, check the workspace notes first, "
            f"prefer the smallest change that works, say what you did, and never send anything out "
            f"without asking. Tool notes {n}: read before you write; list a folder before guessing.\n\n"
        )
        n += 1
    return "".join(parts)[:chars]


def ask(client, model, messages):
    started = time.perf_counter()
    try:
        answer = client.chat.completions.create(
            model=model, messages=messages, tools=tools(), tool_choice="auto", max_tokens=1, temperature=0
        )
    except openai.BadRequestError as refused:
        return {"refused": refused.body, "ms": round(1000 * (time.perf_counter() - started), 1)}
    return {
        "prompt_tokens": answer.usage.prompt_tokens,
        "ms": round(1000 * (time.perf_counter() - started), 1),
        "answer": answer.choices[0].message.content or "",
    }


def session(pincer, model_path, port, extra, system):
    data_dir = tempfile.mkdtemp(prefix="pincer-long-prompt-bench-")
    process, token = start(pincer, model_path, data_dir, port, extra)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=token, max_retries=0, timeout=3600)
        model = client.models.list().data[0].id
        idle = peak_rss_mb(process.pid)
        first_messages = [{"role": "system", "content": system}, {"role": "user", "content": "What is on my list today?"}]
        first = ask(client, model, first_messages)
        first["peak_rss_mb"] = round(peak_rss_mb(process.pid))
        result = {"idle_rss_mb": round(idle), "first_turn": first}
        if "refused" not in first:
            second_messages = first_messages + [
                {"role": "assistant", "content": first["answer"]},
                {"role": "user", "content": "And what is on it tomorrow?"},
            ]
            second = ask(client, model, second_messages)
            second["peak_rss_mb"] = round(peak_rss_mb(process.pid))
            result["second_turn"] = second
        return result
    finally:
        process.terminate()
        process.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pincer", required=True)
    parser.add_argument("--model", required=True, help="a GGUF with a 64k context")
    parser.add_argument("--chars", type=int, default=41_000)
    parser.add_argument("--raised-gb", type=float, default=18.0)
    parser.add_argument("--port", type=int, default=18933)
    parser.add_argument("--out")
    args = parser.parse_args()
    system = system_prompt(args.chars)
    report = {
        "system_prompt_chars": len(system),
        "tools": len(tools()),
        "default": session(args.pincer, args.model, args.port, [], system),
        "raised": session(args.pincer, args.model, args.port + 1, ["--prefill-memory-gb", str(args.raised_gb)], system),
    }
    publish(report, args.out)


if __name__ == "__main__":
    main()
