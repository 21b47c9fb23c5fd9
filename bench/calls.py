"""DynamoDB calls, items and request units per operation, and warm handler durations.

Whole quote lifecycles through the real handlers in this process, against moto in server mode (a
synthetic roster), with stream records delivered the way Lambda's event source mappings would
(local.streams.Subscription: the template's filters and batch sizes):

    intake (API event, alternately with and without Idempotency-Key) -> match and notify (stream)
    -> sender (the send queue, local.queues) -> a director opens the offer link and accepts
    (respond: GET, then POST) -> notify (stream) -> sender

then the sweep over requests left OFFERED (offers still open, then expired: the next wave), the
daily expiry warnings and one SES bounce (feedback). Every call through directormatch.aws.clients'
dynamodb(), sesv2() and the SQS client is counted per invocation (bench.common.CallCounter).

Two passes: the first counts, reading each written item before and after to estimate write units
and index upkeep; the second, without those reads, times the handlers (warm: the first invocation
of each function is left out), for the cost estimate.

Targets: intake at most 2 calls per accepted request; match items read <= 2 x candidates + offers;
no Scan anywhere.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import warnings
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.common import (
    BENCH_TOKEN_KEYS,
    FUNCTIONS,
    STATES,
    CallCounter,
    StdoutSink,
    Tally,
    moto_server,
    percentile,
    quote_body,
    say,
)

ROSTER = 1_000
INTAKE_TARGET_CALLS = 2
INDEX_QUERY = "Query(RequestsByStatusDay)"  # the sweep's, one per status and day read, whatever is OFFERED


@dataclass
class Invocation:
    function: str
    label: str
    tally: Tally
    ms: float
    log_bytes: int


class Lifecycle:
    """The handlers, a stream pump driven by hand, and the counter, against one moto server."""

    def __init__(self, sink: StdoutSink, parameters: dict[str, str]) -> None:
        import boto3

        from directormatch.aws import clients, tables
        from directormatch.settings import get_settings
        from local import queues, template
        from local.lambdas import Functions
        from local.streams import Subscription
        from ops.roster.synthetic import synthetic_roster

        self.sink = sink
        self.invocations: list[Invocation] = []
        self.match_reads: list[dict[str, int]] = []
        self.settings = get_settings()
        roster = synthetic_roster(ROSTER, seed=7, today=date.today())
        tables.directors().put_items(roster)  # before the counter is attached: not counted
        self.licenses = Counter(i["license_state"] for i in roster if i["sk"].startswith("LICENSE#"))
        self.functions = Functions()
        self.reader = boto3.session.Session(region_name="us-east-1").client("dynamodb")  # not counted
        streams = boto3.session.Session(region_name="us-east-1").client("dynamodbstreams")
        self.subscriptions = [
            Subscription(
                spec,
                self.reader.describe_table(TableName=spec.table)["Table"]["LatestStreamArn"],
                streams,
            )
            for spec in template.stream_subscriptions()
        ]
        session = boto3.session.Session(region_name="us-east-1")
        queue_urls = {name: parameters[name] for name in template.queue_names()}
        self.queues = queues.pollers(session, queue_urls, parameters, self._deliver)
        self.routes = template.api_routes()
        self.counter = CallCounter(clients.dynamodb(), clients.sesv2(), clients.client("sqs"))

    def invoke(self, function: str, label: str, event: dict[str, Any]) -> Any:
        tally, logged = Tally(), self.sink.bytes
        with self.counter.into(tally):
            started = time.perf_counter()
            response = self.functions.invoke(function, event)
            elapsed = (time.perf_counter() - started) * 1000
        self.invocations.append(Invocation(function, label, tally, elapsed, self.sink.bytes - logged))
        return response

    def _deliver(self, function: str, event: dict[str, Any]) -> Any:
        response = self.invoke(function, function.removesuffix("Function").lower(), event)
        if (response or {}).get("batchItemFailures"):
            raise RuntimeError(f"{function} failed messages: {response}")
        return response

    def drain(self) -> None:
        """Deliver stream records, then the send queue's letters, until neither has any left."""
        while self._drain_streams() + sum(poller.drain() for poller in self.queues):
            pass

    def _drain_streams(self) -> int:
        """Deliver stream records until none is left, polling every subscription before delivering
        (as independent event source mappings would), in batches of the template's BatchSize; the
        number of batches delivered."""
        batches = 0
        while True:
            for subscription in self.subscriptions:
                subscription.poll()
            delivered = False
            for subscription in self.subscriptions:
                spec = subscription.spec
                while subscription.pending:
                    batch = subscription.pending[: spec.batch_size]
                    subscription.pending = subscription.pending[len(batch) :]
                    label = spec.function.removesuffix("Function").lower()
                    response = self.invoke(spec.function, label, {"Records": batch})
                    if (response or {}).get("batchItemFailures"):
                        raise RuntimeError(f"{spec.function} failed records: {response}")
                    delivered = True
                    batches += 1
            if not delivered:
                return batches

    def respond(self, label: str, method: str, path: str) -> int:
        from local import apigw

        found = apigw.match_route(self.routes, method, path)
        assert found is not None, f"no route for {method} {path}"
        route, params = found
        headers = {"Host": "api.directormatch.example", "User-Agent": "bench"}
        event = apigw.proxy_event(route, method, path, "", headers, b"", params, "127.0.0.1")
        return int(self.invoke("RespondFunction", label, event)["statusCode"])

    def quote(self, index: int, with_key: bool, accept: bool) -> None:
        from directormatch.aws.attributes import from_attributes
        from tests.events import api_event

        states = STATES[index % len(STATES)]
        key = {"Idempotency-Key": f"bench-{index}-{time.time_ns()}"} if with_key else None
        event = api_event(
            quote_body(index, states), headers=key, without_headers=() if key else ("Idempotency-Key",)
        )
        response = self.invoke("IntakeFunction", "intake_key" if with_key else "intake_no_key", event)
        if response["statusCode"] != 201:
            raise RuntimeError(f"intake answered {response['statusCode']}: {response['body'][:300]}")
        request_id = json.loads(response["body"])["request_id"]
        self.drain()
        pages = self.reader.get_paginator("query").paginate(
            TableName=self.settings.requests_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": request_id}},
            ConsistentRead=True,
        )
        items = [from_attributes(raw) for page in pages for raw in page.get("Items", [])]
        offers = [i for i in items if i["sk"].startswith("OFFER#")]
        for match in (i for i in items if i["sk"] == "MATCH"):
            candidates = sum(self.licenses[s] for s in states)
            self.match_reads.append(
                {
                    "candidates": candidates,
                    "items_read": int(match.get("items_read", 0)),
                    "offers": len(offers),
                }
            )
        if accept and offers:
            self.accept(request_id, offers[0])
            self.drain()

    def accept(self, request_id: str, offer: dict[str, Any]) -> None:
        """The director opens the accept link (GET shows the confirmation page), then confirms (POST)."""
        from directormatch import tokens
        from directormatch.vocabulary import Action, OfferStatus

        expires = datetime.fromisoformat(offer["expires_at"])
        token = tokens.issue(tokens.keyring(), Action.ACCEPT, request_id, offer["director_id"], expires)
        if (status := self.respond("respond_show", "GET", f"/offers/{token}")) != 200:
            raise RuntimeError(f"offer page answered {status}")
        status = self.respond("respond_accept", "POST", f"/offers/{token}/accept")
        stored = self.reader.get_item(
            TableName=self.settings.requests_table,
            Key={"pk": {"S": request_id}, "sk": {"S": f"OFFER#{offer['director_id']}"}},
            ConsistentRead=True,
        )["Item"]
        if status != 200 or stored["offer_status"]["S"] != OfferStatus.ACCEPTED:
            raise RuntimeError(f"accept answered {status}, offer {stored['offer_status']['S']}")

    def sweep(self, label: str, moment: datetime, task: str | None = None) -> dict[str, Any]:
        from local.clock import scheduled_event

        event = scheduled_event(moment, "SweepFunction")
        report: dict[str, Any] = self.invoke(
            "SweepFunction", label, {"task": task, "time": event["time"]} if task else event
        )
        return report

    def tally(self, label: str) -> tuple[Tally, int]:
        """The sum of the invocations labelled `label`, and how many there were."""
        found = [i.tally for i in self.invocations if i.label == label]
        return Tally.sum(found), len(found)


