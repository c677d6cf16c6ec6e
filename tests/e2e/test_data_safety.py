"""The owner's data survives the machine: a full disk while serving, a
damaged database and a lost write-ahead log caught at start, backups taken
on schedule, verified, refused when changed, and restored.

The full-disk test mounts a real size-limited tmpfs as the data folder; it
is skipped, with the reason, where the machine does not allow mounting.
"""

import hashlib
import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import openai
import pytest

from conftest import MODEL_DIR, PINCER_BIN, start_server, stop
from test_learning import wait_for


def pincer(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PINCER_BIN, "--data-dir", str(data_dir), *args], capture_output=True, text=True, timeout=120
    )


def health(server) -> dict:
    with urllib.request.urlopen(server.base_url + "/health", timeout=10) as response:
        return json.loads(response.read())


def ask(server, text: str, session: str | None = None):
    headers = {"x-session-id": session} if session else {}
    return server.client().chat.completions.create(
        model=server.client().models.list().data[0].id,
        messages=[{"role": "user", "content": text}],
        max_tokens=4,
        extra_headers=headers,
    )


def desktop_send(server, text: str) -> list[dict]:
    """The desktop's send_message through the control API (JSON lines)."""
    request = urllib.request.Request(
        f"{server.base_url}/api/control/send_message",
        data=json.dumps({"request": {"sessionId": None, "text": text, "maxTokens": 4}}).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return [json.loads(line) for line in response.read().splitlines() if line.strip()]


def messages(data_dir: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(data_dir / "pincer.db") as db:
        return [row[0] for row in db.execute("SELECT content FROM messages WHERE role = 'user' ORDER BY id")]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start_or_refusal(tmp_path: Path, cause: str):
    """Starts `pincer serve` on a damaged data folder: it either refuses to
    start, naming `cause` and the way out (None), or comes up with /health
    saying `damaged` for that cause (the server, still running)."""
    try:
        server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    except (AssertionError, subprocess.CalledProcessError) as refused_start:
        said = f"{refused_start} {getattr(refused_start, 'stderr', '')}"
        assert cause in said and "pincer backup restore" in said, said
        return None
    shown = health(server)
    if shown["status"] != "damaged" or cause not in shown["store"]["cause"]:
        stop(server)
        raise AssertionError(f"damage not reported on /health: {shown}")
    assert "pincer backup restore" in shown["store"]["cause"], shown
    return server


class SmallDisk:
    """A tmpfs of `megabytes` mounted at `path`; unmounted by `close`."""

    def __init__(self, path: Path, megabytes: int):
        path.mkdir(parents=True, exist_ok=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)], capture_output=True, text=True
        )
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a small filesystem here ({mounted.stderr.strip()}); needs root or CAP_SYS_ADMIN")
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        block = b"\x5a" * (64 * 1024)
        with open(self.filler, "wb") as out:
            try:
                while True:
                    out.write(block)
                    out.flush()
            except OSError:
                pass

    def free(self) -> None:
        self.filler.unlink()

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


def test_a_full_disk_is_named_over_the_api_and_the_desktop_and_saving_resumes(tmp_path):
    disk = SmallDisk(tmp_path / "data", 48)
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        ask(server, "saved before the disk filled")
        desktop = desktop_send(server, "saved from the desktop before")
        assert "error" not in desktop[-1], desktop[-1]
        before = messages(server.data_dir)
        assert before == ["saved before the disk filled", "saved from the desktop before"], before

        disk.fill()
        # SQLite may still find room in pages it holds: ask until one is refused.
        refused = None
        for i in range(200):
            try:
                answer = ask(server, f"while the disk is full {i} " + "x" * 4000)
            except openai.APIStatusError as error:
                refused = error
                break
            # An answer that came but could not be kept says so; the next is refused.
            if answer.model_extra["pincer"]["saved"] is False:
                assert "is full" in answer.model_extra["pincer"]["notSaved"], answer.model_extra["pincer"]
        assert refused is not None, "no chat was refused on a full disk"
        assert refused.status_code == 507, refused
        assert "is full" in refused.message and str(server.data_dir) in refused.message, refused.message
        assert refused.body["code"] == "not_saved", refused.body

        shown = health(server)
        assert shown["status"] == "degraded" and "is full" in shown["store"]["cause"], shown

        desktop = desktop_send(server, "sent from the desktop while full")
        assert "error" in desktop[-1] and "is full" in desktop[-1]["error"]["message"], desktop[-1]

        disk.free()
        answer = ask(server, "saved after space came back")
        assert answer.model_extra["pincer"]["saved"] is True
        assert health(server)["status"] == "ok"
        desktop = desktop_send(server, "saved from the desktop after")
        assert "error" not in desktop[-1], desktop[-1]
        after = messages(server.data_dir)
        assert after[:2] == before, "nothing saved before the disk filled is lost"
        assert after[-2:] == ["saved after space came back", "saved from the desktop after"], after
        assert "sent from the desktop while full" not in after
        checked = pincer(server.data_dir, "doctor", "--check")
        assert checked.returncode == 0 and "integrity:        ok" in checked.stdout, checked.stdout + checked.stderr
    finally:
        stop(server)
        disk.close()


