"""The trust base through the real binary and the real Secret Service
(GNOME Keyring, started by scripts/test.sh): the token lives in the
keychain, a canary secret never reaches the disk, the logs or an export,
and a flood of wrong tokens is throttled without flooding the audit log."""

import json
import os
import subprocess
import urllib.error
import urllib.request

from conftest import MODEL_DIR, PINCER_BIN, start_server, stop

CANARY = "canary-c0ffee5e7a1b2c3d4e5f60718293"


def pincer(data_dir, *args, stdin=None):
    return subprocess.run([PINCER_BIN, "--data-dir", str(data_dir), *args], capture_output=True, text=True, input=stdin)


def status_of(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def everything_under(folder):
    text = ""
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                text += f.read().decode("utf-8", errors="replace")
    return text


def test_secrets_live_in_the_keychain_and_the_canary_never_leaks(tmp_path):
    data_dir = tmp_path / "data"
    stored = pincer(data_dir, "secrets", "set", "provider/canary", stdin=CANARY + "\n")
    assert stored.returncode == 0, stored.stderr
    listed = pincer(data_dir, "secrets", "list")
    assert listed.returncode == 0, listed.stderr
    # The audit anchor follows the log's head from its first record.
    names = [line.split()[0] for line in listed.stdout.splitlines() if not line.startswith("audit-anchor")]
    assert names == ["gateway-token", "master-key", "provider/canary"], listed.stdout
    assert CANARY not in listed.stdout
    refused = pincer(data_dir, "secrets", "set", "master-key", stdin="x")
    assert refused.returncode != 0 and "managed by Pincer" in refused.stderr

    # The token is an item of the real keychain, not a file.
    vault_id = (data_dir / "vault-id").read_text().strip()
    found = subprocess.run(["secret-tool", "search", "--all", "service", f"pincer:{vault_id}"], capture_output=True, text=True)
    assert "username = gateway-token" in found.stdout + found.stderr, found
    assert not (data_dir / "gateway-token").exists()

    (data_dir / "workspace").mkdir(parents=True, exist_ok=True)
    (data_dir / "notes").mkdir()
    (data_dir / "notes" / "keys.md").write_text(f"# Keys\n\nThe canary key is {CANARY}.\n")
    server = start_server(tmp_path, MODEL_DIR / "model.gguf", "-v")
    try:
        client = server.client()
        model = client.models.list().data[0].id
        for prompt in [f"Repeat this exactly: {CANARY}", f"Spell it out: {' '.join(CANARY)}", "What is the canary key?"]:
            answer = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": prompt}], max_tokens=8, extra_headers={"x-session-id": "leak"}
            )
            assert answer.choices[0].message.content is not None
        added = pincer(data_dir, "memory", "add", str(data_dir / "notes"))
        assert added.returncode == 0, added.stderr
        hits = pincer(data_dir, "memory", "search", "canary key")
        assert hits.returncode == 0 and "[REDACTED:provider/canary]" in hits.stdout, hits.stdout + hits.stderr
        export = pincer(data_dir, "audit", "export", "--format", "jsonl")
        assert export.returncode == 0, export.stderr
    finally:
        stop(server)
    (data_dir / "notes" / "keys.md").unlink()  # the owner's own file may hold it; nothing Pincer wrote may
    assert CANARY not in everything_under(data_dir), "the canary reached a file Pincer wrote"
    assert CANARY not in server.log(), "the canary reached the log"
    assert CANARY not in export.stdout
    records = [json.loads(line) for line in export.stdout.splitlines()]
    places = {r["target"] for r in records if r["action"] == "leak.redacted"}
    assert {"prompt", "messages"} <= places, places
    assert any(p.startswith("memory: ") for p in places), places
    verified = pincer(data_dir, "audit", "verify")
    assert verified.returncode == 0 and "signed up to record" in verified.stdout, verified.stdout + verified.stderr


def test_a_flood_of_wrong_tokens_is_throttled_and_audited_once(tmp_path):
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        codes = [status_of(server.base_url + "/v1/models", f"wrong-{n}")[0] for n in range(13)]
        assert codes == [401] * 10 + [429] * 3, codes
        code, headers = status_of(server.base_url + "/v1/models", "wrong-again")
        assert code == 429 and 1 <= int(headers["Retry-After"]) <= 60, headers
        assert status_of(server.base_url + "/v1/models", server.token)[0] == 200, "the owner is not locked out"
        export = pincer(server.data_dir, "audit", "export")
    finally:
        stop(server)
    records = [json.loads(line) for line in export.stdout.splitlines() if line]
    auth = [r["decision"] for r in records if r["action"] == "gateway.auth"]
    assert auth == ["denied"] * 10 + ["throttled"], auth
