"""Matching: items read and time per request, on generated rosters in in-process moto.

For each roster (1,000 and 10,000 directors; tables from template.yaml), a fixed set of requests is
matched with directormatch.matching.waves.match_request once to warm up and then N times, each a
fresh REQUEST item (a match writes its MATCH item and offers once). Measured: the time of one match
(median and p95; the pure engine, `shortlist`, alone), DynamoDB items read and calls per request
(bench.common.CallCounter), of them the candidate Queries' (the Available index's items, no filter
expression: DynamoDB's ScannedCount), and candidates: ByState index items (LICENSE#<state>) in the
requested states, what a match read before that index. Timings are moto's in-process emulation,
slower than DynamoDB for large query results: a relative figure. Items read and calls are what a
real table would see.

Target (issue 19): the candidate Queries read <= 2 x the directors passing the hard filters, and
never a Scan.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from unittest import mock

from bench.common import FAKE_CREDENTIALS, CallCounter, Tally, percentile, say

BASIC = ["aesthetics", "weight_loss"]
# (label, request fields): single states of different sizes, multi-state (one director or a team),
# controlled substances by flag and by modality.
REQUESTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("TX", {"states": ["TX"], "modalities": BASIC, "supervisees": {"np": 2, "pa": 0}}),
    ("CA", {"states": ["CA"], "modalities": BASIC, "supervisees": {"np": 1, "pa": 1}}),
    ("WY", {"states": ["WY"], "modalities": BASIC, "supervisees": {"np": 1, "pa": 0}}),
    ("TX+OK+LA", {"states": ["TX", "OK", "LA"], "modalities": BASIC, "supervisees": {"np": 1, "pa": 0}}),
    ("WY+VT+AK", {"states": ["WY", "VT", "AK"], "modalities": BASIC, "supervisees": {"np": 1, "pa": 0}}),
    (
        "FL controlled",
        {
            "states": ["FL"],
            "modalities": ["weight_loss"],
            "supervisees": {"np": 1, "pa": 0},
            "controlled_substances": True,
        },
    ),
    ("NY ketamine", {"states": ["NY"], "modalities": ["ketamine"], "supervisees": {"np": 0, "pa": 0}}),
)


def run_section(quick: bool) -> dict[str, Any]:
    sizes, runs = ([1_000], 1) if quick else ([1_000, 10_000], 3)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update({"POWERTOOLS_TRACE_DISABLED": "1", "POWERTOOLS_METRICS_DISABLED": "true"})
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    rosters = []
    for size in sizes:
        say(f"roster of {size:,} directors, {runs} runs per request ...")
        rosters.append({"directors": size, "requests": match_roster(size, runs)})
    return {"rosters": rosters}


def match_roster(size: int, runs: int) -> list[dict[str, Any]]:
    import boto3
    from moto import mock_aws
    from ulid import ULID

    from directormatch.aws import clients, tables
    from directormatch.intake.contract import QuoteRequest
    from directormatch.intake.submit import request_item
    from directormatch.matching import waves
    from directormatch.records import Request
    from directormatch.references import new_reference
    from directormatch.settings import get_settings
    from local import moto_patch, resources
    from ops.roster.synthetic import synthetic_roster
    from tests.events import quote_body

    # The fairness stamp is a transaction; shipped moto copies the whole Directors table per item of
    # a transaction (seconds at 10,000 directors), which DynamoDB does not: see local/moto_patch.py.
    moto_patch.apply()
    with mock_aws():
        clients.clear_clients()
        parameters = resources.local_parameters()
        resources.create_all(boto3.Session(region_name="us-east-1"), parameters)
        os.environ.update(resources.local_environment("MatchFunction", parameters))
        get_settings.cache_clear()
        settings = get_settings()
        requests, directors = tables.requests(), tables.directors()
        started = time.perf_counter()
        items = synthetic_roster(size, seed=7, today=date.today())
        directors.put_items(items)
        say(f"  {len(items):,} items generated and loaded in {time.perf_counter() - started:.1f} s")
        licenses = [i for i in items if i["sk"].startswith("LICENSE#")]
        counter = CallCounter(clients.dynamodb())
        results = []
        for label, fields in REQUESTS:
            quote = QuoteRequest.model_validate(quote_body(**fields))
            candidates = [i for i in licenses if i["license_state"] in quote.states]
            match_ms: list[float] = []
            engine_ms: list[float] = []
            reads: list[int] = []
            index_reads: list[int] = []
            calls: Counter[str] = Counter()
            for run in range(runs + 1):  # run 0 warms up and is not counted
                now = datetime.now(UTC)
                request = request_item(str(ULID.from_datetime(now)), quote, now, new_reference())
                requests.create_request(request, None)
                engine: list[float] = []
                with counter.into(Tally()) as tally, mock.patch.object(waves, "shortlist", timed(engine)):
                    started = time.perf_counter()
                    result, recorded = waves.match_request(
                        Request.from_item(request),
                        requests,
                        directors,
                        wave_size=settings.wave_size,
                        offer_hours=settings.offer_hours,
                        weights=settings.weights,
                        now=now,
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                if not recorded:
                    raise RuntimeError(f"{label}: the match was not recorded")
                if run:
                    match_ms.append(elapsed)
                    engine_ms += engine
                    reads.append(tally.items_read)
                    index_reads.append(tally.items_by_call["Query(Available)"])
                    calls.update(tally.calls)
            allowed = 2 * result.eligible
            results.append(
                {
                    "label": label,
                    "candidates": len(candidates),
                    "directors": len({i["pk"] for i in candidates}),
                    "eligible": result.eligible,
                    "offers": len(result.picks),
                    "team": result.team,
                    "items_read": max(reads),
                    "index_read": max(index_reads),
                    "allowed": allowed,
                    "verdict": "PASS" if max(index_reads) <= allowed and not calls["Scan"] else "FAIL",
                    "calls": {op: round(n / runs, 1) for op, n in sorted(calls.items())},
                    "match_ms_median": round(statistics.median(match_ms), 1),
                    "match_ms_p95": round(percentile(match_ms, 95), 1),
                    "engine_ms_median": round(statistics.median(engine_ms), 2),
                }
            )
            say(f"  {label}: {statistics.median(match_ms):.0f} ms median over {runs} runs")
        clients.clear_clients()
        return results


def timed(samples: list[float]) -> Any:
    """The pure engine, `shortlist`, appending the time of each call to `samples`."""
    from directormatch.matching.engine import shortlist

    def call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return shortlist(*args, **kwargs)
        finally:
            samples.append((time.perf_counter() - started) * 1000)

    return call


def table(result: dict[str, Any]) -> str:
    header = (
        f"{'roster':>7} {'request':<14} {'cand.':>6} {'dirs':>5} {'elig.':>5} {'offers':>6} {'team':>4} "
        f"{'read':>6} {'index':>6} {'target':>6} {'verdict':<7} "
        f"{'median ms':>9} {'p95 ms':>8} {'engine ms':>9}"
        "  calls/request"
    )
    lines = [header, "-" * len(header)]
    for roster in result["rosters"]:
        for r in roster["requests"]:
            lines.append(
                f"{roster['directors']:>7,} {r['label']:<14} {r['candidates']:>6,} {r['directors']:>5,} "
                f"{r['eligible']:>5,} {r['offers']:>6} {'yes' if r['team'] else 'no':>4} "
                f"{r['items_read']:>6,} {r['index_read']:>6,} {r['allowed']:>6,} {r['verdict']:<7} "
                f"{r['match_ms_median']:>9.1f} "
                f"{r['match_ms_p95']:>8.1f} {r['engine_ms_median']:>9.2f}  "
                + ", ".join(f"{op} {n:g}" for op, n in r["calls"].items())
            )
    verdicts = [r["verdict"] for roster in result["rosters"] for r in roster["requests"]]
    lines.append(
        "\ntarget: index (the candidate Queries' items) <= 2 x eligible; no Scan. read: every item the "
        "match read, its stamps' upkeep included"
    )
    lines.append(f"{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL")
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for roster in result["rosters"]:
        requests = roster["requests"]
        passed = sum(r["verdict"] == "PASS" for r in requests)
        slowest = max(requests, key=lambda r: r["match_ms_median"])
        rows.append(
            (
                f"roster {roster['directors']:,}: items read, {len(requests)} requests",
                f"{passed} PASS; slowest {slowest['label']} {slowest['match_ms_median']:.0f} ms (moto)",
                "index <= 2 x eligible",
                "PASS" if passed == len(requests) else "FAIL",
            )
        )
    return rows
