"""pytest --iam: record every AWS call the functions make during the run (in this process, in
pytest-xdist workers and in local stacks started by the e2e tests), then hold each against the
function's role in the transformed template. A call the role does not allow fails the run, naming
function, action and resource; grants never used are listed for information."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from checks import iam

CALLS_DIR_VARIABLE = "IAM_CALLS_DIR"
ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--iam",
        action="store_true",
        help="record each function's AWS calls and check them against its role (checks/iam.py)",
    )


def _calls_dir(config: pytest.Config) -> Path:
    return Path(os.environ.get(CALLS_DIR_VARIABLE) or ROOT / ".local" / "iam")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--iam"):
        return
    directory = _calls_dir(config)
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) starts afresh
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("calls-*.jsonl"):
            old.unlink()
        os.environ[CALLS_DIR_VARIABLE] = str(directory)  # workers and local stacks inherit it
    iam.record_to_file(directory / f"calls-{os.getpid()}.jsonl")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not config.getoption("--iam") or hasattr(config, "workerinput"):
        return
    from checks.transform import transformed
    from local import template

    calls = iam.read_calls(sorted(_calls_dir(config).glob("calls-*.jsonl")))
    text, ok = iam.report(calls, transformed(), template.parameter_defaults())
    config.stash[_REPORT] = text
    if not ok:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_REPORT = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    text = config.stash.get(_REPORT, None)
    if text:
        terminalreporter.section("IAM: each function's calls against its role")
        terminalreporter.write_line(text)