def counting_pass(lifecycle: Lifecycle, quotes: int, offered: int) -> dict[str, Any]:
    from tests.events import load_event

    lifecycle.counter.probe = True
    for i in range(quotes):
        lifecycle.quote(i, with_key=i % 2 == 0, accept=True)
        if (i + 1) % 5 == 0:
            say(f"  counting: {i + 1}/{quotes} quotes")
    happy_path = list(lifecycle.invocations)
    for i in range(offered):  # left OFFERED for the sweep
        lifecycle.quote(1_000 + i, with_key=True, accept=False)
    reports = {"sweep_open": lifecycle.sweep("sweep_open", datetime.now(UTC))}
    later = datetime.now(UTC) + timedelta(hours=lifecycle.settings.offer_hours, minutes=1)
    reports["sweep_expired"] = lifecycle.sweep("sweep_expired", later)
    lifecycle.drain()
    lifecycle.sweep("expiry_warnings", datetime.now(UTC), task="expiry_warnings")
    lifecycle.invoke("FeedbackFunction", "feedback", load_event("feedback/permanent_bounce.json"))

    result: dict[str, Any] = {}
    for label in ("intake_key", "intake_no_key", "match", "respond_show", "respond_accept", "feedback"):
        tally, count = lifecycle.tally(label)
        result[label] = tally.as_dict(per=count)
    result["expiry_warnings"] = lifecycle.tally("expiry_warnings")[0].as_dict()
    notify, _ = lifecycle.tally("notify")
    sender, _ = lifecycle.tally("sender")
    result["notify_per_email"] = {**notify.as_dict(per=sender.emails), "emails_total": sender.emails}
    result["sender_per_email"] = {**sender.as_dict(per=sender.emails), "emails_total": sender.emails}
    for label, report in reports.items():
        sweep, _ = lifecycle.tally(label)
        result[f"{label}_index_queries"] = sweep.calls.pop(INDEX_QUERY, 0)
        result[label] = sweep.as_dict(per=max(1, int(report.get("requests_checked", 0))))
    result["match_reads"] = [
        {**r, "allowed": 2 * r["candidates"] + r["offers"]} for r in lifecycle.match_reads
    ]
    every_call = Tally.sum(i.tally for i in lifecycle.invocations).calls
    result["all_calls"] = dict(sorted(every_call.items()))
    result["scans"] = sum(n for op, n in every_call.items() if op.startswith("Scan"))
    # Per quote and per function, the happy path only (each quote submitted, matched, emailed and
    # accepted through the offer link), for the cost estimate.
    result["per_quote"] = {}
    for function in sorted({i.function for i in happy_path}):
        runs = [i for i in happy_path if i.function == function]
        result["per_quote"][function] = {
            "invocations": round(len(runs) / quotes, 3),
            "log_bytes_per_invocation": round(sum(i.log_bytes for i in runs) / len(runs)),
            **Tally.sum(i.tally for i in runs).as_dict(per=quotes),
        }
    return result


