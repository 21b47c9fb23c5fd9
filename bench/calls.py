"""DynamoDB calls and items per operation: `python -m bench.calls`. Not part of the tests.

Runs whole quote lifecycles through the real handlers in this process, against moto in server mode
(tables from template.yaml, a synthetic roster), and delivers stream records the way Lambda's event
source mappings would (local.streams.Subscription: the template's filters and batch sizes):

    intake (API event, with or without Idempotency-Key) -> match and notify (stream)
    -> a director opens the offer link and accepts (respond: GET, then POST) -> notify (stream)

then the sweep over requests left OFFERED (offers still open, then expired: the next wave), the
daily expiry warnings and one SES bounce (feedback). Every call through directormatch.aws.clients.dynamodb()
and sesv2() is counted with botocore event hooks (`before-call` counts, `after-call` counts items
and estimates request units; see bench.common.CallCounter), per invocation, per function.

Two passes: the first counts, reading each written item before and after (through another client)
to estimate write units and index upkeep; the second, without those reads, times the handlers (warm:
the first invocation of each function is left out), for the cost estimate.

Targets: intake at most 2 calls per accepted request; match items read <= 2 x candidates +
offers; no Scan anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    BENCH_TOKEN_KEYS,
    CallCounter,
    MotoServer,
    StdoutSink,
    Tally,
    median,
    percentile,
    say,
    write_part,
)

DEFAULT_COUNT_QUOTES = 20
DEFAULT_TIME_QUOTES = 40
DEFAULT_OFFERED = 6
DEFAULT_ROSTER = 1_000
INTAKE_TARGET_CALLS = 2
STATES = (
    ["TX"],
    ["CA"],
    ["FL"],
    ["NY"],
    ["TX", "OK", "LA"],
    ["WA"],
    ["GA", "SC"],
    ["IL"],
    ["AZ"],
    ["CO", "UT"],
)


@dataclass
class Invocation:
    function: str
    label: str
    tally: Tally
    ms: float
    log_bytes: int
    records: int


@dataclass
class Run:
    invocations: list[Invocation] = field(default_factory=list)
    candidates: list[tuple[str, int, int, int]] = field(
        default_factory=list
    )  # (request, cand., read, offers)
    quotes: int = 0
    accepted: int = 0
    no_match: int = 0

    def tally(self, label: str) -> tuple[Tally, int]:
        total = Tally()
        count = 0
        for invocation in self.invocations:
            if invocation.label == label:
                total.add(invocation.tally)
                count += 1
        return total, count


class Lifecycle:
    """The handlers, a stream pump driven by hand, and the counter, against one moto server."""

    def __init__(self, server: MotoServer, roster_size: int, sink: StdoutSink) -> None:
        import boto3

        from directormatch.aws import clients as aws
        from directormatch.aws import tables
        from directormatch.settings import get_settings
        from local import template
        from ops.roster.synthetic import synthetic_roster

        self.server = server
        self.sink = sink
        self.settings = get_settings()
        self.items = synthetic_roster(roster_size, seed=7, today=date.today())
        tables.directors().put_items(self.items)
        self.by_state: Counter[str] = Counter(
            i["license_state"] for i in self.items if i["sk"].startswith("LICENSE#")
        )
        self.handlers = {
            name: getattr(__import__(module, fromlist=[attribute]), attribute)
            for name in template.resources("AWS::Serverless::Function")
            for module, attribute in [template.handler_module(name)]
        }
        session = boto3.session.Session(region_name="us-east-1")
        self.reader = session.client("dynamodb")  # the benchmark's own reads: not counted
        self.streams = session.client("dynamodbstreams")
        self.routes = template.api_routes()
        self.counter = CallCounter()
        self.counter.attach(aws.dynamodb())
        self.counter.attach(aws.sesv2())
        self.run = Run()
        self.reset_streams()

    def reset_streams(self) -> None:
        from local import template
        from local.streams import Subscription

        self.subscriptions = []
        for spec in template.stream_subscriptions():
            arn = self.reader.describe_table(TableName=spec.table)["Table"]["LatestStreamArn"]
            self.subscriptions.append(Subscription(spec, arn, None, self.streams))

    # Invoking ------------------------------------------------------------------------------------

    def invoke(self, function: str, label: str, event: dict[str, Any]) -> Any:
        from local.lambdas import LambdaContext

        tally = Tally()
        logged = self.sink.bytes
        with self.counter.into(tally):
            started = time.perf_counter()
            response = self.handlers[function](event, LambdaContext(function_name=function))
            elapsed = (time.perf_counter() - started) * 1000
        records = len(event.get("Records", [])) if isinstance(event.get("Records"), list) else 0
        self.run.invocations.append(
            Invocation(function, label, tally, elapsed, self.sink.bytes - logged, records)
        )
        return response

    def drain(self) -> None:
        """Deliver stream records until none is left, polling every subscription before delivering
        (as independent event source mappings would), in batches of the template's BatchSize."""
        while True:
            for subscription in self.subscriptions:
                subscription.poll()
            delivered = False
            for subscription in self.subscriptions:
                while subscription.pending:
                    batch = subscription.pending[: subscription.spec.batch_size]
                    subscription.pending = subscription.pending[len(batch) :]
                    label = subscription.spec.function.removesuffix("Function").lower()
                    response = self.invoke(subscription.spec.function, label, {"Records": batch})
                    if (response or {}).get("batchItemFailures"):
                        raise RuntimeError(f"{subscription.spec.function} failed records: {response}")
                    delivered = True
            if not delivered:
                return

    def api(self, function: str, label: str, method: str, path: str, body: bytes = b"") -> dict[str, Any]:
        from local import apigw

        found = apigw.match_route(self.routes, method, path)
        if found is None:
            raise RuntimeError(f"no route for {method} {path}")
        route, params = found
        headers = {"Host": "api.directormatch.example", "User-Agent": "bench"}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        event = apigw.proxy_event(route, method, path, "", headers, body, params, "127.0.0.1")
        response: dict[str, Any] = self.invoke(function, label, event)
        return response

    # The lifecycle -------------------------------------------------------------------------------

    def partition(self, request_id: str) -> list[dict[str, Any]]:
        from directormatch.aws.attributes import from_attributes

        pages = self.reader.get_paginator("query").paginate(
            TableName=self.settings.requests_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": request_id}},
            ConsistentRead=True,
        )
        return [from_attributes(raw) for page in pages for raw in page.get("Items", [])]

    def quote(self, index: int, with_key: bool, accept: bool) -> str:
        from tests.events import api_event, quote_body

        states = STATES[index % len(STATES)]
        body = quote_body(
            states=states,
            clinic={"name": f"Bench Clinic {index}"},
            contact={
                "name": "Bench Contact",
                "email": f"clinic{index}@bench.example",
                "phone": "(512) 555-0100",
            },
        )
        label = "intake_key" if with_key else "intake_no_key"
        headers = {"Idempotency-Key": f"bench-{index}-{time.time_ns()}"} if with_key else None
        event = api_event(body, headers=headers, without_headers=() if with_key else ("Idempotency-Key",))
        response = self.invoke("IntakeFunction", label, event)
        if response["statusCode"] != 201:
            raise RuntimeError(f"intake answered {response['statusCode']}: {response['body'][:300]}")
        request_id: str = json.loads(response["body"])["request_id"]
        self.run.quotes += 1
        self.drain()
        items = self.partition(request_id)
        offers = [i for i in items if i["sk"].startswith("OFFER#")]
        match = next((i for i in items if i["sk"] == "MATCH"), None)
        if match is not None:
            candidates = sum(self.by_state[s] for s in states)
            self.run.candidates.append((request_id, candidates, int(match.get("items_read", 0)), len(offers)))
        if not offers:
            self.run.no_match += 1
            return request_id
        if accept:
            self.accept(request_id, offers[0])
            self.drain()
        return request_id

    def accept(self, request_id: str, offer: dict[str, Any]) -> None:
        """The director opens the accept link (GET shows the confirmation page), then confirms (POST)."""
        from directormatch import tokens

        expires = datetime.fromisoformat(offer["expires_at"])
        token = tokens.issue(
            tokens.keyring(), tokens.Action.ACCEPT, request_id, offer["director_id"], expires
        )
        shown = self.api("RespondFunction", "respond_show", "GET", f"/offers/{token}")
        if shown["statusCode"] != 200:
            raise RuntimeError(f"offer page answered {shown['statusCode']}")
        answered = self.api("RespondFunction", "respond_accept", "POST", f"/offers/{token}/accept")
        if answered["statusCode"] != 200 or "ACCEPTED" not in self.offer_status(
            request_id, offer["director_id"]
        ):
            raise RuntimeError(f"accept answered {answered['statusCode']}: {str(answered.get('body'))[:300]}")
        self.run.accepted += 1

    def offer_status(self, request_id: str, director_id: str) -> str:
        found = self.reader.get_item(
            TableName=self.settings.requests_table,
            Key={"pk": {"S": request_id}, "sk": {"S": f"OFFER#{director_id}"}},
            ConsistentRead=True,
        ).get("Item", {})
        return str(found.get("offer_status", {}).get("S", ""))

    def sweep(self, label: str, moment: datetime, task: str | None = None) -> dict[str, Any]:
        from local.clock import scheduled_event

        event: dict[str, Any] = scheduled_event(moment, "SweepFunction")
        if task:
            event = {"task": task, "time": event["time"]}
        report: dict[str, Any] = self.invoke("SweepFunction", label, event)
        return report

    def feedback(self) -> None:
        from tests.events import load_event

        self.invoke("FeedbackFunction", "feedback", load_event("feedback/permanent_bounce.json"))


