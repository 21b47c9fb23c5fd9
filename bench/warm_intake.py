"""Warm intake: the intake handler against a bare put_item of the same item, on moto in server mode.

functions.intake.app runs with the environment Lambda would give it (tracing on), and one loop,
rotated each round so that no kind always follows another, times:

- the handler on API Gateway events of valid quotes, each with its own Idempotency-Key (the REQUEST
  item, its REFERENCE item and the idempotency record in one transaction);
- the handler on the same quotes without the header (the REQUEST and REFERENCE items in one
  transaction);
- a bare `put_item` of the same REQUEST item, with the handler's condition, through the same client;
- a bare `transact_write_items` of the REQUEST item, its REFERENCE item and an idempotency record:
  the keyed path's like-for-like floor.

All of them pay the same HTTP round trip to moto, so the ratio is the handler's own cost.
Target: handler (with key) p50 <= 1.5x bare put_item p50.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bench.common import STATES, StdoutSink, lambda_like_environment, moto_server, percentile, quote_body, say

WARMUP = 20
TARGET_RATIO = 1.5
KINDS = ("handler", "handler_no_key", "put_item", "transaction")


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def run_section(quick: bool) -> dict[str, Any]:
    quotes = 80 if quick else 300
    say(f"warm intake: {quotes} quotes (+{WARMUP} warm-up) against moto in server mode ...")
    os.environ.update(lambda_like_environment("IntakeFunction"))
    with moto_server(), redirect_stdout(StdoutSink()):
        samples = measure(quotes)
    result: dict[str, Any] = {
        kind: {"p50_ms": round(percentile(values, 50), 2), "p99_ms": round(percentile(values, 99), 2)}
        for kind, values in samples.items()
    }
    for kind in KINDS:
        for q in ("p50", "p99"):
            result[kind][f"{q}_vs_put"] = round(result[kind][f"{q}_ms"] / result["put_item"][f"{q}_ms"], 2)
            result[kind][f"{q}_vs_transaction"] = round(
                result[kind][f"{q}_ms"] / result["transaction"][f"{q}_ms"], 2
            )
    result["verdict"] = "PASS" if result["handler"]["p50_vs_put"] <= TARGET_RATIO else "FAIL"
    return result


def measure(quotes: int) -> dict[str, list[float]]:
    from ulid import ULID

    from directormatch.aws import clients
    from directormatch.aws.attributes import to_attributes
    from directormatch.intake.contract import QuoteRequest
    from directormatch.intake.submit import request_item
    from directormatch.references import new_reference
    from directormatch.settings import get_settings
    from functions.intake import app
    from local.lambdas import LambdaContext
    from tests.events import api_event

    table, client, now = get_settings().requests_table, clients.dynamodb(), datetime.now(UTC)
    condition = "attribute_not_exists(pk)"

    def handler(event: dict[str, Any]) -> None:
        response = app.lambda_handler(event, LambdaContext(function_name="IntakeFunction"))
        if response["statusCode"] != 201:
            raise RuntimeError(f"intake answered {response['statusCode']}: {response['body'][:300]}")

    def put(*items: dict[str, Any]) -> None:
        """One conditional put of the REQUEST item; or the items the handler writes with a key (the
        REQUEST, its REFERENCE and the idempotency record) in one transaction."""
        puts: list[Any] = [
            {"Put": {"TableName": table, "Item": item, "ConditionExpression": condition}} for item in items
        ]
        if len(puts) == 1:
            client.put_item(**puts[0]["Put"])
        else:
            client.transact_write_items(TransactItems=puts)

    def request(body: dict[str, Any]) -> dict[str, Any]:
        quote = QuoteRequest.model_validate(body)
        return to_attributes(request_item(str(ULID()), quote, now, new_reference()))

    def with_reference(item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        pointer = {"pk": {"S": f"REFERENCE#{item['reference']['S']}"}, "sk": {"S": "REFERENCE"}}
        return item, {**pointer, "request_id": item["request_id"], "created_at": item["created_at"]}

    def idempotency_record() -> dict[str, Any]:
        return to_attributes(
            {
                "pk": f"IDEMPOTENCY#bench-{ULID()}",
                "sk": "IDEMPOTENCY",
                "request_id": "x" * 26,
                "body_hash": "0" * 64,
                "ttl": int(now.timestamp()) + 86_400,
            }
        )

    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for i in range(quotes + WARMUP):
        body = quote_body(i, STATES[i % len(STATES)])
        calls = [
            (
                "handler",
                partial(handler, api_event(body, headers={"Idempotency-Key": f"bench-{i}-{ULID()}"})),
            ),
            ("handler_no_key", partial(handler, api_event(body, without_headers=("Idempotency-Key",)))),
            ("put_item", partial(put, request(body))),
            ("transaction", partial(put, *with_reference(request(body)), idempotency_record())),
        ]
        shift = i % len(calls)
        for kind, call in calls[shift:] + calls[:shift]:
            elapsed = timed(call)
            if i >= WARMUP:
                samples[kind].append(elapsed)
        if (i + 1) % 100 == 0:
            say(f"  {i + 1}/{quotes + WARMUP} quotes")
    return samples


def table(result: dict[str, Any]) -> str:
    header = f"{'what':<34} {'p50 ms':>8} {'p99 ms':>8} {'p50 ratio':>9} {'p99 ratio':>9}"
    lines = [header, "-" * len(header)]
    for kind, label in zip(
        KINDS,
        (
            "handler, with Idempotency-Key",
            "handler, without the header",
            "bare put_item (same item)",
            "bare transact_write_items (3 puts)",
        ),
        strict=True,
    ):
        f = result[kind]
        lines.append(
            f"{label:<34} {f['p50_ms']:>8.2f} {f['p99_ms']:>8.2f} {f['p50_vs_put']:>8.2f}x "
            f"{f['p99_vs_put']:>8.2f}x"
        )
    handler = result["handler"]
    lines.append(
        f"handler with key vs bare transaction: p50 {handler['p50_vs_transaction']:.2f}x, "
        f"p99 {handler['p99_vs_transaction']:.2f}x (ratios are against bare put_item unless stated)"
    )
    lines.append(f"\ntarget: handler p50 <= {TARGET_RATIO}x bare put_item p50 -> {result['verdict']}")
    return "\n".join(lines)


def summary(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    bare, handler, no_key = result["put_item"], result["handler"], result["handler_no_key"]
    return [
        ("bare put_item p50 / p99", f"{bare['p50_ms']:.2f} / {bare['p99_ms']:.2f} ms", "", "info"),
        (
            "handler (Idempotency-Key) p50",
            f"{handler['p50_ms']:.2f} ms = {handler['p50_vs_put']:.2f}x",
            f"<= {TARGET_RATIO}x put_item",
            result["verdict"],
        ),
        (
            "handler (Idempotency-Key) p99",
            f"{handler['p99_ms']:.2f} ms = {handler['p99_vs_put']:.2f}x",
            "",
            "info",
        ),
        (
            "handler without the header p50 / p99",
            f"{no_key['p50_ms']:.2f} ms = {no_key['p50_vs_put']:.2f}x / {no_key['p99_vs_put']:.2f}x",
            "",
            "info",
        ),
        (
            "handler (key) vs bare 3-item transaction p50",
            f"{handler['p50_vs_transaction']:.2f}x"
            f" (transaction = {result['transaction']['p50_vs_put']:.2f}x put)",
            "",
            "info",
        ),
    ]