def timing_pass(lifecycle: Lifecycle, quotes: int) -> dict[str, Any]:
    """The lifecycle again, without the size probes."""
    lifecycle.counter.probe = False
    lifecycle.invocations = []
    for i in range(quotes):
        lifecycle.quote(2_000 + i, with_key=i % 2 == 0, accept=True)
        if (i + 1) % 10 == 0:
            say(f"  timing: {i + 1}/{quotes} quotes")
    for _ in range(6):  # a scheduled sweep with nothing OFFERED: its fixed cost per run
        lifecycle.sweep("sweep", datetime.now(UTC))
    durations: dict[str, Any] = {}
    for function in FUNCTIONS:
        warm = [i for i in lifecycle.invocations if i.function == function][1:]  # the first creates clients
        if warm:
            durations[function] = {
                "median_ms": round(statistics.median(i.ms for i in warm), 1),
                "p90_ms": round(percentile([i.ms for i in warm], 90), 1),
                "median_own_ms": round(statistics.median(i.ms - i.tally.aws_ms for i in warm), 1),
                "n": len(warm),
            }
    return durations


def run_section(quick: bool) -> dict[str, Any]:
    quotes, timed, offered = (5, 8, 2) if quick else (20, 40, 6)
    say(
        f"calls per operation: {quotes} counted and {timed} timed quote lifecycles, "
        f"{offered} left OFFERED for the sweep, roster of {ROSTER:,} ..."
    )
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with moto_server(), redirect_stdout(StdoutSink()) as sink:
        import boto3

        from local import resources, template

        sqs = boto3.session.Session(region_name="us-east-1").client("sqs")
        parameters = resources.local_parameters()
        # A queue's Ref is its URL (resources.create_all).
        parameters |= {name: sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in template.queue_names()}
        for function in FUNCTIONS:  # one process for every function, as the local stack runs them
            os.environ.update(resources.local_environment(function, parameters))
        os.environ.update({"AWS_LAMBDA_FUNCTION_NAME": "bench", "TOKEN_KEYS": BENCH_TOKEN_KEYS})
        os.environ.pop("POWERTOOLS_TRACE_DISABLED", None)
        started = time.perf_counter()
        lifecycle = Lifecycle(sink, parameters)
        say(f"  roster of {ROSTER:,} directors loaded in {time.perf_counter() - started:.1f} s")
        counts = counting_pass(lifecycle, quotes, offered)
        durations = timing_pass(lifecycle, timed)
    intake_calls = max(counts["intake_key"]["total_calls"], counts["intake_no_key"]["total_calls"])
    verdicts = {
        "intake_calls": "PASS" if intake_calls <= INTAKE_TARGET_CALLS else "FAIL",
        "match_items_read": "PASS"
        if all(r["items_read"] <= r["allowed"] for r in counts["match_reads"])
        else "FAIL",
        "no_scan": "PASS" if counts["scans"] == 0 else "FAIL",
    }
    return {"counts": counts, "durations": durations, "verdicts": verdicts}


