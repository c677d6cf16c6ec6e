"""Memory end to end: the embeddings endpoint against sentence-transformers,
and ingestion that survives a kill, through the real `pincer` binary."""

import base64
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import PINCER_BIN

EMBEDDER = os.environ.get("PINCER_EMBEDDER")

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "My dentist appointment is on 3 December at 9:30.",
    "Ünïcödé, emoji 🦀 and CJK 中文 all embed.",
    "short",
    # Longer than the model's 256-token window: both sides truncate the same way.
    " ".join(f"sentence {i} about gardens, tomatoes and watering schedules." for i in range(80)),
]


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    assert EMBEDDER, "PINCER_EMBEDDER must name the all-MiniLM-L6-v2 folder (scripts/test.sh sets it)"
    model = SentenceTransformer(EMBEDDER, device="cpu")
    return model.encode(TEXTS, normalize_embeddings=True)


def embedding_model(server) -> str:
    ids = [m.id for m in server.client().models.list().data]
    assert len(ids) == 2, f"the chat model and the embedder are listed: {ids}"
    return ids[1]


def test_embeddings_match_sentence_transformers(server, reference):
    client = server.client()
    model = embedding_model(server)
    # Left to itself the official client asks for base64 and decodes it; check that and plain floats.
    for encoding in (None, "float", "base64"):
        extra = {"encoding_format": encoding} if encoding else {}
        response = client.embeddings.create(model=model, input=TEXTS, **extra)
        assert [d.index for d in response.data] == list(range(len(TEXTS)))
        if encoding == "base64":
            ours = np.array([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in response.data])
        else:
            ours = np.array([d.embedding for d in response.data], dtype=np.float32)
        assert ours.shape == (len(TEXTS), 384)
        cosines = (ours * reference).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
        assert cosines.min() > 0.999, f"{encoding}: cosines {cosines}"
        assert response.usage.prompt_tokens > len(TEXTS)
    single = client.embeddings.create(model=model, input=TEXTS[1], encoding_format="float")
    assert np.dot(single.data[0].embedding, reference[1]) > 0.999


def test_bad_embedding_requests_say_what_is_wrong(server):
    import openai

    client = server.client()
    model = embedding_model(server)
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.embeddings.create(model=model, input=["fine", "  "])
    with pytest.raises(openai.BadRequestError, match="384-dimensional"):
        client.embeddings.create(model=model, input="x", dimensions=64)


def pincer(data_dir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([PINCER_BIN, "--data-dir", str(data_dir), *args], capture_output=True, text=True, **kwargs)


def counts(db: Path) -> int:
    """Files committed so far; 0 while the database is still being created and migrated."""
    try:
        with sqlite3.connect(db) as c:
            return c.execute("SELECT count(*) FROM memory_files").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_a_kill_mid_ingest_loses_nothing_and_resumes(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    files = 240
    for i in range(files):
        paragraphs = "\n\n".join(f"Paragraph {p} of note {i}: the {('red', 'green', 'blue')[p % 3]} project milestone {i * 7 + p}." for p in range(12))
        (docs / f"note-{i:03}.md").write_text(f"# Note {i}\n\n{paragraphs}\n")
    data = tmp_path / "data"
    db = data / "pincer.db"
    ingest = subprocess.Popen([PINCER_BIN, "--data-dir", str(data), "memory", "add", str(docs)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    committed = 0
    while committed < 20:
        assert ingest.poll() is None, f"ingest ended before it could be killed: {ingest.stderr.read()}"
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.05)  # polling interval while files commit, not synchronisation
        committed = counts(db) if db.exists() else 0
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    before = counts(db)
    assert 20 <= before < files

    # Nothing half-written: every committed file has all its chunks, each with one vector and one keyword row.
    stats = pincer(data, "memory", "stats")
    assert stats.returncode == 0, stats.stderr
    assert '"integrity": "ok"' in stats.stdout, stats.stdout

    resumed = pincer(data, "memory", "sync", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"indexed {files - before} files" in resumed.stdout and f"{before} unchanged" in resumed.stdout, resumed.stdout
    assert counts(db) == files
    final = pincer(data, "memory", "stats")
    assert final.returncode == 0 and '"integrity": "ok"' in final.stdout, final.stdout + final.stderr

    hit = pincer(data, "memory", "search", "milestone 1234")
    assert "note-176.md" in hit.stdout, hit.stdout
