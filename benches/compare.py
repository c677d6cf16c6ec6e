"""Three-way inference benchmark and a bounded load run (see BENCHMARKS.md).

Same Qwen3-0.6B-shaped random-weight model, same prompt, same greedy decode,
measured in one run:
  1. mistral.rs in-process      (`pincer bench`)
  2. through the gateway         (`pincer serve`, streamed over HTTP)
  3. llama.cpp                   (llama-cpp-python's server, same HTTP client)
Then 64 concurrent streaming clients against `pincer serve` (tiny model).

Run through benches/compare.sh, which builds and generates what this needs.
"""

import argparse
import ctypes
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

WORDS = ["local", "models", "answer", "questions", "about", "the", "owner's", "notes", "and", "plans", "every", "day"]


def prompt(words: int) -> str:
    """The same text `pincer bench` uses."""
    return " ".join(WORDS[i % len(WORDS)] for i in range(words))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_healthy(url: str, process: subprocess.Popen, deadline: float = 600) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.2)
    raise SystemExit(f"{url} never became ready")


def stream_once(base: str, token: str | None, model: str, text: str, max_tokens: int):
    """One streamed chat completion; returns (ttft_s, decode_s, prompt_tokens, completion_tokens)."""
    body = json.dumps({
        "model": model, "messages": [{"role": "user", "content": text}], "max_tokens": max_tokens,
        "temperature": 0, "stream": True, "stream_options": {"include_usage": True},
    }).encode()
    request = urllib.request.Request(base + "/v1/chat/completions", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    started = time.perf_counter()
    first = last = None
    usage = None
    pieces = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices", []):
                if (choice.get("delta") or {}).get("content"):
                    pieces += 1
                    now = time.perf_counter()
                    first = first or now
                    last = now
    if usage is None:
        # llama-cpp-python's server ignores include_usage: it streams one
        # token per chunk, and a one-token request reports the prompt size.
        usage = {"prompt_tokens": prompt_tokens(base, token, model, text), "completion_tokens": pieces}
    return first - started, last - first, usage["prompt_tokens"], usage["completion_tokens"]


def prompt_tokens(base, token, model, text):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 1}).encode()
    request = urllib.request.Request(base + "/v1/chat/completions", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)["usage"]["prompt_tokens"]


def measure_http(name, base, token, model, pid, words, max_tokens, runs):
    samples = []
    for run in range(runs + 1):
        ttft, decode_s, p_tokens, c_tokens = stream_once(base, token, model, f"run{run} " + prompt(words), max_tokens)
        if run:  # run 0 warms up
            samples.append((ttft, p_tokens / ttft, (c_tokens - 1) / decode_s, p_tokens, c_tokens))
    return {
        "engine": name,
        "prompt_tokens": samples[-1][3],
        "completion_tokens": samples[-1][4],
        "time_to_first_token_ms": statistics.median(s[0] for s in samples) * 1000,
        "prefill_tokens_per_second": statistics.median(s[1] for s in samples),
        "decode_tokens_per_second": statistics.median(s[2] for s in samples),
        "peak_rss_mib": peak_rss_mib(pid),
    }


def quantize(f16: Path, out: Path, ftype: int) -> None:
    import llama_cpp

    if out.exists():
        return
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = os.cpu_count() or 2
    if llama_cpp.llama_model_quantize(str(f16).encode(), str(out).encode(), ctypes.byref(params)) != 0:
        raise SystemExit(f"llama.cpp could not quantize {f16}")


