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
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, handler_functions, lambda_like_environment, median, write_part

FLOOR_CODE = 'import boto3; boto3.client("dynamodb")'
HANDLER_CODE = "import app\nfrom directormatch.aws import clients\nclients.dynamodb()"
# The API functions people wait on carry the web layer (event handler, contract); the others do not.
TARGETS = {"IntakeFunction": 1.6, "RespondFunction": 1.6}
DEFAULT_TARGET = 1.3
DEFAULT_RUNS = 15


def build(out: Path) -> Path:
    """What `sam build` builds, by the same Makefile targets (`make package`)."""
    subprocess.run(  # noqa: S603 - make, our own target
        ["make", "--no-print-directory", "-s", "package", f"PACKAGE_DIR={out}"],  # noqa: S607
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


def wall_seconds(code: str, env: dict[str, str], write_bytecode: bool = False) -> float:
    flags = [] if write_bytecode else ["-B"]
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, *flags, "-c", code], env=env, cwd=env["LAMBDA_TASK_ROOT"], check=True
    )
    return time.perf_counter() - started


def measure(function: str, built: Path, runs: int) -> dict[str, Any]:
    """`runs` handler/floor pairs in turn, after one unmeasured pair (the venv's bytecode, disk cache)."""
    env = environment(function, built)
    wall_seconds(FLOOR_CODE, env, write_bytecode=True)
    wall_seconds(HANDLER_CODE, env)
    handler, floor = [], []
    for _ in range(runs):
        handler.append(wall_seconds(HANDLER_CODE, env))
        floor.append(wall_seconds(FLOOR_CODE, env))
    # Judged on the figure printed (two decimals), so that a row never reads "1.30x <= 1.3x: FAIL".
    ratio = round(median([h / f for h, f in zip(handler, floor, strict=True)]), 2)
    target = TARGETS.get(function, DEFAULT_TARGET)
    return {
        "function": function,
        "handler_ms": round(median(handler) * 1000, 1),
        "floor_ms": round(median(floor) * 1000, 1),
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
        f"{'function':<18}{'handler ms':>11}{'floor ms':>10}{'ratio':>8}{'target':>8}  verdict",
    ]
    for row in result["rows"]:
        lines.append(
            f"{row['function']:<18}{row['handler_ms']:>11.1f}{row['floor_ms']:>10.1f}"
            f"{row['ratio']:>7.2f}x{row['target_ratio']:>7.1f}x  {row['verdict']}"
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