def calls_text(figures: dict[str, Any], other_services: bool = True) -> str:
    """The calls by operation; DynamoDB's only without `other_services` (SES, SQS)."""
    shown = figures["calls"].items()
    return ", ".join(f"{op} {n:g}" for op, n in shown if other_services or ":" not in op)


def match_reads(counts: dict[str, Any]) -> tuple[int, bool, dict[str, int]]:
    """(requests matched, whether each read exactly its candidates, the one nearest its allowance)."""
    reads = counts["match_reads"]
    worst = max(reads, key=lambda r: r["items_read"] / r["allowed"])
    return len(reads), all(r["items_read"] == r["candidates"] for r in reads), worst


def table(result: dict[str, Any]) -> str:
    counts, verdicts = result["counts"], result["verdicts"]
    header = (
        f"{'operation':<36} {'calls':>6} {'items':>6} {'RRU':>6} {'WRU':>6} {'GSI WRU':>7} {'emails':>6}"
        "  calls by operation"
    )
    lines = [header, "-" * len(header)]
    for label, key in (
        ("intake, with Idempotency-Key /req.", "intake_key"),
        ("intake, without the header /req.", "intake_no_key"),
        ("match /request", "match"),
        ("notify /email", "notify_per_email"),
        ("sender /email", "sender_per_email"),
        ("respond: open offer page", "respond_show"),
        ("respond: accept", "respond_accept"),
        ("sweep /OFFERED req., offers open", "sweep_open"),
        ("sweep /OFFERED req., expired+wave", "sweep_expired"),
        ("sweep: daily expiry warnings (run)", "expiry_warnings"),
        ("feedback: one bounce", "feedback"),
    ):
        f = counts[key]
        lines.append(
            f"{label:<36} {f['total_calls']:>6g} {f['items_read']:>6g} {f['read_units']:>6g} "
            f"{f['write_units']:>6g} {f['index_write_units']:>7g} {f['emails']:>6g}  {calls_text(f)}"
        )
    matched, exact, worst = match_reads(counts)
    lines += [
        "",
        f"sweep index queries per run: {counts['sweep_open_index_queries']} "
        "(RequestsByStatusDay: OFFERED and NEW, one per day read, not per request)",
        f"match reads: {matched} requests, items read = candidates in every one: {exact}; worst "
        f"{worst['items_read']} read of {worst['allowed']} allowed (2 x {worst['candidates']} candidates + "
        f"{worst['offers']} offers)",
        f"Scan calls: {counts['scans']} (every call: {counts['all_calls']})",
        "",
        "warm handler durations on moto (timing pass, first invocation of each function left out;"
        " own = outside AWS calls):",
    ]
    for function, d in result["durations"].items():
        lines.append(
            f"  {function:<18} median {d['median_ms']:>7.1f} ms  p90 {d['p90_ms']:>7.1f} ms  "
            f"own {d['median_own_ms']:>6.1f} ms  (n={d['n']})"
        )
    lines.append(
        f"\ntargets: intake <= {INTAKE_TARGET_CALLS} calls per accepted request -> "
        f"{verdicts['intake_calls']}; "
        f"match items read <= 2 x candidates + offers -> {verdicts['match_items_read']}; "
        f"no Scan -> {verdicts['no_scan']}"
    )
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    counts, verdicts = result["counts"], result["verdicts"]

    def calls(key: str) -> str:
        return f"{counts[key]['total_calls']:g} ({calls_text(counts[key], other_services=False)})"

    notify = counts["notify_per_email"]
    matched, exact, worst = match_reads(counts)
    return [
        (
            "intake with Idempotency-Key: calls / accepted request",
            calls("intake_key"),
            "<= 2",
            verdicts["intake_calls"],
        ),
        (
            "intake without the header: calls / accepted request",
            calls("intake_no_key"),
            "<= 2",
            verdicts["intake_calls"],
        ),
        ("match: calls / request", calls("match"), "", "info"),
        (
            f"match: items read vs candidates ({matched} requests)",
            f"read = candidates in all: {exact}; worst {worst['items_read']} of {worst['allowed']}",
            "<= 2 x cand.+offers",
            verdicts["match_items_read"],
        ),
        (f"notify: calls / email ({notify['emails_total']} emails)", calls("notify_per_email"), "", "info"),
        ("sender: calls / email", calls("sender_per_email"), "", "info"),
        ("respond accept: calls", calls("respond_accept"), "", "info"),
        (
            "sweep: calls / OFFERED request",
            f"{calls('sweep_open')} + {counts['sweep_open_index_queries']} per run",
            "",
            "info",
        ),
        ("Scan calls, every operation", str(counts["scans"]), "0", verdicts["no_scan"]),
    ]
