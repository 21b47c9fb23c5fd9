"""Cold start: `python -m bench.coldstart`. Not part of the tests.

Imports each handler module in a fresh interpreter (`python -c "import functions.X.app"`), with the
environment Lambda would give that function (its template variables, AWS_LAMBDA_FUNCTION_NAME,
region, TOKEN_KEYS, tracing on), interleaved with the floor `import boto3; boto3.client("dynamodb")`
in the same loop, and reports the median of N runs of each. The time is measured inside the child
(perf_counter around the import) and as the child's wall time (interpreter start included).

Bytecode matters as much as imports, so it is controlled (PYTHONPYCACHEPREFIX, a temporary cache):

- "as packaged" (the target): .pyc files exist for the standard library and for what the Lambda
  runtime ships (boto3, botocore, ...), not for the layer or the functions, because `make package`
  zips sources only and /opt is read-only: those compile on every cold start, as in Lambda.
- "all bytecode": .pyc for everything, i.e. what a layer built with compiled bytecode would give.

Target (issue 8): no handler above 1.3x the floor, as packaged. Also prints, for the slowest
handler, the modules with the largest cumulative import time (`python -X importtime`) and what it
loads beyond the floor, by package, to show what to make lazy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, handler_functions, lambda_like_environment, median, percentile, write_part

FLOOR = "floor"
FLOOR_CODE = 'import boto3; boto3.client("dynamodb")'
TARGET_RATIO = 1.3
DEFAULT_RUNS = 15
# What the python3.13 Lambda runtime ships compiled (scripts/package.py leaves them out of the layer).
# certifi too: botocore imports it when present (the runtime's or none: never compiled at a cold start).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.", "certifi")
TIMER = (
    "import time as _t\n_s = _t.perf_counter()\n{code}\n"
    "print(f'BENCH_IMPORT_MS={{(_t.perf_counter() - _s) * 1000:.3f}}')\n"
)


@dataclass
class ColdStart:
    name: str  # module, or "floor"
    function: str
    import_ms: list[float]
    wall_ms: list[float]

    @property
    def median_import_ms(self) -> float:
        return round(median(self.import_ms), 1)

    @property
    def median_wall_ms(self) -> float:
        return round(median(self.wall_ms), 1)


@dataclass
class ImportEntry:
    module: str
    self_ms: float
    cumulative_ms: float
    depth: int


def code_for(name: str) -> str:
    return FLOOR_CODE if name == FLOOR else f"import {name}"


def run_once(name: str, env: dict[str, str], write_bytecode: bool = False) -> tuple[float, float]:
    env = {**env}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # timed runs leave the cache as it is
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", TIMER.format(code=code_for(name))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{name}: import failed\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_IMPORT_MS="))
    return float(line.split("=", 1)[1]), wall


def import_times(code: str, env: dict[str, str]) -> list[ImportEntry]:
    """`python -X importtime -c code`, in the order it prints (children before their parent)."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    entries = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" "))) // 2
        entries.append(ImportEntry(name.strip(), int(self_us) / 1000, int(cumulative_us) / 1000, depth))
    return entries


def import_breakdown(module: str, env: dict[str, str], top: int = 8) -> dict[str, list[dict[str, Any]]]:
    """For one handler module: the largest cumulative imports (without the module and its parent
    packages, which contain everything), and what it loads beyond the floor, by top-level package
    (self times of modules the floor does not import), with the first-party module that pulls it in."""
    entries = import_times(f"import {module}", env)
    floor = {e.module for e in import_times(FLOOR_CODE, env)}
    parents = {".".join(module.split(".")[: i + 1]) for i in range(module.count(".") + 1)}
    largest = sorted((e for e in entries if e.module not in parents), key=lambda e: -e.cumulative_ms)[:top]

    def parent(index: int) -> int | None:
        depth = entries[index].depth
        return next((j for j in range(index + 1, len(entries)) if entries[j].depth < depth), None)

    def importer(index: int) -> str:
        j = parent(index)
        while j is not None:
            if entries[j].module.startswith(("directormatch", "functions")):
                return entries[j].module
            j = parent(j)
        return ""

    extra: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        if entry.module in floor or entry.module in parents:
            continue
        first_party = entry.module.startswith("directormatch")
        group = entry.module if first_party else entry.module.split(".")[0]
        row = extra.setdefault(group, {"package": group, "self_ms": 0.0, "modules": 0, "via": ""})
        row["self_ms"] += entry.self_ms
        row["modules"] += 1
        if not first_party and (not row["via"] or entry.depth <= row.get("_depth", 99)):
            row["via"], row["_depth"] = importer(index), entry.depth
    ranked = sorted(extra.values(), key=lambda r: -r["self_ms"])[:top]
    beyond = [
        {"package": r["package"], "self_ms": round(r["self_ms"], 1), "modules": r["modules"], "via": r["via"]}
        for r in ranked
    ]
    return {"largest": [asdict(e) for e in largest], "beyond_floor": beyond}


