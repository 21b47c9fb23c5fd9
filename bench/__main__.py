"""Every benchmark in one run: `python -m bench` (what `make bench` runs). Not a test.

Sections, each in its own interpreter (so environments, moto state and Powertools settings do not
leak between them), printing its own table as it goes:

1. cold start     bench.coldstart    handler imports vs `import boto3; boto3.client("dynamodb")`
2. warm intake    bench.warm_intake  intake handler vs a bare put_item, moto in server mode
3. calls per op.  bench.calls        DynamoDB calls, items and request units per operation
4. end to end     bench.e2e          submit -> first offer email on the local stack
   matching       bench.match        items read and time per request, rosters 1,000 and 10,000
   scale (100x)   bench.scale        50,000 directors, 2,000 quotes at 100x, a sweep of 10,000 offers
5. cost           bench.cost         per 1,000 quotes, from 2-4 and template.yaml

Then one summary table (section, figure, value, target, verdict) and bench/results/latest.json with
every section's figures. Exits 1 when a target fails or a section breaks. `--quick` is a fast pass
with smaller samples (its figures are noisier; same targets).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT

SECTIONS = {
    "coldstart": "1. cold start",
    "warm_intake": "2. warm intake",
    "calls": "3. DynamoDB calls",
    "e2e": "4. end to end",
    "match": "matching",
    "scale": "scale (100x)",
}
COST = "5. cost / 1,000 quotes"
RESULTS = ROOT / "bench" / "results" / "latest.json"  # ignored by git; bench/results/.gitkeep is not


def run_section(name: str, quick: bool, part: Path) -> None:
    """Run one section in a fresh interpreter; its output goes straight to the console."""
    print(f"\n=== {SECTIONS[name]} ===", flush=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "bench", "--section", name, "--part", str(part), *(["--quick"] * quick)]
    subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603 - our interpreter, our modules
    broken = "" if part.is_file() else " (BROKEN: no results)"
    print(f"--- {SECTIONS[name]}: {time.perf_counter() - started:.0f} s{broken}", flush=True)


def section(name: str, quick: bool, part: Path) -> None:
    """In the section's own interpreter: run it, print its table, hand its figures back in `part`."""
    module = importlib.import_module(f"bench.{name}")
    result = module.run_section(quick)
    print(f"\n{module.table(result)}", flush=True)
    part.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")


def summary_rows(parts: dict[str, Any], chosen: list[str], cost: dict[str, Any] | None) -> list[list[str]]:
    rows = [
        [SECTIONS[name], "section", "broke: see its output", "runs", "FAIL"]
        for name in chosen
        if name not in parts
    ]
    for name, result in parts.items():
        rows += [[SECTIONS[name], *row] for row in importlib.import_module(f"bench.{name}").summary(result)]
    if cost:
        rows += [[COST, *row] for row in importlib.import_module("bench.cost").summary(cost)]
    return rows


def summary_table(rows: list[list[str]]) -> str:
    header = ["section", "figure", "value", "target", "verdict"]
    limits = (60, 60, 84, 22)
    widths = [min(limit, max(len(r[i]) for r in [header, *rows])) for i, limit in enumerate(limits)]

    def line(row: list[str]) -> str:
        return "  ".join(
            [*(cell[:width].ljust(width) for cell, width in zip(row, widths, strict=False)), row[4]]
        )

    return "\n".join([line(header), "-" * (sum(widths) + 4 * 2 + 7), *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples: a fast pass (a few minutes)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="these sections")
    parser.add_argument("--section", choices=SECTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--part", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.section:
        section(args.section, args.quick, args.part)
        return 0
    chosen = [name for name in SECTIONS if name in args.only]

    started = time.perf_counter()
    parts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as directory:
        for name in chosen:
            part = Path(directory) / f"{name}.json"
            run_section(name, args.quick, part)
            if part.is_file():
                parts[name] = json.loads(part.read_text())

    cost = None
    if "calls" in parts:
        from bench import cost as cost_section

        cost = cost_section.estimate(parts)
        print(f"\n=== {COST} ===\n{cost_section.table(cost)}")

    rows = summary_rows(parts, chosen, cost)
    total = time.perf_counter() - started
    print(f"\n=== summary ({'quick' if args.quick else 'full'} run, {total / 60:.1f} min) ===")
    print(summary_table(rows))

    import boto3
    import moto

    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "seconds": round(total, 1),
        "versions": {
            "python": platform.python_version(),
            "boto3": boto3.__version__,
            "moto": moto.__version__,
        },
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "platform": platform.platform()},
        "summary": rows,
        "sections": parts,
        "cost": cost,
    }
    RESULTS.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nresults written to {RESULTS.relative_to(ROOT)}")
    failed = sum(r[4] == "FAIL" for r in rows)
    print(f"{sum(r[4] == 'PASS' for r in rows)} PASS, {failed} FAIL")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
