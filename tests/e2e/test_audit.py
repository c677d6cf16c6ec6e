"""The audit chain through the real binary: refused requests are recorded
(without the token they carried), and a hand edit of the database file makes
`pincer audit verify` fail naming the record."""

import json
import sqlite3
import subprocess
import urllib.error
import urllib.request

from conftest import MODEL_DIR, PINCER_BIN, start_server, stop


def request(url, headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"{}" if "control" in url else None, headers=headers), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as error:
        return error.code


def audit(data_dir, *args):
    return subprocess.run([PINCER_BIN, "--data-dir", str(data_dir), "audit", *args], capture_output=True, text=True)


def test_refusals_are_audited_and_tampering_is_named(tmp_path):
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    canary = "sk-canary-7f3a9c1e5b2d4f60"
    try:
        assert request(server.base_url + "/v1/models", {}) == 401
        assert request(server.base_url + "/v1/models", {"Authorization": f"Bearer {canary}"}) == 401
        foreign = {"Authorization": f"Bearer {server.token}", "Origin": "https://evil.example", "Content-Type": "application/json"}
        assert request(server.base_url + "/api/control/app_info", foreign) == 403
        assert request(server.base_url + "/v1/models", {"Authorization": f"Bearer {server.token}"}) == 200
        exported = audit(server.data_dir, "export")
        assert exported.returncode == 0, exported.stderr
    finally:
        stop(server)

    records = [json.loads(line) for line in exported.stdout.splitlines()]
    denied = [(r["action"], r["details"].get("reason") or r["details"].get("origin")) for r in records if r["decision"] == "denied"]
    assert ("gateway.auth", "missing token") in denied
    assert ("gateway.auth", "wrong token") in denied
    assert ("gateway.origin", "https://evil.example") in denied
    assert canary not in exported.stdout, "a presented token is never written to the audit log"
    assert server.token not in exported.stdout
    assert all(r["prev_hash"] == p["hash"] for p, r in zip(records, records[1:]))
    # Each export is itself audited: the second one lists the first.
    csv = audit(server.data_dir, "export", "--format", "csv")
    lines = csv.stdout.splitlines()
    assert csv.returncode == 0 and len(lines) == 1 + len(records) + 1, lines
    assert '"audit.export","jsonl"' in lines[-1]

    verified = audit(server.data_dir, "verify")
    assert verified.returncode == 0 and f"{len(records) + 2} records verified" in verified.stdout, verified.stdout + verified.stderr

    with sqlite3.connect(server.data_dir / "pincer.db") as db:
        (original,) = db.execute("SELECT decision FROM audit_log WHERE seq = 2").fetchone()
        db.execute("UPDATE audit_log SET decision = 'allowed' WHERE seq = 2")
    broken = audit(server.data_dir, "verify")
    assert broken.returncode == 1
    assert "broken at record 2" in broken.stderr and "edited" in broken.stderr, broken.stderr

    # Put back, then wiped whole: nothing in the file disagrees any more,
    # but the anchor the keychain keeps does.
    with sqlite3.connect(server.data_dir / "pincer.db") as db:
        db.execute("UPDATE audit_log SET decision = ? WHERE seq = 2", (original,))
    assert audit(server.data_dir, "verify").returncode == 0
    with sqlite3.connect(server.data_dir / "pincer.db") as db:
        db.executescript("DELETE FROM audit_log; DELETE FROM audit_checkpoints;")
    wiped = audit(server.data_dir, "verify")
    assert wiped.returncode == 1 and "the log was deleted" in wiped.stderr, wiped.stdout + wiped.stderr


def test_a_cut_tail_is_named_by_the_cli(tmp_path):
    """The keychain anchor follows the head: the newest records cut off
    with every checkpoint that covered them still fail `pincer audit verify`."""
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        for _ in range(3):
            assert request(server.base_url + "/v1/models", {}) == 401
        assert request(server.base_url + "/v1/models", {"Authorization": f"Bearer {server.token}"}) == 200
    finally:
        stop(server)
    assert audit(server.data_dir, "verify").returncode == 0
    with sqlite3.connect(server.data_dir / "pincer.db") as db:
        (head,) = db.execute("SELECT max(seq) FROM audit_log").fetchone()
        assert head > 3, head
        db.execute("DELETE FROM audit_log WHERE seq > ?", (head - 3,))
        db.execute("DELETE FROM audit_checkpoints WHERE seq > ?", (head - 3,))
    cut = audit(server.data_dir, "verify")
    assert cut.returncode == 1, cut.stdout + cut.stderr
    assert f"records {head - 2}..{head} were deleted (the newest 3 records are missing)" in cut.stderr, cut.stderr
