"""Every benchmark of issue 8 in one run: `python -m bench` (what `make bench` runs). Not a test.

Sections, each in its own interpreter (so environments, moto state and Powertools settings do not
leak between them), printing its own table as it goes:

1. cold start        bench.coldstart   handler imports vs `import boto3; boto3.client("dynamodb")`
2. warm intake       bench.warm_intake intake handler vs a bare put_item, moto in server mode
3. calls per op.     bench.calls       DynamoDB calls, items and request units per operation
4. end to end        bench.e2e         submit -> first offer email on the local stack
5. cost              bench.cost        per 1,000 quotes, from 2-4 and template.yaml
   matching          bench.match       the matching benchmark of issue 4 (rosters 1,000 and 10,000)

Then one summary table (section, figure, value, target, verdict) and bench/results/latest.json with
every section's figures. Exits 1 when a target fails or a section breaks. `--quick` is a fast pass
with smaller samples (its figures are noisier; same targets).
"""

from __future__ import annotations

import argparse
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

from bench.common import RESULTS_DIR, ROOT

SECTIONS = ("coldstart", "warm_intake", "calls", "e2e", "match")
FULL: dict[str, list[str]] = {
    "coldstart": ["--runs", "15"],
    "warm_intake": ["--quotes", "300"],
    "calls": ["--quotes", "20", "--timed", "40", "--offered", "6", "--roster", "1000"],
    "e2e": ["--quotes", "200", "--concurrency", "2", "--accepts", "20"],
    "match": ["--sizes", "1000", "10000", "--runs", "3"],
}
QUICK: dict[str, list[str]] = {
    "coldstart": ["--runs", "5"],
    "warm_intake": ["--quotes", "80"],
    "calls": ["--quotes", "5", "--timed", "8", "--offered", "2", "--roster", "1000"],
    "e2e": ["--quotes", "40", "--concurrency", "2", "--accepts", "5"],
    "match": ["--sizes", "1000", "--runs", "1"],
}
TITLES = {
    "coldstart": "1. cold start",
    "warm_intake": "2. warm intake",
    "calls": "3. DynamoDB calls",
    "e2e": "4. end to end",
    "cost": "5. cost / 1,000 quotes",
    "match": "matching",
}


def run_section(name: str, arguments: list[str], part: Path) -> dict[str, Any]:
    """Run one section in a fresh interpreter; its output goes straight to the console."""
    flag = "--output" if name == "match" else "--json"
    print(f"\n=== {TITLES[name]} (python -m bench.{name} {' '.join(arguments)}) ===", flush=True)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our interpreter, our modules
        [sys.executable, "-m", f"bench.{name}", *arguments, flag, str(part)], cwd=ROOT, check=False
    )
    elapsed = time.perf_counter() - started
    broken = not part.is_file()
    print(f"--- {TITLES[name]}: {elapsed:.0f} s{' (BROKEN: no results)' if broken else ''}", flush=True)
    return {
        "seconds": round(elapsed, 1),
        "exit_code": done.returncode,
        "broken": broken,
        "arguments": arguments,
    }


def row(section: str, figure: str, value: str, target: str = "", verdict: str = "info") -> dict[str, str]:
    return {
        "section": TITLES[section],
        "figure": figure,
        "value": value,
        "target": target,
        "verdict": verdict,
    }


