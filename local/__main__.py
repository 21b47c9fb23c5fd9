"""`python -m local`: the whole system on this machine (see README, "make run")."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from local.template import ROOT

STATE_DIR = ROOT / ".local"


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _engine_note(engine: str) -> str:
    if engine == "local":
        return "AWS's DynamoDB Local: AWS_ENDPOINT_URL_DYNAMODB for the aws CLI"
    return "moto; DYNAMODB=local make run for AWS's DynamoDB Local"


def _take_the_terminal() -> Callable[[], None]:
    """Make this process the terminal's foreground process group, so that Ctrl-C reaches it alone.
    Otherwise make and `uv run` receive the same SIGINT, and make exits 130 however cleanly the stack
    stops. Returns what gives the terminal back (the shell also takes it back when make ends)."""
    try:
        terminal = sys.stdin.fileno()
        if not os.isatty(terminal):
            return lambda: None
        previous = os.tcgetpgrp(terminal)
        os.setpgid(0, 0)
        _foreground(terminal, os.getpgrp())
    except OSError:
        return lambda: None
    return lambda: _foreground(terminal, previous)


def _foreground(terminal: int, group: int) -> None:
    # A process outside the foreground group that changes it gets SIGTTOU unless it ignores it.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(terminal, group)
    finally:
        signal.signal(signal.SIGTTOU, previous)


def main() -> int:
    port = int(os.environ.get("PORT", "3000"))
    if port_in_use(port):
        print(
            f"Port {port} is in use (another `make run`?). Stop it or run with PORT=<other port>.",
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "WARNING"), format="%(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Metrics are off locally, so every invocation would warn that it has none to publish.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

    if os.environ.get("IAM_CALLS_DIR"):  # pytest --iam: this stack's function calls are checked too
        from checks import iam

        iam.record_to_file(Path(os.environ["IAM_CALLS_DIR"]) / f"calls-{os.getpid()}.jsonl")

    from local import dynamodb_local
    from local.stack import LocalStack

    try:
        dynamodb_local.engine()
    except dynamodb_local.Unavailable as error:
        print(error, file=sys.stderr)
        return 2
    stack = LocalStack(
        port=port,
        state_dir=Path(os.environ.get("LOCAL_STATE_DIR", STATE_DIR)),
        roster_size=int(os.environ.get("ROSTER_SIZE", "600")),
    )
    started = time.monotonic()
    try:
        stack.start()
    except dynamodb_local.Unavailable as error:  # nothing else started yet
        print(error, file=sys.stderr)
        return 2
    base = f"http://127.0.0.1:{port}"
    print(
        f"DirectorMatch local stack ready in {time.monotonic() - started:.1f}s\n"
        f"  Form     {base}/  (the quote form: site/quote-form.html)\n"
        f"  Join     {base}/join  (the physicians' application form: site/director-form.html)\n"
        f"  API      {base}/quote-requests  (POST JSON, e.g. events/quote_request.json)\n"
        f"  Outbox   {base}/_outbox  (files in {stack.outbox.directory})\n"
        f"  moto     {stack.moto_endpoint}/moto-api/  (AWS_ENDPOINT_URL for the aws CLI)\n"
        f"  DynamoDB {stack.dynamodb_endpoint}  ({_engine_note(stack.dynamodb_engine)})\n"
        f"  Roster   {stack.roster_directors} synthetic directors in all 50 states and DC\n"
        f"  Clock    POST {base}/_clock/advance?hours=5 lasts until POST /_clock/reset or a restart\n"
        "Ctrl-C to stop.",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    give_back_terminal = _take_the_terminal()
    try:
        stack.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # Ctrl-C reaches this process twice (from the terminal, and forwarded by `uv run`): a second
        # interrupt must not cut the shutdown short with a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        give_back_terminal()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
