"""`make run` in a terminal: the banner, then quiet at the default level while the sweep
runs; Ctrl-C stops it with no traceback and exit status 0 (make included)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import time

import pytest

from local.launch import ROOT, free_port

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def read_until(terminal: int, output: bytearray, done: bytes | None, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (done is None or done not in output):
        ready, _, _ = select.select([terminal], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the other end closed: everything has exited
                return
            if not chunk:
                return
            output += chunk


def test_make_run_is_quiet_and_ctrl_c_stops_it_with_exit_0(tmp_path: os.PathLike[str]) -> None:
    # Given `make run` started in a terminal, with the sweep every second
    variables = {"PORT": str(free_port()), "LOCAL_STATE_DIR": str(tmp_path), "SWEEP_SECONDS": "1"}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: make run, as a person types it
        # A terminal delivers Ctrl-C; a shell that started this run in the background (`cmd &`
        # without job control) left SIGINT ignored, which exec keeps: make run would never stop.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(ROOT)
        for name in ("LOCAL_LOG_LEVEL", "AWS_ENDPOINT_URL", "DYNAMODB", "IAM_CALLS_DIR"):
            os.environ.pop(name, None)
        os.environ.update(variables)
        os.execvp("make", ["make", "run"])  # noqa: S606 - the command a person types
    output = bytearray()
    read_until(terminal, output, b"Ctrl-C to stop", 90)
    assert b"Ctrl-C to stop" in output, output.decode(errors="replace")

    # When it runs for a while with no traffic (a dozen sweeps), then Ctrl-C is pressed
    read_until(terminal, output, None, 12)
    quiet = output.decode(errors="replace")
    os.write(terminal, b"\x03")
    read_until(terminal, output, None, 30)
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")

    # Then the terminal held the banner and little else: no sweep log, no metrics warning
    assert "sweep done" not in quiet
    assert "No application metrics" not in quiet
    assert quiet.count("\n") <= 15, quiet
    # And it stopped cleanly: no traceback, make exits 0
    assert "Traceback" not in text
    assert "Stopped." in text
    assert os.waitstatus_to_exitcode(status) == 0, text
