"""Cold start of each handler as Lambda runs it, as a ratio to `import boto3; boto3.client("dynamodb")`.

`python -m bench.coldstart [--runs N] [--json PATH]`. The functions and the layer are built by
`make package` (the targets `sam build` runs; the layer with its bytecode), into a temporary
directory. Each run is one fresh process, timed from outside (start to exit, interpreter start
included), with the function's directory and the layer's python/ on its path as /var/task and
/opt/python are in Lambda, and the variables Lambda gives the function at init
(`bench.common.lambda_like_environment`). It imports the handler module and creates the DynamoDB
client its first call needs; the floor, in the same environment, runs the code above. Handler and
floor runs alternate, and the ratio is taken pair by pair, so drift of a shared machine hits both;
the figure is the median ratio.

The functions' directories are read-only in Lambda: their app.py compiles at every start, so no
bytecode is written (-B). The runtime's own packages (boto3, botocore...) come with their bytecode,
as in Lambda; here they are the venv's, compiled once by a warm-up run.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from bench.common import ROOT, handler_functions, lambda_like_environment, median, write_part

FLOOR_CODE = 'import boto3; boto3.client("dynamodb")'
HANDLER_CODE = "import app\nfrom directormatch.aws import clients\nclients.dynamodb()"
# The API functions people wait on carry the web layer (event handler, contract); the others do not.
TARGETS = {"IntakeFunction": 1.6, "RespondFunction": 1.6}
DEFAULT_TARGET = 1.3
DEFAULT_RUNS = 15


def build(out: Path) -> Path:
    """What `sam build` builds, by the same Makefile targets (`make package`), with the wheels of this
    machine's architecture: Lambda's arm64 native modules (pydantic_core) would not load here."""
    platform_tag = f"LAYER_PLATFORM=manylinux2014_{platform.machine()}"
    subprocess.run(  # noqa: S603 - make, our own target
        ["make", "--no-print-directory", "-s", "package", f"PACKAGE_DIR={out}", platform_tag],  # noqa: S607
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


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
    flags = [] if write_bytecode else ["-B"]
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our interpreter, our code
        [sys.executable, *flags, "-c", code], env=env, cwd=env["LAMBDA_TASK_ROOT"]
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    return Run(wall, usage.ru_utime + usage.ru_stime)


def paired_ratio(handler: list[float], floor: list[float]) -> float:
    return round(median([h / f for h, f in zip(handler, floor, strict=True)]), 2)


def measure(function: str, built: Path, runs: int) -> dict[str, Any]:
    """`runs` handler/floor pairs in turn, after one unmeasured pair (the venv's bytecode, disk cache)."""
    env = environment(function, built)
    run(FLOOR_CODE, env, write_bytecode=True)
    run(HANDLER_CODE, env)
    handler, floor = [], []
    for _ in range(runs):
        handler.append(run(HANDLER_CODE, env))
        floor.append(run(FLOOR_CODE, env))
    # Judged on CPU time: an import is one busy thread, so CPU time is its wall time on an idle
    # machine, and it does not count the waits a shared machine adds. And on the figure printed (two
    # decimals), so that a row never reads "1.30x <= 1.3x: FAIL".
    ratio = paired_ratio([h.cpu for h in handler], [f.cpu for f in floor])
    target = TARGETS.get(function, DEFAULT_TARGET)
    return {
        "function": function,
        "handler_ms": round(median([h.wall for h in handler]) * 1000, 1),
        "floor_ms": round(median([f.wall for f in floor]) * 1000, 1),
        "wall_ratio": paired_ratio([h.wall for h in handler], [f.wall for f in floor]),
        "handler_cpu_ms": round(median([h.cpu for h in handler]) * 1000, 1),
        "floor_cpu_ms": round(median([f.cpu for f in floor]) * 1000, 1),
        "ratio": ratio,
        "target_ratio": target,
        "verdict": "PASS" if ratio <= target else "FAIL",
        "runs": runs,
    }


def bench(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        built = build(Path(scratch))
        rows = [measure(function, built, runs) for function in handler_functions()]
    return {"floor_code": FLOOR_CODE, "handler_code": HANDLER_CODE, "rows": rows}


def table(result: dict[str, Any]) -> str:
    lines = [
        f"floor: {result['floor_code']}",
        "ratio: median of the handler/floor pairs' CPU time (their wall time for information)",
        f"{'function':<18}{'handler cpu ms':>15}{'floor cpu ms':>13}{'ratio':>7}{'wall ratio':>11}"
        f"{'target':>8}  verdict",
    ]
    for row in result["rows"]:
        lines.append(
            f"{row['function']:<18}{row['handler_cpu_ms']:>15.1f}{row['floor_cpu_ms']:>13.1f}{row['ratio']:>6.2f}x"
            f"{row['wall_ratio']:>10.2f}x{row['target_ratio']:>7.1f}x  {row['verdict']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="handler/floor pairs per function")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = bench(args.runs)
    print(table(result), flush=True)
    write_part(args.json, result)
    return 0 if all(row["verdict"] == "PASS" for row in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