def environment() -> None:
    """One process for every function, as the local stack runs them: their environments agree."""
    from local import resources, template

    parameters = resources.local_parameters()
    for function in template.resources("AWS::Serverless::Function"):
        os.environ.update(resources.local_environment(function, parameters))
    os.environ.update({"AWS_LAMBDA_FUNCTION_NAME": "bench", "TOKEN_KEYS": BENCH_TOKEN_KEYS})
    os.environ.pop("POWERTOOLS_TRACE_DISABLED", None)


def per(tally: Tally, count: float) -> dict[str, Any]:
    return tally.as_dict(per=count)


def counting_pass(lifecycle: Lifecycle, quotes: int, offered: int) -> dict[str, Any]:
    lifecycle.counter.probe = True
    for i in range(quotes):
        lifecycle.quote(i, with_key=i % 2 == 0, accept=True)
        if (i + 1) % 5 == 0:
            say(f"  counting: {i + 1}/{quotes} quotes")
    happy_path = list(lifecycle.run.invocations)
    happy_quotes, happy_accepted = lifecycle.run.quotes, lifecycle.run.accepted
    for i in range(offered):  # left OFFERED for the sweep
        lifecycle.quote(1_000 + i, with_key=True, accept=False)
    run = lifecycle.run
    open_offers = lifecycle.sweep("sweep_open", datetime.now(UTC))
    later = datetime.now(UTC) + timedelta(hours=lifecycle.settings.offer_hours, minutes=1)
    expired = lifecycle.sweep("sweep_expired", later)
    lifecycle.drain()
    lifecycle.sweep("expiry_warnings", datetime.now(UTC), task="expiry_warnings")
    lifecycle.feedback()

    result: dict[str, Any] = {"quotes": run.quotes, "accepted": run.accepted, "no_match": run.no_match}
    for label in ("intake_key", "intake_no_key", "match", "respond_show", "respond_accept", "feedback"):
        tally, count = run.tally(label)
        result[label] = {"invocations": count, **per(tally, count)}
    notify, notify_count = run.tally("notify")
    result["notify"] = {"invocations": notify_count, **per(notify, notify_count)}
    result["notify_per_email"] = {**per(notify, notify.emails), "emails_total": notify.emails}
    for label, report in (("sweep_open", open_offers), ("sweep_expired", expired)):
        tally, _ = run.tally(label)
        requests = max(1, int(report.get("requests_checked", 0)))
        index_queries = tally.calls.get("Query(RequestsByStatus)", 0)
        fixed = Tally(calls=Counter({"Query(RequestsByStatus)": index_queries}))
        variable = Tally()
        variable.add(tally)
        variable.calls = Counter({k: v for k, v in tally.calls.items() if k != "Query(RequestsByStatus)"})
        result[label] = {
            "report": {k: v for k, v in report.items() if k != "errors"},
            "index_queries": fixed.total_calls(),
            "per_offered_request": per(variable, requests),
            "whole_run": per(tally, 1),
        }
    warnings, _ = run.tally("expiry_warnings")
    result["expiry_warnings"] = per(warnings, 1)
    match_rows = [
        {
            "request_id": r,
            "candidates": c,
            "items_read": read,
            "offers": o,
            "target": 2 * c + o,
            "ok": read <= 2 * c + o,
        }
        for r, c, read, o in run.candidates
    ]
    result["match_requests"] = match_rows
    total = Tally()
    for invocation in run.invocations:
        total.add(invocation.tally)
    result["all_calls"] = dict(sorted(total.calls.items()))
    result["scans"] = sum(n for op, n in total.calls.items() if op.startswith("Scan"))
    # Per function and per quote, for the cost estimate: invocations, calls, units, emails, log bytes.
    per_function: dict[str, dict[str, Any]] = {}
    by_function: dict[str, list[Invocation]] = defaultdict(list)
    for invocation in happy_path:
        by_function[invocation.function].append(invocation)
    quotes_run = happy_quotes
    for function, invocations in by_function.items():
        tally = Tally()
        for invocation in invocations:
            tally.add(invocation.tally)
        per_function[function] = {
            "invocations_per_quote": round(len(invocations) / quotes_run, 3),
            "log_bytes_per_invocation": round(sum(i.log_bytes for i in invocations) / len(invocations)),
            **per(tally, quotes_run),
        }
    result["per_quote_by_function"] = per_function
    result["per_quote_quotes"] = happy_quotes
    result["per_quote_accepted"] = happy_accepted
    result["per_quote_note"] = (
        f"the first {happy_quotes} quotes, {happy_accepted} of them accepted through the offer link "
        "(GET then POST); the sweep and the daily warnings are not per quote"
    )
    return result


