"""OpenClaw 2026.9.6 itself (from npm, on the Node 24 npm ships) runs an
agent turn with `pincer serve` as its model provider: its request (its
own system prompt, its `read` tool, `tool_choice: "auto"`, streaming with
usage) comes back as a streamed tool call, OpenClaw runs the tool on its
side and replays the call and the result (with the call's id rewritten as
its OpenAI mode does), and the answer Pincer gives from them is the turn's
final text. The tiny model is written with a 64k context, as an agent
framework's prompts need; PINCER_TEST_SCRIPT makes its random weights
write the scripted call (the real template, parser and wire format run).

Environment (set by scripts/test.sh): OPENCLAW_DIR (install.sh put Node 24
and OpenClaw there) and XTASK_BIN (writes the 64k model)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import start_server, stop

OPENCLAW_DIR = Path(os.environ.get("OPENCLAW_DIR", Path.home() / ".cache" / "pincer-tools" / "openclaw"))
XTASK_BIN = os.environ.get("XTASK_BIN", "target/release/xtask")
SECRET = "The secret word is PINCER-42."


def node_bin() -> Path:
    found = sorted(OPENCLAW_DIR.glob("node_modules/node-linux-*/bin"))
    assert found and (OPENCLAW_DIR / "node_modules" / ".bin" / "openclaw").exists(), (
        f"OpenClaw is not installed in {OPENCLAW_DIR}; run `bash scripts/install.sh`"
    )
    return found[0]


@pytest.fixture(scope="module")
def long_context_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-64k")
    subprocess.run([XTASK_BIN, "tiny-model", str(folder), "--context", "65536", "--no-safetensors"], check=True, capture_output=True)
    return folder / "model.gguf"


def openclaw_turn(run: Path, base_url: str, token: str, message: str) -> subprocess.CompletedProcess:
    """One `openclaw agent exec` turn, isolated in `run` (its home, state,
    config and temporary files), with Pincer as its only provider and only
    its `read` tool (plugins off: no channels, no network of its own)."""
    for folder in ("home", "state", "tmp", "workspace"):
        (run / folder).mkdir(parents=True, exist_ok=True)
    (run / "workspace" / "hello.txt").write_text(SECRET + "\n")
    config = {
        "models": {
            "mode": "replace",
            "providers": {
                "pincer": {
                    "baseUrl": f"{base_url}/v1",
                    "apiKey": token,
                    "api": "openai-completions",
                    "timeoutSeconds": 300,
                    "models": [
                        {
                            "id": "pincer-test",
                            "name": "Pincer",
                            "reasoning": False,
                            "input": ["text"],
                            "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                            "contextWindow": 65536,
                            "maxTokens": 4096,
                        }
                    ],
                }
            },
        },
        "agents": {"defaults": {"model": {"primary": "pincer/pincer-test"}}},
        "update": {"checkOnStart": False},
        "telemetry": {"enabled": False},
        "plugins": {"enabled": False},
        "tools": {"allow": ["read"], "toolSearch": False},
    }
    config_path = run / "openclaw.json"
    config_path.write_text(json.dumps(config))
    env = {
        **os.environ,
        "PATH": f"{node_bin()}:{os.environ['PATH']}",
        "HOME": str(run / "home"),
        "OPENCLAW_HOME": str(run / "home"),
        "OPENCLAW_STATE_DIR": str(run / "state"),
        "OPENCLAW_CONFIG_PATH": str(config_path),
        "TMPDIR": str(run / "tmp"),
        "OPENCLAW_NO_AUTO_UPDATE": "1",
        "DO_NOT_TRACK": "1",
        "NO_COLOR": "1",
        "CI": "true",
    }
    openclaw = OPENCLAW_DIR / "node_modules" / ".bin" / "openclaw"
    command = [str(openclaw), "agent", "exec", "--config", str(config_path), "--cwd", str(run / "workspace"),
               "--model", "pincer/pincer-test", "--timeout", "400", "--json", message]
    # OpenClaw spends 15-30 s of CPU starting before its first request.
    return subprocess.run(command, cwd=run / "workspace", env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=520)


def test_an_openclaw_agent_turn_calls_a_tool_through_pincer_and_answers_from_its_result(tmp_path, long_context_model):
    script = tmp_path / "script.json"
    call = {"name": "read", "arguments": {"path": "hello.txt"}}
    script.write_text(
        json.dumps(
            [
                {"when": "tell me the secret word", "say": f"<tool_call>\n{json.dumps(call)}\n</tool_call>"},
                {"when": "PINCER-42", "say": f"The file says: {SECRET}"},
            ]
        )
    )
    server = start_server(tmp_path, long_context_model, "--model-id", "pincer-test", env={"PINCER_TEST_SCRIPT": str(script)})
    try:
        done = openclaw_turn(tmp_path / "openclaw", server.base_url, server.token, "Read hello.txt and tell me the secret word.")
        assert done.returncode == 0, f"openclaw exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{server.log()[-3000:]}"
        result = json.loads(done.stdout)
        assert result["ok"] is True and result["status"] == "ok", result
        assert result["final"] == f"The file says: {SECRET}", result
        assert result["toolSummary"]["tools"] == ["read"], result["toolSummary"]
        assert result["assistantTurns"] == 2, result
        # Pincer saw both requests as one conversation: OpenClaw's system
        # prompt, its question, then the replayed call and its result.
        with server.db() as db:
            rows = db.execute("SELECT role, content FROM messages ORDER BY id").fetchall()
        roles = [role for role, _ in rows]
        assert roles.count("tool") == 1 and roles[-1] == "assistant", roles
        tool_result = next(content for role, content in rows if role == "tool")
        assert SECRET in tool_result, tool_result
    finally:
        stop(server)
