"""Training speed and memory, side by side: Pincer's candle LoRA trainer
(the `training` bench binary) against PyTorch + PEFT on the same model
folder, the same sequence and the same adapter shape, each in a process of
its own so peak memory is its own.

    python benches/training.py --bench BIN --model DIR [--sequence 256] [--response 128]
                               [--steps 3] [--rank 16] [--threads 2] [--out results.json]

One step = forward over the sequence, the binary-RL clipped loss on the
response tokens (score +1; the served logprobs are the policy's own), the
backward pass and an AdamW update on the adapter; one warm-up step is not
counted. The PyTorch side runs in this file (`--peer`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def tokens(sequence: int, vocab: int) -> list[int]:
    # The same ids as the Rust bench: a multiplicative hash of the position.
    return [((i * 2_654_435_761) % 2**32 >> 7) % vocab for i in range(sequence)]


def peer(args) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    base = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model = get_peft_model(
        base, LoraConfig(r=args.rank, lora_alpha=2 * args.rank, target_modules=TARGETS, lora_dropout=0.0)
    )
    load_seconds = time.perf_counter() - started
    loaded_rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, weight_decay=0.0)
    ids = torch.tensor([tokens(args.sequence, base.config.vocab_size)])
    start = args.sequence - args.response
    seconds, forward, backward, update = [], [], [], []
    for step in range(args.steps + 1):
        began = time.perf_counter()
        # Only the positions that predict response tokens get logits, as in Pincer.
        logits = model(input_ids=ids[:, :-1], logits_to_keep=args.sequence - start).logits[0]
        policy = torch.log_softmax(logits.float(), dim=-1).gather(1, ids[0, start:].unsqueeze(1)).squeeze(1)
        served = policy.detach()
        ratio = torch.exp(policy - served)
        advantage = torch.ones_like(policy)
        loss = -torch.minimum(ratio * advantage, ratio.clamp(0.8, 1.28) * advantage).mean()
        forwarded = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        backpropagated = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        if step > 0:
            seconds.append(time.perf_counter() - began)
            forward.append(forwarded - began)
            backward.append(backpropagated - forwarded)
            update.append(time.perf_counter() - backpropagated)
    median = statistics.median(seconds)
    return {
        "engine": f"pytorch {torch.__version__} + peft",
        "sequence_tokens": args.sequence,
        "response_tokens": args.response,
        "rank": args.rank,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "load_seconds": load_seconds,
        "step_seconds": seconds,
        "median_step_seconds": median,
        "forward_seconds": statistics.median(forward),
        "backward_seconds": statistics.median(backward),
        "update_seconds": statistics.median(update),
        "tokens_per_second": args.sequence / median,
        "loaded_rss_bytes": loaded_rss,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def run(command: list[str], threads: int) -> dict:
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", help="the `training` bench binary")
    parser.add_argument("--model", required=True, help="a Qwen3 safetensors folder")
    parser.add_argument("--sequence", type=int, default=256)
    parser.add_argument("--response", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--peer", action="store_true", help="run the PyTorch side here and print its JSON")
    args = parser.parse_args()
    if args.peer:
        print(json.dumps(peer(args)))
        return 0
    shape = [str(args.sequence), str(args.response), str(args.steps), str(args.rank)]
    results = [
        run([args.bench, args.model, *shape], args.threads),
        run(
            [sys.executable, __file__, "--peer", "--model", args.model, "--sequence", shape[0],
             "--response", shape[1], "--steps", shape[2], "--rank", shape[3], "--threads", str(args.threads)],
            args.threads,
        ),
    ]
    print(
        f"{'engine':<28} {'s/step':>7} {'fwd':>6} {'bwd':>6} {'upd':>6} {'tok/s':>7} "
        f"{'loaded':>9} {'peak RSS':>9} {'trainable':>11}"
    )
    for r in results:
        print(
            f"{r['engine']:<28} {r['median_step_seconds']:>7.2f} {r['forward_seconds']:>6.2f} "
            f"{r['backward_seconds']:>6.2f} {r['update_seconds']:>6.2f} {r['tokens_per_second']:>7.1f} "
            f"{r['loaded_rss_bytes'] / 2**30:>6.2f}GiB {r['peak_rss_bytes'] / 2**30:>6.2f}GiB "
            f"{r['trainable_parameters']:>11,}"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