def timing_pass(lifecycle: Lifecycle, quotes: int) -> dict[str, Any]:
    """The lifecycle again, without the size probes."""
    lifecycle.counter.probe = False
    lifecycle.run = Run()
    for i in range(quotes):
        lifecycle.quote(2_000 + i, with_key=i % 2 == 0, accept=True)
        if (i + 1) % 10 == 0:
            say(f"  timing: {i + 1}/{quotes} quotes")
    for _ in range(6):  # a scheduled sweep with nothing OFFERED: its fixed cost per run
        lifecycle.sweep("sweep", datetime.now(UTC))
    durations: dict[str, list[float]] = defaultdict(list)
    own: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for invocation in lifecycle.run.invocations:
        if invocation.function not in seen:  # the first one creates clients: not warm
            seen.add(invocation.function)
            continue
        durations[invocation.function].append(invocation.ms)
        own[invocation.function].append(invocation.ms - invocation.tally.aws_ms)
    return {
        "quotes": quotes,
        "durations": {
            function: {
                "median_ms": round(median(values), 1),
                "mean_ms": round(sum(values) / len(values), 1),
                "p90_ms": round(percentile(values, 90), 1),
                "median_own_ms": round(median(own[function]), 1),
                "n": len(values),
            }
            for function, values in sorted(durations.items())
        },
    }


