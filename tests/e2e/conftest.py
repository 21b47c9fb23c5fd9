"""The end-to-end tests' local stack: `python -m local` (what `make run` runs) on free ports,
started by local/launch.py with a 600-director roster."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from local.launch import ROOT, RunningStack, start

__all__ = [
    "ACCEPT",
    "ROOT",
    "ROSTER_SIZE",
    "RunningStack",
    "email_text",
    "local_stack",
    "own_stack",
    "start_stack",
]

# An offer email's accept link, as labelled: "Accept at $1,450 a month", or "Accept" for a director
# with no fee schedule.
ACCEPT = r"Accept(?: at \$[\d,]+ a month)?"
# The synthetic roster every test stack loads (ops.roster.synthetic, seed 7).
ROSTER_SIZE = 600


def start_stack(state_dir: Path) -> RunningStack:
    return start(state_dir, {"ROSTER_SIZE": str(ROSTER_SIZE)})


@contextmanager
def own_stack(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[RunningStack]:
    """A stack started in a fresh state folder `name`, stopped when the block ends."""
    stack = start_stack(tmp_path_factory.mktemp(name))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with own_stack(tmp_path_factory, "local-stack") as stack:
        yield stack


def email_text(stack: RunningStack, entry: Mapping[str, Any]) -> str:
    """The text part of an outbox email, as the recipient's mail client shows it."""
    status, _, raw = stack.request("GET", f"/_outbox/{entry['file']}")
    assert status == 200
    message = message_from_bytes(raw, policy=policy.default)
    return str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
