"""Case 10, `make load` (not part of `make test`): 2,000 quote requests through the local stack at
concurrency 20, then a full account of what happened to each.

    python -m tests.reliability.load [--requests 2000] [--concurrency 20] [--moto-as-shipped]

It starts `python -m local` on free ports (output in .local/reliability/load/stack.log; the sweep
on its deployed 5-minute rate), posts valid requests spread over every state, each with its own
Idempotency-Key, from 20 threads; waits until the pipeline has drained (every request matched and
the outbox quiet); then reads the Requests table through the moto endpoint and the outbox, and
checks: every request stored once, matched once (offers, or NO_MATCH with its alert), one receipt
each, one email per offer and per NO_MATCH alert, and no email sent twice. It prints the latency
percentiles of the POST, submit -> receipt and submit -> first offer email (the times an email
was written to the outbox), and writes the figures to .local/reliability/load.json, which the
reliability table shows as case 10.

moto's TransactWriteItems copies the whole table once per item of a transaction, which no real
table does and which makes 2,000 requests quadratic; like `make bench`, the stack runs with
local.moto_patch (back up only the touched items) unless --moto-as-shipped.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from directormatch.vocabulary import US_STATES
from local import launch
from local.launch import RunningStack
from tests.events import quote_body

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".local" / "reliability"
RESULT = STATE / "load.json"
DRAIN_TIMEOUT_SECONDS = 1800
QUIET_SECONDS = 20
POST_ATTEMPTS = 5
STATES = sorted(US_STATES)  # the 50 states and DC
MESSAGE_ID = re.compile(r"<(?P<kind>[a-z_0-9]+)\.(?P<ref>[^@]+)@directormatch>")


@dataclass
class Submission:
    number: int
    key: str
    started: float = 0.0
    seconds: float = 0.0
    status: int = 0
    request_id: str = ""
    attempts: int = 0
    errors: list[str] = field(default_factory=list)


def body(number: int) -> bytes:
    quote = quote_body(
        states=[STATES[number % len(STATES)]],
        contact={
            "name": f"Load Tester {number}",
            "email": f"load{number}@clinic{number}.example",
            "phone": "(512) 555-0147",
        },
    )
    return json.dumps(quote).encode()


def submit(stack: RunningStack, submission: Submission) -> Submission:
    """POST as the website does: on 503 (Retry-After) or a connection error, again with the same
    Idempotency-Key, so a retry can never make a second request. The POST latency is the first
    attempt's start to the 201."""
    submission.started = time.time()
    headers = {"Content-Type": "application/json", "Idempotency-Key": submission.key}
    for attempt in range(1, POST_ATTEMPTS + 1):
        submission.attempts = attempt
        wait = 0.5 * attempt
        try:
            status, answer_headers, data = stack.request(
                "POST", "/quote-requests", body(submission.number), headers, timeout=120
            )
        except OSError as error:
            submission.status = -1
            submission.errors.append(type(error).__name__)
            time.sleep(wait)
            continue
        submission.status = status
        if status == 201:
            submission.request_id = json.loads(data)["request_id"]
            break
        submission.errors.append(str(status))
        if status != 503:
            break
        time.sleep(float(answer_headers.get("Retry-After") or wait))
    submission.seconds = time.time() - submission.started
    return submission


def scan(client: Any, table: str) -> Iterator[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    for page in client.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            yield {k: deserializer.deserialize(v) for k, v in raw.items()}


def dynamodb(stack: RunningStack) -> Any:

    return stack.dynamodb()


def matched_count(client: Any, ids: set[str]) -> int:
    return sum(1 for item in scan(client, "RequestsTable") if item["sk"] == "MATCH" and item["pk"] in ids)


def wait_for_drain(stack: RunningStack, ids: set[str]) -> float:
    """Until every request has its MATCH and the outbox has been quiet for QUIET_SECONDS."""
    client = dynamodb(stack)
    started = time.monotonic()
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() - started < DRAIN_TIMEOUT_SECONDS:
        count = len(stack.outbox(timeout=60))
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        elif time.monotonic() - last_change >= QUIET_SECONDS and matched_count(client, ids) == len(ids):
            return time.monotonic() - started
        if int(time.monotonic() - started) % 60 < 5:
            print(f"  draining: {count} emails so far", flush=True)
        time.sleep(5)
    raise RuntimeError("the pipeline did not drain in time")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(values)}


@dataclass
class Account:
    submitted: int = 0
    accepted: int = 0
    lost: Counter[str] = field(default_factory=Counter)
    duplicated: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    complete: int = 0