def bench(count_quotes: int, time_quotes: int, offered: int, roster: int) -> dict[str, Any]:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    server = MotoServer()
    server.start()
    environment()
    sink = StdoutSink()
    sys.stdout = sink  # handler logs and EMF metrics: counted (CloudWatch Logs bytes), not printed
    try:
        started = time.perf_counter()
        lifecycle = Lifecycle(server, roster, sink)
        say(
            f"  roster of {roster:,} directors ({len(lifecycle.items):,} items) loaded in "
            f"{time.perf_counter() - started:.1f} s"
        )
        counts = counting_pass(lifecycle, count_quotes, offered)
        timing = timing_pass(lifecycle, time_quotes)
    finally:
        sys.stdout = sys.__stdout__
        server.stop()
    intake_calls = max(counts["intake_key"]["total_calls"], counts["intake_no_key"]["total_calls"])
    match_ok = all(r["ok"] for r in counts["match_requests"])
    return {
        "roster": roster,
        "counts": counts,
        "timing": timing,
        "verdicts": {
            "intake_calls": "PASS" if intake_calls <= INTAKE_TARGET_CALLS else "FAIL",
            "match_items_read": "PASS" if match_ok else "FAIL",
            "no_scan": "PASS" if counts["scans"] == 0 else "FAIL",
        },
    }