def test_damage_is_caught_at_start_and_a_restore_brings_back_every_record_up_to_the_backup(tmp_path):
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        for i in range(3):
            ask(server, f"kept by the backup {i}")
        taken = pincer(server.data_dir, "backup", "now")
        assert taken.returncode == 0, taken.stderr
        ask(server, "after the backup")
    finally:
        stop(server)
    data_dir = tmp_path / "data"
    listed = pincer(data_dir, "backup", "list")
    assert listed.returncode == 0 and "(manual)" in listed.stdout, listed.stdout + listed.stderr
    verified = pincer(data_dir, "backup", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout + verified.stderr

    # Four kilobytes overwritten inside the database.
    database = data_dir / "pincer.db"
    with open(database, "r+b") as file:
        file.seek(4096 * 3)
        file.write(os.urandom(4096))
    damaged = sha(database)

    # Caught at start: either the server comes up saying so and refuses to
    # chat, or (when the damage is in what start-up reads) it refuses to start.
    server = start_or_refusal(tmp_path, "damaged")
    if server:
        try:
            with pytest.raises(openai.APIStatusError) as refused:
                ask(server, "while damaged")
            assert refused.value.status_code == 507 and "damaged" in refused.value.message, refused.value.message
            assert "damaged" in server.log(), server.log()
        finally:
            stop(server)
    assert sha(database) == damaged, "the damaged file is kept as it was"
    doctor = pincer(data_dir, "doctor")
    assert doctor.returncode == 1 and "DAMAGED" in doctor.stdout, doctor.stdout + doctor.stderr

    restored = pincer(data_dir, "backup", "restore", "latest")
    assert restored.returncode == 0, restored.stderr
    aside = Path(restored.stdout.split("kept in ")[1].strip())
    assert sha(aside / "pincer.db") == damaged, "the replaced file is kept aside"
    assert messages(data_dir) == [f"kept by the backup {i}" for i in range(3)]
    audit = pincer(data_dir, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    listed = pincer(data_dir, "audit", "list", "--limit", "5")
    assert "backup.restore" in listed.stdout, listed.stdout + listed.stderr
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        assert health(server)["status"] == "ok"
        ask(server, "after the restore")
    finally:
        stop(server)


def test_a_changed_backup_is_refused_and_nothing_is_touched(tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        ask(server, "one")
        assert pincer(data_dir, "backup", "now").returncode == 0
    finally:
        stop(server)
    backup = next((data_dir / "backups").iterdir())
    copy = backup / "pincer.db"
    raw = bytearray(copy.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    copy.write_bytes(bytes(raw))
    before = messages(data_dir)

    verified = pincer(data_dir, "backup", "verify", backup.name)
    assert verified.returncode == 1 and "changed since it was taken" in verified.stderr, verified.stderr
    restored = pincer(data_dir, "backup", "restore", backup.name)
    assert restored.returncode == 1 and "nothing was changed" in restored.stderr, restored.stderr
    assert messages(data_dir) == before
    assert not (data_dir / "replaced").exists(), "nothing was moved aside"


def test_a_lost_write_ahead_log_is_caught_at_start(tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        for i in range(3):
            ask(server, f"only in the write-ahead log {i}")
        # An audited action beside the server (its record lands in the
        # write-ahead log too), then the CLI anchors the head in the keychain.
        stored = subprocess.run(
            [PINCER_BIN, "--data-dir", str(data_dir), "secrets", "set", "provider/bench"],
            input="not-a-real-key-0123456789\n", capture_output=True, text=True, timeout=120,
        )
        assert stored.returncode == 0, stored.stderr
        assert pincer(data_dir, "audit", "verify").returncode == 0
        server.process.kill()
        server.process.wait()
    finally:
        if server.process.poll() is None:
            stop(server)
    wal = data_dir / "pincer.db-wal"
    assert wal.exists() and wal.stat().st_size > 0
    wal.unlink()
    (data_dir / "pincer.db-shm").unlink(missing_ok=True)

    # Caught at start: the server says so on /health, or refuses to start
    # (start-up itself needs to write), naming the loss and the way out.
    server = start_or_refusal(tmp_path, "records it had saved are gone")
    if server:
        stop(server)
    doctor = pincer(data_dir, "doctor")
    assert doctor.returncode == 1 and "records it had saved are gone" in doctor.stdout, doctor.stdout + doctor.stderr


def test_a_daily_backup_is_taken_by_the_schedule(tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        ask(server, "a first conversation")
        # A new database is not backed up at its first start.
        assert not (data_dir / "backups").exists() or not any((data_dir / "backups").iterdir())
    finally:
        stop(server)
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        def daily():
            listed = pincer(data_dir, "backup", "list")
            return "(daily)" in listed.stdout

        wait_for(daily, "the schedule's daily backup", deadline_s=60)
        verified = pincer(data_dir, "backup", "verify", "latest")
        assert verified.returncode == 0, verified.stderr
        assert "a first conversation" in messages_in_backup(data_dir)
    finally:
        stop(server)


def messages_in_backup(data_dir: Path) -> list[str]:
    import sqlite3

    latest = sorted((data_dir / "backups").iterdir())[-1]
    scratch = data_dir.parent / "scratch.db"
    shutil.copy(latest / "pincer.db", scratch)
    with sqlite3.connect(scratch) as db:
        return [row[0] for row in db.execute("SELECT content FROM messages WHERE role = 'user'")]