def cache_dir(prefix: Path, source: Path) -> Path:
    """Where PYTHONPYCACHEPREFIX keeps the .pyc files of modules under `source`."""
    return prefix / source.resolve().relative_to("/")


def bytecode_caches(root: Path, targets: dict[str, dict[str, str]]) -> dict[str, Path]:
    """Two PYTHONPYCACHEPREFIX trees: every module compiled ("all"), and only the standard library
    and the runtime-provided packages compiled ("packaged", as Lambda runs the zips)."""
    everything = root / "all"
    for name, env in targets.items():  # one untimed import each writes its .pyc files
        run_once(name, {**env, "PYTHONPYCACHEPREFIX": str(everything)}, write_bytecode=True)
    packaged = root / "packaged"
    shutil.copytree(everything, packaged)
    for source in ("functions", "layers"):  # the function zips and the layer's directormatch
        shutil.rmtree(cache_dir(packaged, ROOT / source), ignore_errors=True)
    site = cache_dir(packaged, Path(sysconfig.get_paths()["purelib"]))
    for entry in [*site.iterdir(), *(site / "__pycache__").glob("*")] if site.is_dir() else []:
        if entry.name == "__pycache__" or entry.name.startswith(RUNTIME_PROVIDED):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return {"packaged": packaged, "all": everything}


def measure(order: list[str], envs: dict[str, dict[str, str]], runs: int, label: str) -> dict[str, ColdStart]:
    results = {name: ColdStart(name, "", [], []) for name in order}
    for run in range(runs):
        # Interleaved, and rotated each round, so drift in machine load spreads over all of them.
        shift = run % len(order)
        for name in order[shift:] + order[:shift]:
            imported, wall = run_once(name, envs[name])
            results[name].import_ms.append(imported)
            results[name].wall_ms.append(wall)
        print(f"  {label}: round {run + 1}/{runs}", flush=True)
    return results


def rows_of(
    order: list[str], results: dict[str, ColdStart], functions: dict[str, str]
) -> list[dict[str, Any]]:
    floor = results[FLOOR].median_import_ms
    floor_wall = results[FLOOR].median_wall_ms
    rows = []
    for name in order:
        result = results[name]
        ratio = round(result.median_import_ms / floor, 2) if floor else 0.0
        rows.append(
            {
                "module": name,
                "function": functions.get(name, ""),
                "median_import_ms": result.median_import_ms,
                "p90_import_ms": round(percentile(result.import_ms, 90), 1),
                "median_wall_ms": result.median_wall_ms,
                "ratio": ratio,
                "wall_ratio": round(result.median_wall_ms / floor_wall, 2) if floor_wall else 0.0,
                "verdict": "info" if name == FLOOR else ("PASS" if ratio <= TARGET_RATIO else "FAIL"),
                "import_ms": [round(x, 1) for x in result.import_ms],
            }
        )
    return rows


