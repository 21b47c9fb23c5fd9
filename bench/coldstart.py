"""Cold start: `python -m bench.coldstart`. Not part of the tests.

Imports each handler module in a fresh interpreter (`python -c "import functions.X.app"`), with the
environment Lambda's runtime would give that function at init (its template variables, _HANDLER,
LAMBDA_TASK_ROOT, AWS_LAMBDA_*, region, TZ, LANG, X-Ray's variables, TOKEN_KEYS, tracing on:
`bench.common.lambda_like_environment`), interleaved with the floor
`import boto3; boto3.client("dynamodb")` in the same loop, and reports the median of N runs of each.
The time is measured inside the child (perf_counter around the import) and as the child's wall time
(interpreter start included, the first-call setup below left out).

Bytecode matters as much as imports, so it is controlled (PYTHONPYCACHEPREFIX, a temporary cache).
.pyc files always exist for the standard library and for what the Lambda runtime ships (boto3,
botocore, ...). For the layer (directormatch and its third-party packages) and the functions:

- "as packaged" (the target) mirrors what `make package` ships: compiled (unchecked-hash .pyc, as
  scripts/package.py compiles them) when a CPython 3.13 is there to package with
  (`scripts.package.find_python313`, the finder `make package` uses), else sources only.
- "sources only" (information): no .pyc for them, as when `make package` runs without a
  python3.13: /opt and /var/task are read-only, so they compile on every cold start.

Target (issue 8): no handler above 1.3x the floor, as packaged, on import. Also, for information,
"import + first-call setup": in the same interpreter, after the import, the lazy setup the handler's
common path does on its first call (its boto3 clients, and the Jinja2 environment of the functions
that send email), against the floor. And, for the slowest handler, the modules with the largest
cumulative import time (`python -X importtime`) and what it loads beyond the floor, by package.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, handler_functions, lambda_like_environment, median, percentile, write_part
from scripts.package import find_python313, lazy_inits, make_inits_lazy

FLOOR = "floor"
FLOOR_CODE = 'import boto3; boto3.client("dynamodb")'
TARGET_RATIO = 1.3
DEFAULT_RUNS = 15
DEFAULT_SOURCES_ONLY_RUNS = 5
# Under the temporary directory: the packages the layer build rewrites, as it rewrites them.
LAYER_REWRITES = "layer-rewrites"
# What the python3.13 Lambda runtime ships compiled (scripts/package.py leaves them out of the layer).
# certifi too: botocore imports it when present (the runtime's or none: never compiled at a cold start).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.", "certifi")
# The lazy setup a handler's first call does (after the import, in the same interpreter): the boto3
# clients of directormatch/aws.py (@cache, created on first use) and, for the functions that send
# email, the SES client and the Jinja2 environment of directormatch/emails.py.
FIRST_CALL_SETUP = "from directormatch import aws\naws.dynamodb()"
EMAIL_FUNCTIONS = ("NotifyFunction", "RespondFunction", "SweepFunction")
EMAIL_SETUP = "aws.sesv2()\nfrom directormatch import emails\nemails._environment()"
CHILD = (
    "import time as _t\n_s = _t.perf_counter()\n{code}\n_i = _t.perf_counter()\n{setup}\n"
    "_e = _t.perf_counter()\n"
    "print(f'BENCH_IMPORT_MS={{(_i - _s) * 1000:.3f}}')\n"
    "print(f'BENCH_SETUP_MS={{(_e - _i) * 1000:.3f}}')\n"
)
COMPILED, SOURCES = "compiled", "sources"
MODE_TITLES = {
    COMPILED: "layer and functions shipped compiled, as `make package` builds them with {python}",
    SOURCES: "sources only (no python3.13 at package time): layer and functions compile at import",
}


@dataclass
class Target:
    """One thing to time: a handler module (or the floor), its environment and first-call setup."""

    name: str  # module, or "floor"
    function: str  # logical id ("" for the floor)
    env: dict[str, str]
    setup: str = ""  # code run after the import, timed apart


@dataclass
class ColdStart:
    name: str  # module, or "floor"
    function: str
    import_ms: list[float]
    wall_ms: list[float]
    setup_ms: list[float] = field(default_factory=list)

    @property
    def median_import_ms(self) -> float:
        return round(median(self.import_ms), 1)

    @property
    def median_wall_ms(self) -> float:
        return round(median(self.wall_ms), 1)

    @property
    def median_import_setup_ms(self) -> float:
        return round(median([i + s for i, s in zip(self.import_ms, self.setup_ms, strict=True)]), 1)


@dataclass
class ImportEntry:
    module: str
    self_ms: float
    cumulative_ms: float
    depth: int


def code_for(name: str) -> str:
    return FLOOR_CODE if name == FLOOR else f"import {name}"


def first_call_setup(function: str) -> str:
    """The lazy setup the common path of `function`'s first call does ("" for the floor, whose
    code already creates its client)."""
    if not function:
        return ""
    return FIRST_CALL_SETUP + ("\n" + EMAIL_SETUP if function in EMAIL_FUNCTIONS else "")


def run_once(target: Target, env: dict[str, str], write_bytecode: bool = False) -> tuple[float, float, float]:
    """(import ms, first-call setup ms, wall ms without the setup) of one fresh interpreter."""
    env = {**env}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # timed runs leave the cache as it is
    child = CHILD.format(code=code_for(target.name), setup=target.setup or "pass")
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", child],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{target.name}: import or first-call setup failed\n{done.stderr[-3000:]}")
    values = dict(x.split("=", 1) for x in done.stdout.splitlines() if x.startswith("BENCH_"))
    imported, setup = float(values["BENCH_IMPORT_MS"]), float(values["BENCH_SETUP_MS"])
    return imported, setup, wall - setup


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


def bytecode_caches(root: Path, targets: list[Target], compiled: bool) -> dict[str, Path]:
    """PYTHONPYCACHEPREFIX trees. "sources": .pyc for the standard library and the runtime-provided
    packages only. "compiled" (with `compiled`): the same, plus the layer's modules (directormatch
    and the third-party packages the handlers import) and the functions, compiled as
    scripts/package.py compiles them (compileall, unchecked-hash), by the interpreter measured (so
    the .pyc carry its cache tag)."""
    everything = root / "warm"
    for target in targets:  # one untimed run each (import and setup) writes its .pyc files
        run_once(target, {**target.env, "PYTHONPYCACHEPREFIX": str(everything)}, write_bytecode=True)
    sources = root / SOURCES
    shutil.copytree(everything, sources)
    # The function zips, the layer's directormatch, and the packages the layer build rewrites.
    for source in (ROOT / "functions", ROOT / "layers", root / LAYER_REWRITES):
        shutil.rmtree(cache_dir(sources, source), ignore_errors=True)
    purelib = Path(sysconfig.get_paths()["purelib"])
    site = cache_dir(sources, purelib)
    layer_packages: list[Path] = []
    for entry in [*site.iterdir(), *(site / "__pycache__").glob("*")] if site.is_dir() else []:
        if entry.name == "__pycache__" or entry.name.startswith(RUNTIME_PROVIDED):
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
            layer_packages.append(purelib / entry.name)
        else:
            entry.unlink()
            layer_packages.append(purelib / f"{entry.name.split('.', 1)[0]}.py")
    caches = {SOURCES: sources}
    if compiled:
        caches[COMPILED] = root / COMPILED
        shutil.copytree(sources, caches[COMPILED])
        trees = [ROOT / "functions", ROOT / "layers" / "core" / "python" / "directormatch"]
        trees.append(root / LAYER_REWRITES)
        trees += sorted(p for p in set(layer_packages) if p.exists())
        compile_into(caches[COMPILED], trees)
    return caches


def layer_rewrites(root: Path) -> Path:
    """A directory that shadows the venv's packages with the layer build's rewrites of them: a copy
    of each top-level package `scripts.package.make_inits_lazy` changes, changed the same way. Put
    first on PYTHONPATH, so the handlers import what the layer ships (lazy Powertools __inits__)."""
    site = root / LAYER_REWRITES
    purelib = Path(sysconfig.get_paths()["purelib"])
    for top in sorted({package.split(".")[0] for package in lazy_inits().LAZY_PACKAGES}):
        shutil.copytree(purelib / top, site / top, ignore=shutil.ignore_patterns("__pycache__"))
    make_inits_lazy(site)
    return site


def compile_into(prefix: Path, trees: list[Path]) -> None:
    """Compile `trees` (directories or .py files) to unchecked-hash .pyc under the PYTHONPYCACHEPREFIX
    tree `prefix`, in this process: the interpreter measured, so the .pyc carry its cache tag. Not
    `python -X pycache_prefix=... -m compileall -j 0`: its worker processes do not inherit the
    prefix and would write into the sources' own __pycache__ (where unchecked-hash .pyc would hide
    later edits from every import)."""
    import compileall
    import py_compile

    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    previous, sys.pycache_prefix = sys.pycache_prefix, str(prefix)
    try:
        for tree in trees:
            if tree.is_dir():
                compileall.compile_dir(tree, quiet=2, invalidation_mode=mode, workers=1)
            else:
                compileall.compile_file(tree, quiet=2, invalidation_mode=mode)
    finally:
        sys.pycache_prefix = previous
    if not any(cache_dir(prefix, ROOT / "layers").rglob("*.pyc")):
        raise RuntimeError(f"compiling the layer into {prefix} wrote nothing there")


def measure(targets: list[Target], prefix: Path, runs: int, label: str) -> dict[str, ColdStart]:
    results = {t.name: ColdStart(t.name, t.function, [], [], []) for t in targets}
    for run in range(runs):
        # Interleaved, and rotated each round, so drift in machine load spreads over all of them.
        shift = run % len(targets)
        for target in targets[shift:] + targets[:shift]:
            imported, setup, wall = run_once(target, {**target.env, "PYTHONPYCACHEPREFIX": str(prefix)})
            results[target.name].import_ms.append(imported)
            results[target.name].setup_ms.append(setup)
            results[target.name].wall_ms.append(wall)
        print(f"  {label}: round {run + 1}/{runs}", flush=True)
    return results


def rows_of(targets: list[Target], results: dict[str, ColdStart]) -> list[dict[str, Any]]:
    floor = results[FLOOR].median_import_ms
    floor_wall = results[FLOOR].median_wall_ms
    rows = []
    for target in targets:
        result = results[target.name]
        ratio = round(result.median_import_ms / floor, 2) if floor else 0.0
        with_setup = result.median_import_setup_ms
        rows.append(
            {
                "module": target.name,
                "function": target.function,
                "median_import_ms": result.median_import_ms,
                "p90_import_ms": round(percentile(result.import_ms, 90), 1),
                "median_wall_ms": result.median_wall_ms,
                "ratio": ratio,
                "wall_ratio": round(result.median_wall_ms / floor_wall, 2) if floor_wall else 0.0,
                "verdict": "info" if target.name == FLOOR else ("PASS" if ratio <= TARGET_RATIO else "FAIL"),
                "median_setup_ms": round(median(result.setup_ms), 1),
                "median_import_setup_ms": with_setup,
                "import_setup_ratio": round(with_setup / floor, 2) if floor else 0.0,
                "import_ms": [round(x, 1) for x in result.import_ms],
                "setup_ms": [round(x, 1) for x in result.setup_ms],
            }
        )
    return rows


def bench(runs: int, sources_only_runs: int) -> dict[str, Any]:
    modules = handler_functions()  # {logical id: module}
    first = next(iter(modules))
    targets = [Target(FLOOR, "", lambda_like_environment(first, invocation=False))]
    targets += [
        Target(
            module, function, lambda_like_environment(function, invocation=False), first_call_setup(function)
        )
        for function, module in modules.items()
    ]
    python313 = find_python313(warn=False)  # what `make package` would compile with
    target_mode = COMPILED if python313 else SOURCES
    plan = [(target_mode, runs)]
    if target_mode == COMPILED and sources_only_runs > 0:
        plan.append((SOURCES, sources_only_runs))
    if not python313:
        print("  no CPython 3.13 here: `make package` would ship sources only, so that is the target")
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as directory:
        rewrites = str(layer_rewrites(Path(directory)))
        for target in targets:
            target.env["PYTHONPATH"] = os.pathsep.join(
                p for p in (rewrites, target.env.get("PYTHONPATH")) if p
            )
        caches = bytecode_caches(Path(directory), targets, compiled=target_mode == COMPILED)
        modes: dict[str, dict[str, Any]] = {}
        for mode, count in plan:
            results = measure(targets, caches[mode], count, f"{mode}")
            modes[mode] = {"runs": count, "rows": rows_of(targets, results)}
        packaged = modes[target_mode]["rows"]
        slowest = max((r for r in packaged if r["module"] != FLOOR), key=lambda r: r["median_import_ms"])
        by_name = {t.name: t for t in targets}
        env = {**by_name[slowest["module"]].env, "PYTHONPYCACHEPREFIX": str(caches[target_mode])}
        breakdown = import_breakdown(slowest["module"], env)
    return {
        "runs": runs,
        "floor_code": FLOOR_CODE,
        "target_ratio": TARGET_RATIO,
        "packaged_as": "bytecode" if target_mode == COMPILED else "sources only",
        "python313": python313,
        "mode_title": MODE_TITLES[target_mode].format(python=python313),
        "rows": packaged,
        "sources_only": modes.get(SOURCES) if target_mode == COMPILED else None,
        "first_call_setup": {t.name: t.setup for t in targets if t.setup},
        "slowest": slowest["module"],
        "import_breakdown": breakdown,
    }


SETUP_COLUMN = "import + first-call setup"


def table(result: dict[str, Any]) -> str:
    columns = (
        f"{'median ms':>9}",
        f"{'p90 ms':>7}",
        f"{'ratio':>6}",
        f"{'wall ms':>8}",
        f"{'wall ratio':>10}",
    )
    header = f"{'module':<24} {' '.join(columns)}  verdict  {SETUP_COLUMN:>25}"
    lines = [
        f"as packaged: {result['mode_title']} ({result['runs']} runs):",
        header,
        "-" * len(header),
    ]
    lines += rows_text(result["rows"])
    if result.get("sources_only"):
        lines += [
            "",
            f"{MODE_TITLES[SOURCES]} ({result['sources_only']['runs']} runs, for information):",
            header,
        ]
        lines += ["-" * len(header), *rows_text(result["sources_only"]["rows"], verdicts=False)]
    lines += [
        "",
        f"{SETUP_COLUMN} (info, not the target): the import, then in the same interpreter the lazy",
        "setup of the handler's first call: aws.dynamodb(); notify, respond and sweep also aws.sesv2()",
        "and the Jinja2 environment (emails._environment()); ratio to the floor's import. Templates are",
        "compiled later, at their first render, and are not included.",
        "",
    ]
    return "\n".join(lines + breakdown_text(result))


def rows_text(rows: list[dict[str, Any]], verdicts: bool = True) -> list[str]:
    lines = []
    for r in rows:
        if r["module"] == FLOOR:
            setup = "(= import)"
        else:
            setup = f"{r['median_import_setup_ms']:.1f} ms {r['import_setup_ratio']:>5.2f}x info"
        lines.append(
            f"{r['module']:<24} {r['median_import_ms']:>9.1f} {r['p90_import_ms']:>7.1f} {r['ratio']:>5.2f}x "
            f"{r['median_wall_ms']:>8.1f} {r['wall_ratio']:>9.2f}x  {r['verdict'] if verdicts else 'info':<7}"
            f"  {setup:>25}"
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
        "--sources-only-runs",
        "--all-bytecode-runs",  # its former name (python -m bench passes it)
        dest="sources_only_runs",
        type=int,
        default=DEFAULT_SOURCES_ONLY_RUNS,
        help="runs with the layer and functions as sources only, for information (default 5; 0 skips)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    print(
        f"cold start: {args.runs} fresh interpreters per handler and for the floor, interleaved ...",
        flush=True,
    )
    result = bench(args.runs, args.sources_only_runs)
    print()
    print(table(result))
    print(
        f"\ntarget: every handler's median import, as packaged, <= {TARGET_RATIO}x the floor ({FLOOR_CODE})"
    )
    write_part(args.json, result)
    return 0 if all(r["verdict"] != "FAIL" for r in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
