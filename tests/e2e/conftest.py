"""The end-to-end tests' local stack: `python -m local` (what `make run` runs) on free ports,
started by local/launch.py with a 600-director roster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local.launch import ROOT, RunningStack, start

__all__ = ["ROOT", "RunningStack", "local_stack", "start_stack"]


def start_stack(state_dir: Path) -> RunningStack:
    return start(state_dir, {"ROSTER_SIZE": "600"})


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    stack.stop()
