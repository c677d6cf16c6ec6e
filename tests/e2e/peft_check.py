"""Is a Pincer adapter a real PEFT adapter? Loads it with the `peft` package
on the Hugging Face `transformers` model of the same base, scores the tokens
Pincer served under that adapter, and compares.

Pincer records every consented turn with the token ids it served and their
log-probabilities (mistral.rs with the adapter merged in). This script
rebuilds the prompt with the model's own chat template, teacher-forces the
served tokens through PEFT's model, and reports the largest gap between the
two, and how far the adapter moves PEFT's log-probabilities from the bare
base (so a match cannot come from an adapter that does nothing).

    python tests/e2e/peft_check.py --model MODEL_DIR --db DATA_DIR/pincer.db [--trajectory ID]

The end-to-end test `test_train.py` runs it on the adapter a real training
round wrote.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer


@dataclass
class Comparison:
    """PEFT's log-probabilities of the served tokens against Pincer's."""

    tokens: int
    max_gap: float
    adapter_effect: float
    peft: list[float]
    served: list[float]


def chat_ids(tokenizer, messages: list[dict]) -> list[int]:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if hasattr(ids, "keys"):  # transformers 5 returns an encoding
        ids = ids["input_ids"]
    return list(ids)


def answer_logprobs(model, prompt: list[int], answer: list[int]) -> list[float]:
    ids = torch.tensor([prompt + answer])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return [logprobs[len(prompt) - 1 + i, token].item() for i, token in enumerate(answer)]


def compare(model_dir: Path, adapter_dir: Path, messages: list[dict], tokens: list[dict]) -> Comparison:
    """Scores `tokens` (Pincer's `{id, logprob}` records) after `messages`
    with PEFT's model carrying the adapter, and with the adapter disabled."""
    if not (adapter_dir / "adapter_config.json").is_file():
        raise SystemExit(f"{adapter_dir} has no adapter_config.json; pass a Pincer adapter folder")
    if any(t.get("id") is None for t in tokens):
        raise SystemExit("the turn was recorded without token ids; record a new one")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter_dir)
    model.eval()
    prompt = chat_ids(tokenizer, messages)
    answer = [t["id"] for t in tokens]
    adapted = answer_logprobs(model, prompt, answer)
    with model.disable_adapter():
        bare = answer_logprobs(model, prompt, answer)
    served = [t["logprob"] for t in tokens]
    return Comparison(
        tokens=len(answer),
        max_gap=max(abs(a - s) for a, s in zip(adapted, served)),
        adapter_effect=max(abs(a - b) for a, b in zip(adapted, bare)),
        peft=adapted,
        served=served,
    )


def recorded_turn(db: Path, trajectory: int | None) -> tuple[Path, list[dict], list[dict]]:
    """The adapter, prompt messages and tokens of a recorded turn (the
    newest one served with an adapter, unless an id is given)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        query = "SELECT adapter, prompt, tokens FROM trajectories WHERE adapter IS NOT NULL"
        row = (
            connection.execute(query + " AND id = ?", (trajectory,)).fetchone()
            if trajectory is not None
            else connection.execute(query + " ORDER BY id DESC LIMIT 1").fetchone()
        )
    if row is None:
        raise SystemExit(f"{db} holds no recorded turn served with an adapter")
    adapter, prompt, tokens = row
    return Path(adapter), json.loads(prompt)["messages"], json.loads(tokens)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the base model's Hugging Face folder")
    parser.add_argument("--db", type=Path, required=True, help="Pincer's pincer.db")
    parser.add_argument("--trajectory", type=int, help="a recorded turn's id (default: the newest with an adapter)")
    parser.add_argument("--tolerance", type=float, default=5e-3, help="largest allowed gap, nats")
    args = parser.parse_args()
    adapter, messages, tokens = recorded_turn(args.db, args.trajectory)
    result = compare(args.model, adapter, messages, tokens)
    print(
        f"{result.tokens} tokens: PEFT vs Pincer max gap {result.max_gap:.2e} nats; "
        f"the adapter moves PEFT's logprobs by up to {result.adapter_effect:.2e}"
    )
    ok = result.max_gap <= args.tolerance and result.adapter_effect > 2 * args.tolerance
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