def bench(runs: int, all_bytecode_runs: int) -> dict[str, Any]:
    modules = handler_functions()  # {logical id: module}
    functions = {module: function for function, module in modules.items()}
    base = {FLOOR: lambda_like_environment(next(iter(modules)))}
    base.update({module: lambda_like_environment(function) for function, module in modules.items()})
    order = [FLOOR, *modules.values()]
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as directory:
        caches = bytecode_caches(Path(directory), base)
        modes: dict[str, dict[str, Any]] = {}
        for mode, count in (("packaged", runs), ("all", all_bytecode_runs)):
            if count < 1:
                continue
            envs = {name: {**env, "PYTHONPYCACHEPREFIX": str(caches[mode])} for name, env in base.items()}
            results = measure(order, envs, count, f"{mode} bytecode")
            rows = rows_of(order, results, functions)
            modes[mode] = {"runs": count, "rows": rows}
        packaged = modes["packaged"]["rows"]
        slowest = max((r for r in packaged if r["module"] != FLOOR), key=lambda r: r["median_import_ms"])
        env = {**base[slowest["module"]], "PYTHONPYCACHEPREFIX": str(caches["packaged"])}
        breakdown = import_breakdown(slowest["module"], env)
    return {
        "runs": runs,
        "floor_code": FLOOR_CODE,
        "target_ratio": TARGET_RATIO,
        "rows": packaged,
        "all_bytecode": modes.get("all"),
        "slowest": slowest["module"],
        "import_breakdown": breakdown,
    }


def table(result: dict[str, Any]) -> str:
    columns = (
        f"{'median ms':>9}",
        f"{'p90 ms':>7}",
        f"{'ratio':>6}",
        f"{'wall ms':>8}",
        f"{'wall ratio':>10}",
    )
    header = f"{'module':<24} {' '.join(columns)}  verdict"
    lines = [
        f"as packaged (layer and functions compiled at import, {result['runs']} runs):",
        header,
        "-" * len(header),
    ]
    lines += rows_text(result["rows"])
    if result.get("all_bytecode"):
        lines += [
            "",
            f"all bytecode cached ({result['all_bytecode']['runs']} runs, for information):",
            header,
        ]
        lines += ["-" * len(header), *rows_text(result["all_bytecode"]["rows"], verdicts=False)]
    lines.append("")
    return "\n".join(lines + breakdown_text(result))


def rows_text(rows: list[dict[str, Any]], verdicts: bool = True) -> list[str]:
    lines = []
    for r in rows:
        lines.append(
            f"{r['module']:<24} {r['median_import_ms']:>9.1f} {r['p90_import_ms']:>7.1f} {r['ratio']:>5.2f}x "
            f"{r['median_wall_ms']:>8.1f} {r['wall_ratio']:>9.2f}x  {r['verdict'] if verdicts else 'info'}"
        )
    return lines


def breakdown_text(result: dict[str, Any]) -> list[str]:
    lines = []
    breakdown = result["import_breakdown"]
    lines.append(
        f"top {len(breakdown['largest'])} cumulative imports of {result['slowest']} (python -X importtime):"
    )
    for e in breakdown["largest"]:
        lines.append(
            f"  {e['cumulative_ms']:>8.1f} ms cumulative {e['self_ms']:>7.1f} ms self  {e['module']}"
        )
    lines.append("what it loads beyond the floor, by package (self times; candidates for lazy imports):")
    for e in breakdown["beyond_floor"]:
        via = f"  (first imported by {e['via']})" if e["via"] else ""
        lines.append(f"  {e['self_ms']:>8.1f} ms in {e['modules']:>3} modules  {e['package']}{via}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs per module (default 15)")
    parser.add_argument(
        "--all-bytecode-runs",
        type=int,
        default=5,
        help="runs with every module compiled (default 5; 0 skips)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    print(
        f"cold start: {args.runs} fresh interpreters per handler and for the floor, interleaved ...",
        flush=True,
    )
    result = bench(args.runs, args.all_bytecode_runs)
    print()
    print(table(result))
    print(
        f"\ntarget: every handler's median import, as packaged, <= {TARGET_RATIO}x the floor ({FLOOR_CODE})"
    )
    write_part(args.json, result)
    return 0 if all(r["verdict"] != "FAIL" for r in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
