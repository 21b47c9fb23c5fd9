"""The cold-start benchmark's environment: Lambda's at init, with the built function and layer as
/var/task and /opt/python."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import coldstart
from bench.common import ROOT, lambda_like_environment


def test_cold_start_environment_is_lambdas_without_a_runtime_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    env = lambda_like_environment("IntakeFunction", invocation=False)

    assert "AWS_LAMBDA_RUNTIME_API" not in env
    assert "POWERTOOLS_TRACE_DISABLED" not in env
    assert "_X_AMZN_TRACE_ID" not in env  # none during Lambda's init
    assert Path(env["LAMBDA_TASK_ROOT"]) == ROOT / "functions" / "intake"
    assert env["_HANDLER"] == "app.lambda_handler"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "IntakeFunction"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/IntakeFunction"
    assert env["TZ"] == ":UTC"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"]
    assert "Sampled=0" in lambda_like_environment("IntakeFunction")["_X_AMZN_TRACE_ID"]
    assert os.environ["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"  # the caller's own is untouched


def test_each_run_imports_the_built_function_and_layer_and_writes_no_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")

    env = coldstart.environment("MatchFunction", tmp_path)

    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path / "MatchFunction")
    assert env["PYTHONPATH"].split(os.pathsep) == [
        str(tmp_path / "MatchFunction"),
        str(tmp_path / "CoreLayer" / "python"),
    ]
    assert "PYTHONDONTWRITEBYTECODE" not in env  # the warm-up compiles the runtime's packages


def test_targets_are_looser_for_the_api_functions_only() -> None:
    assert coldstart.TARGETS == {"IntakeFunction": 1.6, "RespondFunction": 1.6}
    assert coldstart.DEFAULT_TARGET == 1.3


def test_a_run_counts_the_childs_cpu_time_apart_from_its_waits(tmp_path: Path) -> None:
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(tmp_path)}

    waiting = coldstart.run("import time; time.sleep(0.3)", env)
    busy = coldstart.run(
        "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass", env
    )

    assert waiting.wall >= 0.3 > waiting.cpu
    assert busy.cpu >= 0.3


def test_the_ratio_is_the_median_of_the_pairs() -> None:
    # A slow pair on both sides (the machine was busy) does not move it
    assert coldstart.paired_ratio([1.2, 2.6, 1.3], [1.0, 2.0, 1.0]) == 1.3
