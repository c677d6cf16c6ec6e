"""`pincer train` against a running `pincer serve` on the tiny safetensors
model, with power read from a fixture `/sys/class/power_supply` tree: the
status names each condition, bad input says what to do, and a round killed
with the server (SIGKILL) mid-run resumes from its checkpoint after a
restart and ends with every step done once; the adapter it trained loads
in the `peft` package and scores the tokens Pincer served under it alike."""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import peft_check
from conftest import MODEL_DIR, PINCER_BIN, start_server, stop
from test_learning import converse, data, judged, wait_for


def laptop(root: Path, plugged: bool) -> None:
    supplies = {
        "AC": {"type": "Mains", "online": "1" if plugged else "0"},
        "BAT0": {"type": "Battery", "scope": "System", "status": "Charging" if plugged else "Discharging"},
    }
    for name, fields in supplies.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for field, value in fields.items():
            (root / name / field).write_text(value + "\n")


def train(server, *args, url=None):
    env = {**os.environ, "PINCER_URL": url or server.base_url}
    return subprocess.run(
        [PINCER_BIN, "--data-dir", str(server.data_dir), "train", *args], capture_output=True, text=True, env=env
    )


def status(server):
    result = train(server, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def control(server, command, args):
    """One command of the control API, as the web UI sends it."""
    request = urllib.request.Request(
        f"{server.base_url}/api/control/{command}",
        data=json.dumps(args).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def test_train_cli_names_conditions_refuses_bad_input_and_resumes_after_a_kill(tmp_path):
    power = tmp_path / "power"
    laptop(power, plugged=False)
    # The owner's trainer settings: a learning rate that moves the tiny model
    # visibly in one short round.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "settings.json").write_text(json.dumps({"trainer": {"learningRate": 0.002}}))
    env = {"PINCER_POWER_SUPPLY": str(power)}
    server = start_server(tmp_path, MODEL_DIR, env=env)
    try:
        shown = train(server, "status")
        assert shown.returncode == 0, shown.stderr
        assert "NO  power    on battery (AC offline, BAT0 discharging)" in shown.stdout, shown.stdout
        assert "ok  model" in shown.stdout and "not armed" in shown.stdout, shown.stdout

        refused = train(server, "now")
        assert refused.returncode == 1 and "a round needs at least 20" in refused.stderr, refused.stderr
        bad = train(server, "arm", "--window", "25:00-06:00")
        assert bad.returncode == 1 and "HH:MM-HH:MM" in bad.stderr, bad.stderr
        armed = train(server, "arm", "--window", "00:00-00:00", "--min-idle", "0")
        assert armed.returncode == 0 and "schedule: armed" in armed.stdout, armed.stderr
        assert train(server, "disarm").returncode == 0
        assert status(server)["schedule"]["armed"] is False
        missing = train(server, "rollback", "99")
        assert missing.returncode == 1 and "99" in missing.stderr, missing.stderr
        nobody = train(server, "status", url="http://127.0.0.1:9")
        assert nobody.returncode == 1 and "no Pincer answers at http://127.0.0.1:9" in nobody.stderr, nobody.stderr

        # Feedback to learn from: two conversations with a consenting client,
        # judged in the background.
        data(server.data_dir, "consent", "client:e2e-train", "on")
        client = server.client(default_headers={"x-client-name": "e2e-train"})
        model = client.models.list().data[0].id
        for topic in ("garden", "kitchen"):
            converse(client, model, [f"Tell me about my {topic}, part {i}." for i in range(12)],
                     **{"x-session-id": f"train-{topic}"})
        wait_for(lambda: judged(server) >= 22, "22 judged turns", deadline_s=600)
        assert status(server)["readyRecords"] >= 20
        # The random model judges nearly everything 0 (no signal); the owner's
        # thumbs override it: up on one answer, down on the next.
        with server.db() as db:
            answers = db.execute(
                "SELECT id, message_id FROM trajectories WHERE message_id IS NOT NULL ORDER BY id"
            ).fetchall()
        for trajectory, message in answers:
            thumb = "up" if trajectory % 2 else "down"
            summary = control(server, "give_feedback", {"request": {"messageId": message, "feedback": thumb}})
            assert summary["feedback"] == thumb, summary

        def scored_by_thumbs():
            with server.db() as db:
                scores = dict(db.execute("SELECT id, score FROM trajectories WHERE message_id IS NOT NULL"))
            return all(scores[t] == (1 if t % 2 else -1) for t, _ in answers)

        wait_for(scored_by_thumbs, "the judge to take the owner's thumbs", deadline_s=300)

        # A round, killed with the server after its first checkpoint.
        latest = server.data_dir / "training" / "round" / "checkpoints" / "latest"
        started = train(server, "now", "--detach")
        assert started.returncode == 0, started.stderr
        wait_for(latest.exists, "the first checkpoint", deadline_s=300)
        server.process.kill()
        server.process.wait()
    finally:
        if server.process.poll() is None:
            stop(server)

    server = start_server(tmp_path, MODEL_DIR, env=env)
    try:
        waiting = status(server)
        assert waiting["roundWaiting"] is True, waiting
        records = next(c for c in waiting["conditions"] if c["name"] == "records")
        assert records["detail"] == "a paused round waits to resume"
        finished = train(server, "now")
        assert finished.returncode == 0, finished.stderr
        assert "promoted" in finished.stdout or "rejected" in finished.stdout, finished.stdout
        assert not latest.exists(), "the finished round's folder is gone"

        with server.db() as db:
            (metrics,) = db.execute("SELECT metrics FROM adapters ORDER BY id DESC LIMIT 1").fetchone()
            starts = db.execute("SELECT count(*) FROM audit_log WHERE action = 'training.start'").fetchone()[0]
        steps = [record["step"] for record in json.loads(metrics)["history"]]
        assert steps == list(range(1, len(steps) + 1)) and len(steps) > 1, steps
        assert starts == 1, "the restarted round resumed; it did not start again"

        listed = train(server, "adapters")
        assert listed.returncode == 0 and "v1" in listed.stdout, listed.stdout

        # The adapter is a real PEFT adapter: serve v1, record a turn under it,
        # and PEFT (on transformers) scores the served tokens the same way.
        assert train(server, "rollback", "1").returncode == 0
        client = server.client(default_headers={"x-client-name": "e2e-train", "x-session-id": "peft"})
        client.chat.completions.create(
            model=client.models.list().data[0].id,
            messages=[{"role": "user", "content": "Tell me about my garden, once more."}],
            max_tokens=8,
            temperature=0,
        )
        with server.db() as db:
            (adapter_path,) = db.execute("SELECT path FROM adapters WHERE id = 1").fetchone()
        adapter, messages, tokens = peft_check.recorded_turn(server.data_dir / "pincer.db", None)
        assert adapter == Path(adapter_path) and len(tokens) == 8
        checked = peft_check.compare(MODEL_DIR, adapter, messages, tokens)
        print(f"PEFT vs Pincer: max gap {checked.max_gap:.2e}, adapter effect {checked.adapter_effect:.2e}")
        assert checked.max_gap < 5e-3, (checked.peft, checked.served)
        assert checked.adapter_effect > 4 * checked.max_gap, "the adapter must move the model more than the gap"
        back = train(server, "rollback", "base")
        assert back.returncode == 0, back.stderr
        assert status(server)["serving"] is None
    finally:
        stop(server)
