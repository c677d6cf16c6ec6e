"""The learning signal through the real binary and the `openai` SDK: a
session with consent on yields scored records, one without consent yields
none, records export and delete (audited), and a judge killed with the
server resumes after a restart without judging a turn twice."""

import json
import os
import signal
import subprocess
import time

from conftest import MODEL_DIR, PINCER_BIN, start_server, stop


def data(data_dir, *args):
    result = subprocess.run([PINCER_BIN, "--data-dir", str(data_dir), "data", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def converse(client, model, questions, **headers):
    """One conversation, resending the history as OpenAI clients do."""
    messages = []
    for question in questions:
        messages.append({"role": "user", "content": question})
        reply = client.chat.completions.create(model=model, messages=messages, max_tokens=5, extra_headers=headers)
        assert reply.choices[0].logprobs is None, "logprobs recorded for training are not sent unasked"
        messages.append({"role": "assistant", "content": reply.choices[0].message.content})
    return messages


def wait_for(condition, what, deadline_s=120.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)  # polling interval while the background judge works, not synchronisation
    raise AssertionError(f"timed out waiting for {what}")


def judged(server):
    with server.db() as db:
        return db.execute("SELECT count(*) FROM trajectories WHERE judged_at_ms IS NOT NULL").fetchone()[0]


def test_consent_on_gives_scored_records_and_consent_off_none(tmp_path):
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        model = server.client().models.list().data[0].id
        assert "never" in data(server.data_dir, "stats") or "no training data" in data(server.data_dir, "stats")
        data(server.data_dir, "consent", "client:e2e-notes", "on")
        named = server.client(default_headers={"x-client-name": "e2e-notes"})
        converse(named, model, ["What is 2+2?", "No, shorter please.", "Thanks, that works."], **{"x-session-id": "notes-1"})
        # A side turn (a title) in the same session is never a record.
        named.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Title this chat"}], max_tokens=3,
            extra_headers={"x-session-id": "notes-1", "x-turn-type": "side"},
        )
        # The SDK's own User-Agent names a client that never consented.
        converse(server.client(), model, ["Hello", "Again"], **{"x-session-id": "other-1"})

        wait_for(lambda: judged(server) == 2, "the judge to score the two answers that have a next state")
        records = [json.loads(line) for line in data(server.data_dir, "export").splitlines()]
        assert [r["source"] for r in records] == ["client:e2e-notes"] * 3, records
        first, second, third = records
        assert first["next_kind"] == "user_reply" and first["next_text"] == "No, shorter please."
        assert third["next_kind"] is None and third["judgment"] is None
        for record in (first, second):
            judgment = record["judgment"]
            assert len(judgment["votes"]) == 3 and judgment["score"] in (-1, 0, 1), judgment
        assert first["tokens"] and all(t["logprob"] <= 0 for t in first["tokens"])
        assert "".join(t["text"] for t in first["tokens"]) == first["response"]
        assert first["consent"]["granted"] is True and first["consent"]["by"] == "cli"
        assert first["prompt"]["messages"][-1]["content"] == "What is 2+2?"
        stats = data(server.data_dir, "stats")
        assert "client:e2e-notes" in stats and "client:openai/python" not in stats, stats

        assert data(server.data_dir, "delete", "--source", "client:e2e-notes").strip() == "deleted 3 records"
        assert data(server.data_dir, "export") == ""
        audit = subprocess.run([PINCER_BIN, "--data-dir", str(server.data_dir), "audit", "export"], capture_output=True, text=True)
        events = [json.loads(line) for line in audit.stdout.splitlines()]
        deletions = [e for e in events if e["action"] == "learning.delete"]
        assert deletions and deletions[-1]["target"] == "client:e2e-notes" and deletions[-1]["details"]["removed"] == 3
        assert any(e["action"] == "learning.consent" and e["decision"] == "granted" for e in events)
    finally:
        stop(server)


def test_a_killed_judge_resumes_without_judging_twice(tmp_path):
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    model = server.client().models.list().data[0].id
    data(server.data_dir, "consent", "client:e2e-kill", "on")
    client = server.client(default_headers={"x-client-name": "e2e-kill", "x-session-id": "kill-1"})
    converse(client, model, ["one", "two", "three", "four", "five"])
    # Killed wherever the judge is: before, during or after its samples.
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)

    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        wait_for(lambda: judged(server) == 4, "the judge to finish after the restart")
        audit = subprocess.run([PINCER_BIN, "--data-dir", str(server.data_dir), "audit", "export"], capture_output=True, text=True)
        targets = [json.loads(line)["target"] for line in audit.stdout.splitlines() if '"learning.judge"' in line]
        assert len(targets) == len(set(targets)), f"a turn was judged twice: {targets}"
        assert len(targets) >= 3, targets
    finally:
        stop(server)
