"""Memory benchmark driver: embedding throughput against sentence-transformers
on the same texts and machine, and hybrid search latency and recall at 10k
and 100k chunks. Prints a Markdown table for BENCHMARKS.md and writes JSON.

    .venv/bin/python benches/memory.py --bench <memory bench binary> [--out DIR]

`benches/memory.sh` builds the binary and runs this.
"""

import argparse
import json
import os
import random
import subprocess
import time
from pathlib import Path


def chunk_texts(model: Path, count: int, words_per_text: int, seed: int = 7) -> list[str]:
    """Chunk-sized texts from the model's own vocabulary (Zipf-weighted), in short sentences."""
    vocab = json.loads((model / "tokenizer.json").read_text())["model"]["vocab"]
    words = [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if len(w) >= 3 and w.isascii() and w.isalpha() and w.islower()]
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        out = []
        while len(out) < words_per_text:
            sentence = [words[min(int(len(words) ** rng.random()) - 1, len(words) - 1)] for _ in range(rng.randint(6, 14))]
            out.extend(sentence[:-1] + [sentence[-1] + "."])
        texts.append(" ".join(out[:words_per_text]))
    return texts


def sentence_transformers_rate(model: Path, texts: list[str], threads: int, batch: int) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    encoder = SentenceTransformer(str(model), device="cpu")
    encoder.encode(texts[:8], batch_size=batch, normalize_embeddings=True)
    start = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=batch, normalize_embeddings=True)
    seconds = time.perf_counter() - start
    assert len(vectors) == len(texts)
    return {"texts": len(texts), "seconds": seconds, "per_second": len(texts) / seconds}


def pincer_rate(bench: str, texts_file: Path, threads: int, batch: int) -> dict:
    out = subprocess.run([bench, "embed", str(texts_file), str(threads), str(batch)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True, help="the memory bench binary")
    parser.add_argument("--out", default=os.path.expanduser("~/.cache/pincer-bench/memory"))
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()
    model = Path(os.environ["PINCER_EMBEDDER"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    texts = chunk_texts(model, args.texts, 180)
    texts_file = out / "chunks.jsonl"
    texts_file.write_text("".join(json.dumps(t) + "\n" for t in texts))
    results = {"embedding": [], "search": []}
    for threads, batch in [(1, 16), (2, 16), (2, 32)]:
        ours = pincer_rate(args.bench, texts_file, threads, batch)
        theirs = sentence_transformers_rate(model, texts, threads, batch)
        results["embedding"].append({"threads": threads, "batch": batch, "pincer": ours, "sentence_transformers": theirs})
        print(f"| {threads} | {batch} | {ours['per_second']:.1f} | {theirs['per_second']:.1f} | {ours['per_second'] / theirs['per_second']:.2f}x |", flush=True)

    if not args.skip_search:
        for chunks, real in [(10_000, 10_000), (100_000, 10_000)]:
            run = subprocess.run([args.bench, "search", str(model), str(chunks), str(real), "200", str(out)], check=True, capture_output=True, text=True)
            figures = json.loads(run.stdout.strip().splitlines()[-1])
            results["search"].append(figures)
            print(
                f"| {chunks:,} | {figures['exact_vec0_ms']['p50']:.2f} / {figures['exact_vec0_ms']['p95']:.2f} "
                f"| {figures['vector_path_ms']['p50']:.2f} / {figures['vector_path_ms']['p95']:.2f} "
                f"| {figures['hybrid_ms']['p50']:.2f} / {figures['hybrid_ms']['p95']:.2f} "
                f"| {figures['hybrid_with_query_embedding_ms']['p50']:.2f} / {figures['hybrid_with_query_embedding_ms']['p95']:.2f} "
                f"| {figures['recall_at_10']:.3f} | {figures['vector_cache_mb']:.1f} | {figures['open_seconds']:.2f} |",
                flush=True,
            )
    (out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
