"""Matching benchmark: `python -m bench.match` (`make bench` runs it with --runs 3). Not part of the tests.

For generated rosters (default 1,000 and 10,000 directors) loaded into in-process moto (tables from
template.yaml via local.resources), it matches a fixed set of requests with
directormatch.matching.waves.match_request, N times each (a fresh REQUEST item per run, since a match
writes its MATCH item and offers once), and measures:

- time to match one request (median and p95; plus the engine alone, `shortlist`, without I/O),
- DynamoDB items read per request, counted from the responses of the shared client
  (directormatch.aws.clients.dynamodb()) by an `after-call` event hook, and the calls by operation,
- candidates: ByState index items (LICENSE#<state>) in the requested states.

Target: items read <= 2 x candidates + offers written, and never a Scan. Results go to
bench/results/latest.json. Timings are moto's in-process emulation plus the engine on this machine,
not a real DynamoDB latency; items read and calls are what a real table would see.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
DEFAULT_SIZES = (1_000, 10_000)
DEFAULT_RUNS = 10
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


def fake_aws_environment() -> None:
    """Fake credentials and region before any client exists: nothing can reach a real account."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "directormatch-bench",
        }
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)


@dataclass
class ReadCounter:
    """Items returned and calls made by one botocore client, from its `after-call` events."""

    items: int = 0
    calls: Counter[str] = field(default_factory=Counter)

    def __call__(self, http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        operation = model.name if model is not None else "?"
        self.calls[operation] += 1
        parsed = parsed or {}
        if operation in ("Query", "Scan"):
            self.items += len(parsed.get("Items", []))
        elif operation == "GetItem":
            self.items += 1 if parsed.get("Item") else 0
        elif operation == "BatchGetItem":
            self.items += sum(len(found) for found in parsed.get("Responses", {}).values())
        elif operation == "TransactGetItems":
            self.items += sum(1 for response in parsed.get("Responses", []) if response.get("Item"))

    def reset(self) -> None:
        self.items = 0
        self.calls = Counter()


@dataclass
class RequestResult:
    label: str
    states: list[str]
    candidates: int  # ByState index items in the requested states
    directors: int  # distinct directors among them
    eligible: int
    excluded: dict[str, int]
    offers: int
    team: bool
    items_read: int
    target: int
    verdict: str
    calls: dict[str, float]  # average per request, by operation
    match_ms_median: float
    match_ms_p95: float
    engine_ms_median: float
    runs: int


@dataclass
class RosterResult:
    directors: int
    table_items: int
    generate_s: float
    load_s: float
    requests: list[RequestResult]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@contextmanager
def timed_engine(samples: list[float]) -> Iterator[None]:
    """Time directormatch.matching.waves's call to the pure engine (`shortlist`) during the block."""
    from directormatch.matching import engine as matching
    from directormatch.matching import waves as matchmaker

    original: Callable[..., Any] = matching.shortlist

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            samples.append((time.perf_counter() - started) * 1000)

    with mock.patch.object(matchmaker, "shortlist", new=timed):
        yield


def request_body(fields: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clinic": {"name": "Bench Clinic"},
        "contact": {"name": "Bench Contact", "email": "ops@bench.example", "phone": "(512) 555-0100"},
        "locations": 1,
        "controlled_substances": False,
        "start_by": (date.today() + timedelta(days=30)).isoformat(),
        "consent": True,
    }
    body.update(fields)
    return body


def bench_roster(size: int, runs: int, seed: int) -> RosterResult:
    import boto3
    from moto import mock_aws
    from ulid import ULID

    from directormatch.aws import clients as aws
    from directormatch.aws import tables
    from directormatch.intake.contract import QuoteRequest
    from directormatch.intake.submit import request_item
    from directormatch.matching.waves import match_request
    from directormatch.records import Request
    from directormatch.settings import get_settings
    from local import moto_patch, resources
    from ops.roster.synthetic import synthetic_roster

    # The fairness stamp is a transaction; shipped moto copies the whole Directors table per item of
    # a transaction (seconds at 10,000 directors), which DynamoDB does not: see local/moto_patch.py.
    moto_patch.apply()
    with mock_aws():
        aws.clear_clients()
        parameters = resources.local_parameters()
        resources.create_all(boto3.Session(region_name="us-east-1"), parameters)
        os.environ.update(resources.local_environment("MatchFunction", parameters))
        get_settings.cache_clear()
        settings = get_settings()

        started = time.perf_counter()
        items = synthetic_roster(size, seed=seed, today=date.today())
        generate_s = time.perf_counter() - started
        started = time.perf_counter()
        tables.directors().put_items(items)
        load_s = time.perf_counter() - started
        print(f"  {len(items):,} items generated in {generate_s:.1f} s, loaded in {load_s:.1f} s", flush=True)

        index_items = [i for i in items if i["sk"].startswith("LICENSE#")]
        counter = ReadCounter()
        aws.dynamodb().meta.events.register("after-call.dynamodb.*", counter)
        requests = tables.requests()
        results = []
        for label, fields in REQUESTS:
            body = request_body(fields)
            quote = QuoteRequest.model_validate(body)
            states = list(quote.states)
            in_states = [i for i in index_items if i["license_state"] in states]
            match_ms: list[float] = []
            engine_ms: list[float] = []
            reads: list[int] = []
            calls: Counter[str] = Counter()
            for run in range(runs + 1):  # run 0 warms up and is not counted
                now = datetime.now(UTC)
                request = request_item(str(ULID()), quote, now)
                requests.create_request(request, None)
                directors = tables.directors()
                samples: list[float] = []
                counter.reset()
                with timed_engine(samples):
                    started = time.perf_counter()
                    result, recorded = match_request(
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
                if run == 0:
                    continue
                match_ms.append(elapsed)
                engine_ms.extend(samples)
                reads.append(counter.items)
                calls.update(counter.calls)
            items_read = max(reads)
            offers = len(result.picks)
            target = 2 * len(in_states) + offers
            ok = items_read <= target and calls["Scan"] == 0
            results.append(
                RequestResult(
                    label=label,
                    states=states,
                    candidates=len(in_states),
                    directors=len({i["pk"] for i in in_states}),
                    eligible=result.eligible,
                    excluded=dict(result.excluded),
                    offers=offers,
                    team=result.team,
                    items_read=items_read,
                    target=target,
                    verdict="PASS" if ok else "FAIL",
                    calls={op: round(n / runs, 1) for op, n in sorted(calls.items())},
                    match_ms_median=round(statistics.median(match_ms), 1),
                    match_ms_p95=round(percentile(match_ms, 95), 1),
                    engine_ms_median=round(statistics.median(engine_ms), 2),
                    runs=runs,
                )
            )
            print(f"  {label}: {statistics.median(match_ms):.0f} ms median over {runs} runs", flush=True)
        aws.dynamodb().meta.events.unregister("after-call.dynamodb.*", counter)
        aws.clear_clients()
        return RosterResult(size, len(items), round(generate_s, 2), round(load_s, 2), results)


def table(rosters: list[RosterResult]) -> str:
    header = (
        f"{'roster':>7} {'request':<14} {'cand.':>6} {'dirs':>5} {'elig.':>5} {'offers':>6} {'team':>4} "
        f"{'read':>6} {'target':>6} {'verdict':<7} {'median ms':>9} {'p95 ms':>8} {'engine ms':>9}"
        "  calls/request"
    )
    lines = [header, "-" * len(header)]
    for roster in rosters:
        for r in roster.requests:
            calls = ", ".join(f"{op} {n:g}" for op, n in r.calls.items())
            lines.append(
                f"{roster.directors:>7,} {r.label:<14} {r.candidates:>6,} {r.directors:>5,} "
                f"{r.eligible:>5,} {r.offers:>6} {'yes' if r.team else 'no':>4} {r.items_read:>6,} "
                f"{r.target:>6,} {r.verdict:<7} {r.match_ms_median:>9.1f} {r.match_ms_p95:>8.1f} "
                f"{r.engine_ms_median:>9.2f}  {calls}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.match", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="roster sizes")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="timed runs per request (default 10)")
    parser.add_argument("--seed", type=int, default=7, help="roster seed (default 7)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    fake_aws_environment()
    rosters = []
    for size in args.sizes:
        print(f"roster of {size:,} directors, {args.runs} runs per request ...", flush=True)
        rosters.append(bench_roster(size, args.runs, args.seed))

    print()
    print(table(rosters))
    verdicts = [r.verdict for roster in rosters for r in roster.requests]
    print()
    print("target: items read <= 2 x candidates (ByState items in the requested states) + offers; no Scan")
    print(f"{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL")

    import boto3
    import moto

    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "moto": moto.__version__,
        "runs": args.runs,
        "seed": args.seed,
        "target": "items_read <= 2 * candidates + offers, and no Scan",
        "rosters": [asdict(roster) for roster in rosters],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 0 if "FAIL" not in verdicts else 1


if __name__ == "__main__":
    sys.exit(main())
