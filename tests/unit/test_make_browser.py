"""`make browser` (a step of `make test`): Chromium for the browser tests is there, installed with
apt-get as root, or named in one line with exit status 2 (so make test works on a bare machine)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make_browser(*variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "browser", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_make_browser_does_nothing_when_chromium_is_there(tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    done = make_browser(f"CHROMIUM={chromium}", "APT_GET=false")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_make_browser_installs_chromium_with_apt_as_root(tmp_path: Path) -> None:
    done = make_browser(f"CHROMIUM={tmp_path / 'none'}", "USER_ID=0", "APT_GET=echo apt-get")
    assert done.returncode == 0
    assert "apt-get update -qq\napt-get install -y -qq chromium\n" in done.stdout


def test_make_browser_says_what_to_run_and_exits_2_when_not_root(tmp_path: Path) -> None:
    done = make_browser(f"CHROMIUM={tmp_path / 'none'}", "USER_ID=1000", "APT_GET=false")
    assert done.returncode == 2
    [line] = [text for text in done.stderr.splitlines() if not text.startswith("make")]
    assert "sudo apt-get install -y chromium" in line
