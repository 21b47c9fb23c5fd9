"""Cold start of each handler as Lambda runs it, as a ratio to `import boto3; boto3.client("dynamodb")`.

The functions and the layer are built by `make package` (the targets `sam build` runs; the layer with
its bytecode) into a temporary directory. Each run is one fresh process, timed from outside (start to
exit, interpreter start included), with the function's directory and the layer's python/ on its path
as /var/task and /opt/python are in Lambda, and the variables Lambda gives the function at init. It
imports the handler module and creates the DynamoDB client its first call needs; the floor, in the
same environment, runs the code above. Handler and floor runs alternate, and the ratio is taken pair
by pair, so drift of a shared machine hits both; the figure is the median ratio.

The functions' directories are read-only in Lambda: their app.py compiles at every start, so no
bytecode is written (-B). The runtime's own packages (boto3, botocore...) come with their bytecode,
as in Lambda; here they are the venv's, compiled once by a warm-up run.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from bench.common import FUNCTIONS, ROOT, lambda_like_environment

FLOOR_CODE = 'import boto3; boto3.client("dynamodb")'
HANDLER_CODE = "import app\nfrom directormatch.aws import clients\nclients.dynamodb()"
PROJECT_MODULES = frozenset({"app", "directormatch", "__main__"})
# The API functions people wait on carry the web layer (event handler, contract); the others do not.
TARGETS = {"IntakeFunction": 1.6, "RespondFunction": 1.6, "ApplyFunction": 1.6, "DirectorsFunction": 1.6}
DEFAULT_TARGET = 1.3


def build(out: Path) -> None:
    """What `sam build` builds, by the same Makefile targets (`make package`), with the wheels of this
    machine's architecture: Lambda's arm64 native modules (pydantic_core) would not load here."""
    platform_tag = f"LAYER_PLATFORM=manylinux2014_{platform.machine()}"
    done = subprocess.run(  # noqa: S603 - make, our own target
        ["make", "--no-print-directory", "-s", "package", f"PACKAGE_DIR={out}", platform_tag],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"make package failed:\n{done.stdout}{done.stderr}")


def environment(function: str, built: Path) -> dict[str, str]:
    env = lambda_like_environment(function, invocation=False)
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    task = built / function
    env["LAMBDA_TASK_ROOT"] = str(task)
    env["PYTHONPATH"] = os.pathsep.join([str(task), str(built / "CoreLayer" / "python")])
    return env


class Run(NamedTuple):
    wall: float
    cpu: float


def run(code: str, env: dict[str, str], write_bytecode: bool = False) -> Run:
    """One fresh process: its wall time, and its CPU time (user + system) as the kernel counted it."""
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our interpreter, our code
        [sys.executable, *([] if write_bytecode else ["-B"]), "-c", code],
        env=env,
        cwd=env["LAMBDA_TASK_ROOT"],
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), child.args)
    return Run(wall, usage.ru_utime + usage.ru_stime)


def third_party_code(env: dict[str, str]) -> str:
    """What the handler's process loads from outside the project, alone: every module it imports
    that is not the project's (the runtime's boto3, the layer's Powertools, pydantic...), in the
    order it imports them, then the floor's DynamoDB client. Against the floor, it is the share of
    the handler's cold start that the libraries take however the project uses them."""
    listing = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-B", "-c", f"{HANDLER_CODE}\nimport sys\nprint(*sys.modules)"],
        env=env,
        cwd=env["LAMBDA_TASK_ROOT"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    libraries = [name for name in listing if name.partition(".")[0] not in PROJECT_MODULES]
    return f"import importlib\nfor name in {libraries!r}:\n    importlib.import_module(name)\n{FLOOR_CODE}"


def paired_ratio(handler: list[float], floor: list[float]) -> float:
    return round(statistics.median([h / f for h, f in zip(handler, floor, strict=True)]), 2)


def measure(function: str, built: Path, runs: int) -> dict[str, Any]:
    """`runs` handler/floor pairs in turn, after one unmeasured pair (the venv's bytecode, disk cache)."""
    env = environment(function, built)
    libraries_code = third_party_code(env)
    run(FLOOR_CODE, env, write_bytecode=True)
    run(HANDLER_CODE, env)
    run(libraries_code, env)
    handler, floor, libraries = [], [], []
    for _ in range(runs):
        handler.append(run(HANDLER_CODE, env))
        floor.append(run(FLOOR_CODE, env))
        libraries.append(run(libraries_code, env))
    # Judged on CPU time: an import is one busy thread, so CPU time is its wall time on an idle
    # machine, and it does not count the waits a shared machine adds. And on the figure printed (two
    # decimals), so that a row never reads "1.30x <= 1.3x: FAIL".
    ratio = paired_ratio([h.cpu for h in handler], [f.cpu for f in floor])
    libraries_ratio = paired_ratio([lib.cpu for lib in libraries], [f.cpu for f in floor])
    target = TARGETS.get(function, DEFAULT_TARGET)
    return {
        "function": function,
        "handler_cpu_ms": round(statistics.median(h.cpu for h in handler) * 1000, 1),
        "floor_cpu_ms": round(statistics.median(f.cpu for f in floor) * 1000, 1),
        "ratio": ratio,
        "wall_ratio": paired_ratio([h.wall for h in handler], [f.wall for f in floor]),
        "libraries_ratio": libraries_ratio,
        "project_share": round(ratio - libraries_ratio, 2),
        "target_ratio": target,
        "verdict": "PASS" if ratio <= target else "FAIL",
    }


def run_section(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        build(Path(scratch))
        return {"rows": [measure(function, Path(scratch), 5 if quick else 15) for function in FUNCTIONS]}


def table(result: dict[str, Any]) -> str:
    lines = [
        f"floor: {FLOOR_CODE}",
        "ratio: median of the handler/floor pairs' CPU time (their wall time for information)",
        "libraries: the third-party modules the handler loads, alone, and the floor's client; project:"
        " ratio - libraries",
        f"{'function':<18}{'handler cpu ms':>15}{'floor cpu ms':>13}{'ratio':>7}{'wall ratio':>11}"
        f"{'libraries':>10}{'project':>8}{'target':>8}  verdict",
    ]
    for r in result["rows"]:
        lines.append(
            f"{r['function']:<18}{r['handler_cpu_ms']:>15.1f}{r['floor_cpu_ms']:>13.1f}{r['ratio']:>6.2f}x"
            f"{r['wall_ratio']:>10.2f}x{r['libraries_ratio']:>9.2f}x{r['project_share']:>7.2f}x"
            f"{r['target_ratio']:>7.1f}x  {r['verdict']}"
        )
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (
            f"{r['function']}: import + DynamoDB client / floor (CPU)",
            f"{r['handler_cpu_ms']:.0f} / {r['floor_cpu_ms']:.0f} ms = {r['ratio']:.2f}x"
            f" (wall {r['wall_ratio']:.2f}x; libraries alone {r['libraries_ratio']:.2f}x)",
            f"<= {r['target_ratio']}x floor",
            r["verdict"],
        )
        for r in result["rows"]
    ]