def account(stack: RunningStack, submissions: list[Submission]) -> tuple[Account, dict[str, list[float]]]:
    result = Account(submitted=len(submissions))
    ids = {s.request_id for s in submissions if s.status == 201}
    result.accepted = len(ids)
    result.lost["POST not answered 201"] = len(submissions) - len(ids)
    items = [i for i in scan(dynamodb(stack), "RequestsTable") if i["pk"] in ids]
    by_request: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_request.setdefault(item["pk"], []).append(item)
    entries = stack.outbox(timeout=60)
    sent = Counter(entry["message_id"] for entry in entries)
    outbox = stack.state_dir / "outbox"
    written = {entry["message_id"]: (outbox / entry["file"]).stat().st_mtime for entry in entries}
    started = {s.request_id: s.started for s in submissions if s.request_id}
    to_receipt, to_offer = [], []
    for request_id in ids:
        found = by_request.get(request_id, [])
        requests = [i for i in found if i["sk"] == "REQUEST"]
        offers = [i for i in found if i["sk"].startswith("OFFER#")]
        expected = {f"<receipt.{request_id}@directormatch>"}
        expected |= {f"<offer.{request_id}.{o['director_id']}@directormatch>" for o in offers}
        missing: list[str] = []
        if not requests:
            missing.append("REQUEST item")
        if not any(i["sk"] == "MATCH" for i in found):
            missing.append("MATCH item")
        status = requests[0]["request_status"] if requests else "?"
        result.outcomes[status] += 1
        if status == "NO_MATCH":
            if not any(i["sk"] == "ALERT#NO_MATCH" for i in found):
                missing.append("NO_MATCH alert")
            expected.add(f"<ops_no_match.{request_id}@directormatch>")
            expected.add(f"<no_match.{request_id}@directormatch>")
        elif not offers:
            missing.append("offers")
        missing += [f"email {m.split('.')[0].strip('<')}" for m in expected if m not in sent]
        for reason in missing:
            result.lost[reason] += 1
        for message_id in expected:
            if sent[message_id] > 1:
                result.duplicated[f"email {message_id.split('.')[0].strip('<')}"] += sent[message_id] - 1
        result.complete += int(not missing and all(sent[m] == 1 for m in expected))
        receipt = written.get(f"<receipt.{request_id}@directormatch>")
        if receipt:
            to_receipt.append(receipt - started[request_id])
        offer_times = [written[m] for m in expected if m.startswith("<offer.") and m in written]
        if offer_times:
            to_offer.append(min(offer_times) - started[request_id])
    # Emails of these requests beyond those expected (another kind, or a stranger's Message-ID twice).
    for message_id, count in sent.items():
        if count > 1 and not any(
            message_id.startswith(f"<{k}.") for k in ("receipt", "offer", "ops_no_match", "no_match")
        ):
            result.duplicated[f"email {message_id}"] += count - 1
    latencies = {
        "POST": [s.seconds for s in submissions if s.status == 201],
        "submit -> receipt": to_receipt,
        "submit -> first offer": to_offer,
    }
    return result, latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.load")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--moto-as-shipped", action="store_true", help="no local.moto_patch")
    arguments = parser.parse_args(argv)

    print("starting the local stack ...", flush=True)
    # The sweep on its deployed rate (5 minutes), not the stack's 5-second demo tick.
    variables = {"ROSTER_SIZE": "600", "SWEEP_SECONDS": "300"}
    variables["MOTO_AS_SHIPPED"] = "1" if arguments.moto_as_shipped else "0"
    stack = launch.start(STATE / "load", variables)
    try:
        submissions = [Submission(n, f"load-{uuid.uuid4()}") for n in range(arguments.requests)]
        print(f"posting {arguments.requests} requests at concurrency {arguments.concurrency} ...", flush=True)
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=arguments.concurrency) as pool:
            list(pool.map(lambda s: submit(stack, s), submissions))
        posting = time.monotonic() - began
        ids = {s.request_id for s in submissions if s.status == 201}
        print(f"posted in {posting:.0f} s; waiting for the pipeline to drain ...", flush=True)
        drained = wait_for_drain(stack, ids)
        result, latencies = account(stack, submissions)
    finally:
        stack.stop()

    lost, duplicated = sum(result.lost.values()), sum(result.duplicated.values())
    retried = Counter(error for s in submissions for error in s.errors)
    print(f"\n{result.submitted} submitted, {result.accepted} answered 201 in {posting:.0f} s")
    again = sum(s.attempts > 1 for s in submissions)
    print(f"POSTs retried with the same Idempotency-Key: {again} {dict(retried)}")
    print(f"drained {drained:.0f} s after the last POST; outcomes {dict(result.outcomes)}")
    print(f"complete (stored once, matched, every email once): {result.complete}")
    print(f"lost: {lost} {dict(+result.lost)}")
    print(f"duplicated: {duplicated} {dict(+result.duplicated)}")
    print(f"\n{'latency (s)':<24}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'n':>7}")
    figures = {}
    for name, values in latencies.items():
        cut = percentiles(values)
        figures[name] = cut
        print(
            f"{name:<24}"
            + "".join(f"{cut.get(p, 0):>8.2f}" for p in ("p50", "p95", "p99", "max"))
            + f"{len(values):>7}"
        )
    STATE.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(
        json.dumps(
            {
                "submitted": result.submitted,
                "answered_201": result.accepted,
                "complete": result.complete,
                "lost": lost,
                "duplicated": duplicated,
                "lost_by_reason": dict(+result.lost),
                "duplicated_by_reason": dict(+result.duplicated),
                "outcomes": dict(result.outcomes),
                "post_seconds": posting,
                "post_retries": dict(Counter(error for s in submissions for error in s.errors)),
                "drain_seconds": drained,
                "latency_seconds": figures,
                "concurrency": arguments.concurrency,
                "moto_patched": not arguments.moto_as_shipped,
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )
    print(f"\nfigures written to {RESULT.relative_to(ROOT)}")
    return 0 if lost == 0 and duplicated == 0 and result.complete == result.submitted else 1


if __name__ == "__main__":
    sys.exit(main())
