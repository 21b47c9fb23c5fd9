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
    process: subprocess.Popen[str]
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
    port = free_port()
    env = {**os.environ, "PORT": str(port), "LOCAL_STATE_DIR": str(state_dir), "ROSTER_SIZE": "600"}
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C to stop"):
            banner = "".join(lines)
            moto = re.search(r"moto\s+(http://127\.0\.0\.1:\d+)", banner)
            assert moto, banner
            return RunningStack(f"http://127.0.0.1:{port}", moto.group(1), state_dir, process, banner)
    process.kill()
    raise AssertionError("local stack did not start:\n" + "".join(lines))


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