def summary_rows(
    parts: dict[str, Any], cost: dict[str, Any] | None, runs: dict[str, Any]
) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for name, info in runs.items():
        if info["broken"]:
            rows.append(
                row(name, "section", f"broke (exit {info['exit_code']}): see its output", "runs", "FAIL")
            )

    cold = parts.get("coldstart")
    if cold:
        for r in cold["rows"]:
            rows.append(
                row(
                    "coldstart",
                    f"{r['function']}: import + DynamoDB client / floor (CPU)",
                    f"{r['handler_cpu_ms']:.0f} / {r['floor_cpu_ms']:.0f} ms = {r['ratio']:.2f}x"
                    f" (wall {r['wall_ratio']:.2f}x)",
                    f"<= {r['target_ratio']}x floor",
                    r["verdict"],
                )
            )

    warm = parts.get("warm_intake")
    if warm:
        bare, handler = warm["put_item"], warm["handler"]
        rows.append(
            row("warm_intake", "bare put_item p50 / p99", f"{bare['p50_ms']:.2f} / {bare['p99_ms']:.2f} ms")
        )
        rows.append(
            row(
                "warm_intake",
                "handler (Idempotency-Key) p50",
                f"{handler['p50_ms']:.2f} ms = {warm['ratio_p50']:.2f}x",
                f"<= {warm['target_ratio']}x put_item",
                warm["verdict"],
            )
        )
        rows.append(
            row(
                "warm_intake",
                "handler (Idempotency-Key) p99",
                f"{handler['p99_ms']:.2f} ms = {warm['ratio_p99']:.2f}x",
            )
        )
        rows.append(
            row(
                "warm_intake",
                "handler without the header p50 / p99",
                f"{warm['handler_no_key']['p50_ms']:.2f} ms = {warm['ratio_p50_no_key']:.2f}x / "
                f"{warm['ratio_p99_no_key']:.2f}x",
            )
        )
        rows.append(
            row(
                "warm_intake",
                "handler (key) vs bare 2-item transaction p50",
                f"{warm['ratio_p50_vs_transaction']:.2f}x"
                f" (transaction = {warm['transaction_vs_put_p50']:.2f}x put)",
            )
        )

    calls = parts.get("calls")
    if calls:
        c, verdicts = calls["counts"], calls["verdicts"]
        for label, key in (
            ("intake with Idempotency-Key", "intake_key"),
            ("intake without the header", "intake_no_key"),
        ):
            f = c[key]
            rows.append(
                row(
                    "calls",
                    f"{label}: calls / accepted request",
                    f"{f['total_calls']:g} ({_ops(f)})",
                    "<= 2",
                    verdicts["intake_calls"],
                )
            )
        m = c["match"]
        rows.append(row("calls", "match: calls / request", f"{m['total_calls']:g} ({_ops(m)})"))
        reads = c["match_requests"]
        if reads:
            worst = max(reads, key=lambda r: r["items_read"] / max(1, r["target"]))
            rows.append(
                row(
                    "calls",
                    f"match: items read vs candidates ({len(reads)} requests)",
                    f"read = candidates in all: {all(r['items_read'] == r['candidates'] for r in reads)}; "
                    f"worst {worst['items_read']} of {worst['target']}",
                    "<= 2 x cand.+offers",
                    verdicts["match_items_read"],
                )
            )
        n = c["notify_per_email"]
        rows.append(
            row(
                "calls",
                f"notify: calls / email ({n['emails_total']} emails)",
                f"{n['total_calls']:g} ({_ops(n)})",
            )
        )
        a = c["respond_accept"]
        rows.append(row("calls", "respond accept: calls", f"{a['total_calls']:g} ({_ops(a)})"))
        s = c["sweep_open"]["per_offered_request"]
        rows.append(
            row(
                "calls",
                "sweep: calls / OFFERED request",
                f"{s['total_calls']:g} ({_ops(s)}) + {c['sweep_open']['index_queries']} per run",
            )
        )
        rows.append(row("calls", "Scan calls, every operation", str(c["scans"]), "0", verdicts["no_scan"]))

    e2e = parts.get("e2e")
    if e2e:
        rows.append(
            row("e2e", f"submit -> first offer email p50 ({e2e['quotes']} quotes)", f"{e2e['offer_p50_s']} s")
        )
        rows.append(row("e2e", "submit -> first offer email p95", f"{e2e['offer_p95_s']} s"))
        offered = e2e["outcomes"].get("offer", 0)
        timeouts = e2e["outcomes"].get("timeout", 0)
        rows.append(
            row(
                "e2e",
                "requests with an offer email",
                f"{offered} of {e2e['quotes']} ({e2e['outcomes']})",
                "no timeout",
                "PASS" if timeouts == 0 else "FAIL",
            )
        )
        rows.append(row("e2e", "emails per quote (happy path)", f"{e2e['emails_per_quote_happy_path']}"))

    if cost:
        for line in cost["lines"]:
            rows.append(row("cost", line["item"], f"${line['usd']:.4f} ({line['share']:.0%})"))
        rows.append(row("cost", "total per 1,000 quotes", f"${cost['total_usd']:.4f}"))
        for fixed in cost["fixed_per_month"]:
            rows.append(row("cost", f"fixed/month: {fixed['item'].split(' (')[0]}", f"${fixed['usd']}"))

    match = parts.get("match")
    if match:
        for roster in match["rosters"]:
            results = roster["requests"]
            passed = sum(1 for r in results if r["verdict"] == "PASS")
            slowest = max(results, key=lambda r: r["match_ms_median"])
            rows.append(
                row(
                    "match",
                    f"roster {roster['directors']:,}: items read, {len(results)} requests",
                    f"{passed} PASS; slowest {slowest['label']} {slowest['match_ms_median']:.0f} ms (moto)",
                    "<= 2 x cand.+offers",
                    "PASS" if passed == len(results) else "FAIL",
                )
            )
    return rows


def _ops(figures: dict[str, Any]) -> str:
    return ", ".join(f"{op} {n:g}" for op, n in figures["calls"].items() if not op.startswith("ses:"))


def summary_table(rows: list[dict[str, str]]) -> str:
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in ("section", "figure", "value", "target")}
    widths = {k: min(v, {"value": 84, "target": 22}.get(k, 60)) for k, v in widths.items()}

    def line(r: dict[str, str]) -> str:
        return "  ".join(
            [
                *(r[k][: widths[k]].ljust(widths[k]) for k in ("section", "figure", "value", "target")),
                r["verdict"],
            ]
        )

    header = {
        "section": "section",
        "figure": "figure",
        "value": "value",
        "target": "target",
        "verdict": "verdict",
    }
    return "\n".join([line(header), "-" * (sum(widths.values()) + 4 * 2 + 7), *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples: a fast pass (a few minutes)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--skip", nargs="+", choices=SECTIONS, default=[], help="leave these sections out")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json", help="results file")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    chosen = [s for s in SECTIONS if (not args.only or s in args.only) and s not in args.skip]

    started = time.perf_counter()
    runs: dict[str, Any] = {}
    parts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as directory:
        for name in chosen:
            part = Path(directory) / f"{name}.json"
            runs[name] = run_section(name, plan[name], part)
            if part.is_file():
                parts[name] = json.loads(part.read_text())

    cost = None
    if "calls" in parts:
        from bench import cost as cost_section

        cost = cost_section.estimate(parts)
        print(f"\n=== {TITLES['cost']} ===")
        print(cost_section.table(cost))

    rows = summary_rows(parts, cost, runs)
    total = time.perf_counter() - started
    print(f"\n=== summary ({'quick' if args.quick else 'full'} run, {total / 60:.1f} min) ===")
    print(summary_table(rows))

    import boto3
    import moto

    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "seconds": round(total, 1),
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "moto": moto.__version__,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()),
            "platform": platform.platform(),
        },
        "runs": runs,
        "summary": rows,
        "sections": parts,
        "cost": cost,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nresults written to {args.output}")
    failed = [r for r in rows if r["verdict"] == "FAIL"]
    print(f"{sum(r['verdict'] == 'PASS' for r in rows)} PASS, {len(failed)} FAIL")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