def run_server(command, health_url, env=None):
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{time.time_ns()}.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    wait_healthy(health_url, process)
    return process


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def three_way(args, gguf: Path, scratch: Path):
    results = []
    env = {**os.environ, "RAYON_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1"}
    bench = subprocess.run(
        [args.pincer, "bench", "--model", str(gguf), "--prompt-words", str(args.prompt_words),
         "--max-tokens", str(args.max_tokens), "--runs", str(args.runs)],
        check=True, capture_output=True, text=True, env=env,
    )
    results.append(json.loads(bench.stdout.strip().splitlines()[-1]))

    data_dir = scratch / f"data-{gguf.stem}"
    token = subprocess.run([args.pincer, "token", "--data-dir", str(data_dir)], check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    server = run_server([args.pincer, "serve", "--model", str(gguf), "--port", str(port), "--data-dir", str(data_dir),
                         "--threads", str(args.threads), "--max-running", "1"], f"http://127.0.0.1:{port}/health", env)
    try:
        results.append(measure_http("pincer serve (gateway, HTTP+SSE)", f"http://127.0.0.1:{port}", token, gguf.stem,
                                    server.pid, args.prompt_words, args.max_tokens, args.runs))
    finally:
        stop(server)

    port = free_port()
    llama = run_server([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
                        "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads), "--n_ctx", "2048",
                        "--n_batch", "512"], f"http://127.0.0.1:{port}/v1/models")
    try:
        results.append(measure_http("llama.cpp (llama-cpp-python server)", f"http://127.0.0.1:{port}", None, str(gguf),
                                    llama.pid, args.prompt_words, args.max_tokens, args.runs))
    finally:
        stop(llama)
    return results


def load_run(args, scratch: Path):
    """64 concurrent streaming clients; each completes or gets 503 + Retry-After; none hangs."""
    data_dir = scratch / "data-load"
    token = subprocess.run([args.pincer, "token", "--data-dir", str(data_dir)], check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = run_server([args.pincer, "serve", "--model", str(args.tiny), "--port", str(port), "--data-dir", str(data_dir)],
                        base + "/health")
    outcomes = []
    lock = threading.Lock()

    def client(i):
        try:
            ttft, decode_s, _, c_tokens = stream_once(base, token, "model", f"client {i} says hello", 32)
            outcome = ("completed", ttft + decode_s)
        except urllib.error.HTTPError as error:
            retry = error.headers.get("Retry-After")
            outcome = ("503+retry-after" if error.code == 503 and retry else f"http {error.code}", None)
        except Exception as error:  # noqa: BLE001 - any other failure is a finding
            outcome = (f"error {type(error).__name__}", None)
        with lock:
            outcomes.append(outcome)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    hung = sum(t.is_alive() for t in threads)
    elapsed = time.perf_counter() - started
    with urllib.request.urlopen(base + "/health", timeout=5) as response:
        healthy = json.load(response)
    stop(server)
    counts = {}
    for kind, _ in outcomes:
        counts[kind] = counts.get(kind, 0) + 1
    latencies = sorted(t for kind, t in outcomes if kind == "completed")
    return {
        "clients": 64, "outcomes": counts, "hung": hung, "wall_seconds": elapsed,
        "p50_completed_seconds": latencies[len(latencies) // 2] if latencies else None,
        "max_completed_seconds": latencies[-1] if latencies else None,
        "health_after": healthy, "server_exit_code": server.returncode,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pincer", required=True)
    parser.add_argument("--f16", type=Path, required=True, help="Qwen3-0.6B-shaped f16 GGUF from `xtask tiny-model --shape qwen3-0.6b`")
    parser.add_argument("--tiny", type=Path, required=True, help="the tiny test model's model.gguf, for the load run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-words", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args()
    scratch = args.f16.parent
    report = {"threads": args.threads, "quantizations": {}}
    for name, ftype in [("Q4_K_M", 15), ("Q8_0", 7)]:
        gguf = scratch / f"qwen3-0.6b-{name}.gguf"
        quantize(args.f16, gguf, ftype)
        report["quantizations"][name] = three_way(args, gguf, scratch)
        print(json.dumps({name: report["quantizations"][name]}, indent=1), flush=True)
    report["load_run"] = load_run(args, scratch)
    print(json.dumps({"load_run": report["load_run"]}, indent=1), flush=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