def calls_text(figures: dict[str, Any]) -> str:
    return ", ".join(f"{op} {n:g}" for op, n in figures["calls"].items())


def table(result: dict[str, Any]) -> str:
    counts = result["counts"]
    header = (
        f"{'operation':<36} {'calls':>6} {'items':>6} {'RRU':>6} {'WRU':>6} {'GSI WRU':>7} {'emails':>6}"
        "  calls by operation"
    )
    lines = [header, "-" * len(header)]
    rows = [
        ("intake, with Idempotency-Key /req.", counts["intake_key"]),
        ("intake, without the header /req.", counts["intake_no_key"]),
        ("match /request", counts["match"]),
        ("notify /email", counts["notify_per_email"]),
        ("respond: open offer page", counts["respond_show"]),
        ("respond: accept", counts["respond_accept"]),
        ("sweep /OFFERED req., offers open", counts["sweep_open"]["per_offered_request"]),
        ("sweep /OFFERED req., expired+wave", counts["sweep_expired"]["per_offered_request"]),
        ("sweep: daily expiry warnings (run)", counts["expiry_warnings"]),
        ("feedback: one bounce", counts["feedback"]),
    ]
    for label, f in rows:
        lines.append(
            f"{label:<36} {f['total_calls']:>6g} {f['items_read']:>6g} {f['read_units']:>6g} "
            f"{f['write_units']:>6g} {f['index_write_units']:>7g} {f['emails']:>6g}  {calls_text(f)}"
        )
    lines.append("")
    lines.append(
        f"sweep index queries per run: {counts['sweep_open']['index_queries']} "
        "(RequestsByStatus OFFERED and NEW, not per request)"
    )
    reads = counts["match_requests"]
    if reads:
        worst = max(reads, key=lambda r: r["items_read"] / max(1, r["target"]))
        lines.append(
            f"match reads: {len(reads)} requests, items read = candidates in every one: "
            f"{all(r['items_read'] == r['candidates'] for r in reads)}; worst {worst['items_read']} read "
            f"of {worst['target']} allowed (2 x {worst['candidates']} candidates + {worst['offers']} offers)"
        )
    lines.append(f"Scan calls: {counts['scans']} (every call: {counts['all_calls']})")
    lines.append("")
    lines.append(
        "warm handler durations on moto (timing pass, first invocation of each function left out;"
        " own = outside AWS calls):"
    )
    for function, d in result["timing"]["durations"].items():
        lines.append(
            f"  {function:<18} median {d['median_ms']:>7.1f} ms  p90 {d['p90_ms']:>7.1f} ms  "
            f"own {d['median_own_ms']:>6.1f} ms  (n={d['n']})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=DEFAULT_COUNT_QUOTES, help="counted lifecycles (20)")
    parser.add_argument("--timed", type=int, default=DEFAULT_TIME_QUOTES, help="timed lifecycles (40)")
    parser.add_argument("--offered", type=int, default=DEFAULT_OFFERED, help="requests left OFFERED (6)")
    parser.add_argument("--roster", type=int, default=DEFAULT_ROSTER, help="directors (1,000)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    print(
        f"calls per operation: {args.quotes} counted and {args.timed} timed quote lifecycles, "
        f"{args.offered} left OFFERED for the sweep, roster of {args.roster:,} ...",
        flush=True,
    )
    result = bench(args.quotes, args.timed, args.offered, args.roster)
    print()
    print(table(result))
    verdicts = result["verdicts"]
    print(
        f"\ntargets: intake <= {INTAKE_TARGET_CALLS} calls per accepted request -> "
        f"{verdicts['intake_calls']}; "
        f"match items read <= 2 x candidates + offers -> {verdicts['match_items_read']}; "
        f"no Scan -> {verdicts['no_scan']}"
    )
    write_part(args.json, result)
    return 0 if "FAIL" not in verdicts.values() else 1


if __name__ == "__main__":
    sys.exit(main())
