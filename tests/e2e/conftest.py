"""Starts the local stack (`python -m local`, what `make run` runs) on free ports for end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningStack:
    base_url: str
    moto_endpoint: str
    state_dir: Path
    process: subprocess.Popen[bytes]
    banner: str

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 - loopback only
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def outbox(self) -> list[dict[str, Any]]:
        status, _, data = self.request("GET", "/_outbox.json")
        assert status == 200
        entries: list[dict[str, Any]] = json.loads(data)
        return entries


def start_stack(state_dir: Path) -> RunningStack:
    """Start `python -m local` with its output in state_dir/stack.log (a file never blocks the stack
    the way an unread pipe does), and wait for its banner."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "LOCAL_STATE_DIR": str(state_dir), "ROSTER_SIZE": "600"}
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "stack.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        output = log_path.read_text()
        if "Ctrl-C to stop" in output:
            banner = output[: output.index("Ctrl-C to stop")]
            moto = re.search(r"moto\s+(http://127\.0\.0\.1:\d+)", banner)
            assert moto, banner
            return RunningStack(f"http://127.0.0.1:{port}", moto.group(1), state_dir, process, banner)
        time.sleep(0.1)
    process.kill()
    raise AssertionError("local stack did not start:\n" + log_path.read_text()[-5000:])


def stop_stack(stack: RunningStack) -> None:
    stack.process.terminate()
    try:
        stack.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        stack.process.kill()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    stop_stack(stack)
