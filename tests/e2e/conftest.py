"""Fixtures that run the real `pincer` binary on the generated tiny model.

Environment (set by scripts/test.sh):
  PINCER_BIN         the built `pincer` executable
  PINCER_TEST_MODEL  the folder `cargo xtask tiny-model` wrote
"""

import os
import socket
import sqlite3
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

PINCER_BIN = os.environ.get("PINCER_BIN", "target/release/pincer")
MODEL_DIR = Path(os.environ.get("PINCER_TEST_MODEL", "target/tiny-model"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `pincer serve`."""

    process: subprocess.Popen
    base_url: str
    token: str
    data_dir: Path
    log_path: Path

    def client(self, **kwargs) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url + "/v1", api_key=self.token, max_retries=0, **kwargs)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "pincer.db")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until_healthy(process: subprocess.Popen, base_url: str, log_path: Path, deadline_s: float = 120.0) -> None:
    """Polls /health until the server answers, failing fast if it exits."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"pincer serve exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)  # polling interval while the model loads, not synchronisation
    raise AssertionError(f"pincer serve did not become healthy:\n{log_path.read_text()}")


def start_server(tmp: Path, model: Path, *extra: str, env: dict | None = None) -> Server:
    data_dir = tmp / "data"
    port = free_port()
    log_path = tmp / "serve.log"
    token = subprocess.run(
        [PINCER_BIN, "token", "--data-dir", str(data_dir)], check=True, capture_output=True, text=True
    ).stdout.strip()
    log = open(log_path, "w")
    process = subprocess.Popen(
        [PINCER_BIN, "serve", "--model", str(model), "--port", str(port), "--data-dir", str(data_dir), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_until_healthy(process, base_url, log_path)
    return Server(process, base_url, token, data_dir, log_path)


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise AssertionError("pincer serve did not stop on SIGTERM")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("gguf"), MODEL_DIR / "model.gguf")
    yield s
    stop(s)
    assert s.process.returncode == 0, f"pincer serve must exit cleanly on SIGTERM:\n{s.log()}"


@pytest.fixture(scope="session")
def model_id(server) -> str:
    return server.client().models.list().data[0].id
