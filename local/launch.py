"""Start the local stack (`python -m local`, what `make run` runs) in a subprocess on free ports.

One launcher for the end-to-end tests, the end-to-end benchmark and `make load`. The stack's output
goes to state_dir/stack.log: a file never blocks the stack the way an unread pipe does.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 120
BANNER_END = "Ctrl-C to stop"
MOTO_LINE = re.compile(r"moto\s+(http://127\.0\.0\.1:\d+)")
DYNAMODB_LINE = re.compile(r"DynamoDB\s+(http://127\.0\.0\.1:\d+)")


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
    # moto's endpoint, or DynamoDB Local's when the stack runs with DYNAMODB=local.
    dynamodb_endpoint: str = ""

    def dynamodb(self) -> Any:
        """A DynamoDB client on the stack's DynamoDB, whichever engine serves it."""
        import boto3

        return boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_endpoint or self.moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - local engines take any key
        )

    @property
    def log_path(self) -> Path:
        return self.state_dir / "stack.log"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of one call to the local API (loopback only); errors included."""
        url = self.base_url + path
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 - loopback only
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def outbox(self, timeout: float = 10) -> list[dict[str, Any]]:
        """Every email the stack has sent (GET /_outbox.json)."""
        status, _, data = self.request("GET", "/_outbox.json", timeout=timeout)
        if status != 200:
            raise RuntimeError(f"/_outbox.json answered {status}")
        entries: list[dict[str, Any]] = json.loads(data)
        return entries

    def stop(self, timeout: float = 15) -> None:
        stop_process(self.process, timeout)


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def start(state_dir: Path, variables: dict[str, str] | None = None) -> RunningStack:
    """Start the stack with `variables` added to this environment (e.g. ROSTER_SIZE, SWEEP_SECONDS,
    MOTO_AS_SHIPPED, DYNAMODB; see local/__main__.py), on a free port, and wait for its banner. An
    endpoint or profile set in this shell is dropped: the stack's functions must reach its own moto
    (and its own DynamoDB Local with DYNAMODB=local, inherited from this environment)."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "LOCAL_STATE_DIR": str(state_dir), **(variables or {})}
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
        "AWS_PROFILE",
    ):
        env.pop(name, None)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "stack.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        output = log_path.read_text()
        moto = MOTO_LINE.search(output)
        if BANNER_END in output and moto:
            banner = output[: output.index(BANNER_END)]
            dynamodb = DYNAMODB_LINE.search(banner)
            return RunningStack(
                f"http://127.0.0.1:{port}",
                moto.group(1),
                state_dir,
                process,
                banner,
                dynamodb.group(1) if dynamodb else moto.group(1),
            )
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("local stack did not start:\n" + log_path.read_text()[-5000:])
