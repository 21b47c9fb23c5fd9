"""Warm intake: `python -m bench.warm_intake`. Not part of the tests.

Starts moto in server mode on a free loopback port (AWS_ENDPOINT_URL points at it; tables from
template.yaml via local.resources.create_all), imports functions.intake.app with the environment
Lambda would give it (tracing on), and then, interleaved in one loop:

- the handler, `lambda_handler(event, context)`, on API Gateway events of valid quotes, each with its
  own Idempotency-Key (the REQUEST item and the idempotency record in one transaction);
- the handler on the same quotes without the header (one conditional put), for reference;
- a bare `put_item` of the same REQUEST item (directormatch.intake.submit.request_item, with the handler's
  condition `attribute_not_exists(pk)`) through the same client (directormatch.aws.clients.dynamodb()).

Reports p50 and p99 of each. Target: handler p50 <= 1.5x bare put_item p50; p99 ratio for
information. All of them pay the same HTTP round trip to moto, so the ratio is the handler's own cost. A bare
transact_write_items of the same two items is timed too: the like-for-like floor of the keyed path.
moto's transactions are patched to back up only the items they touch (local.moto_patch; shipped
moto copies the whole table per transaction item, so they slow down as the table grows).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import (
    MotoServer,
    StdoutSink,
    lambda_like_environment,
    median,
    percentile,
    say,
    write_part,
)

DEFAULT_QUOTES = 300
WARMUP = 20
TARGET_RATIO = 1.5
STATES = (["TX"], ["CA"], ["FL"], ["NY"], ["TX", "OK"], ["WA"], ["GA", "SC"], ["IL"])


def quote_bodies(count: int) -> list[dict[str, Any]]:
    from tests.events import quote_body

    start = (date.today() + timedelta(days=30)).isoformat()
    return [
        quote_body(states=STATES[i % len(STATES)], start_by=start, clinic={"name": f"Bench Clinic {i}"})
        for i in range(count)
    ]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 50), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "median_ms": round(median(samples), 2),
        "max_ms": round(max(samples), 2),
        "n": len(samples),
    }


def bench(quotes: int, patch: bool = True) -> dict[str, Any]:
    os.environ.update(lambda_like_environment("IntakeFunction"))
    server = MotoServer(patch)
    server.start()
    sink = StdoutSink()
    sys.stdout = sink  # the handler's JSON logs and metrics: counted, not printed
    try:
        from ulid import ULID

        from directormatch.aws import clients as aws
        from directormatch.aws.attributes import to_attributes
        from directormatch.intake.contract import QuoteRequest
        from directormatch.intake.submit import request_item
        from directormatch.settings import get_settings
        from functions.intake import app
        from local.lambdas import LambdaContext
        from tests.events import api_event

        table = get_settings().requests_table
        client = aws.dynamodb()
        bodies = quote_bodies(quotes + WARMUP)
        keyed = [
            api_event(body, headers={"Idempotency-Key": f"bench-{i}-{ULID()}"})
            for i, body in enumerate(bodies)
        ]
        plain = [api_event(body, without_headers=("Idempotency-Key",)) for body in bodies]
        now = datetime.now(UTC)
        items = [
            to_attributes(request_item(str(ULID()), QuoteRequest.model_validate(body), now))
            for body in bodies
        ]
        bare_items = [
            to_attributes(request_item(str(ULID()), QuoteRequest.model_validate(body), now))
            for body in bodies
        ]
        keys = [
            to_attributes(
                {
                    "pk": f"IDEMPOTENCY#bench-{ULID()}",
                    "sk": "IDEMPOTENCY",
                    "request_id": "x" * 26,
                    "body_hash": "0" * 64,
                    "ttl": int(now.timestamp()) + 86_400,
                }
            )
            for _ in bodies
        ]
        samples: dict[str, list[float]] = {
            "handler": [],
            "handler_no_key": [],
            "put_item": [],
            "transaction": [],
        }

        def handler(event: dict[str, Any]) -> float:
            started = time.perf_counter()
            response = app.lambda_handler(event, LambdaContext(function_name="IntakeFunction"))
            elapsed = (time.perf_counter() - started) * 1000
            if response["statusCode"] != 201:
                raise RuntimeError(f"intake answered {response['statusCode']}: {response['body'][:300]}")
            return elapsed

        def put(item: dict[str, Any]) -> float:
            started = time.perf_counter()
            client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
            return (time.perf_counter() - started) * 1000

        def transaction(item: dict[str, Any], key: dict[str, Any]) -> float:
            """What the handler writes with a key: the REQUEST item and the record, all or nothing."""
            condition = "attribute_not_exists(pk)"
            started = time.perf_counter()
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": item, "ConditionExpression": condition}},
                    {"Put": {"TableName": table, "Item": key, "ConditionExpression": condition}},
                ]
            )
            return (time.perf_counter() - started) * 1000

        for i in range(quotes + WARMUP):
            # Rotate the order so no kind always runs right after another.
            runs: list[tuple[str, Callable[[], float]]] = [
                ("handler", partial(handler, keyed[i])),
                ("handler_no_key", partial(handler, plain[i])),
                ("put_item", partial(put, items[i])),
                ("transaction", partial(transaction, bare_items[i], keys[i])),
            ]
            shift = i % len(runs)
            for kind, call in runs[shift:] + runs[:shift]:
                elapsed = call()
                if i >= WARMUP:
                    samples[kind].append(elapsed)
            if (i + 1) % 100 == 0:
                say(f"  {i + 1}/{quotes + WARMUP} quotes")
        invocations = 2 * (quotes + WARMUP)
    finally:
        sys.stdout = sys.__stdout__
        server.stop()
    result: dict[str, Any] = {kind: summary(values) for kind, values in samples.items()}
    bare = result["put_item"]
    result["ratio_p50"] = round(result["handler"]["p50_ms"] / bare["p50_ms"], 2)
    result["ratio_p99"] = round(result["handler"]["p99_ms"] / bare["p99_ms"], 2)
    result["ratio_p50_no_key"] = round(result["handler_no_key"]["p50_ms"] / bare["p50_ms"], 2)
    result["ratio_p99_no_key"] = round(result["handler_no_key"]["p99_ms"] / bare["p99_ms"], 2)
    bare_tx = result["transaction"]
    result["ratio_p50_vs_transaction"] = round(result["handler"]["p50_ms"] / bare_tx["p50_ms"], 2)
    result["ratio_p99_vs_transaction"] = round(result["handler"]["p99_ms"] / bare_tx["p99_ms"], 2)
    result["transaction_vs_put_p50"] = round(bare_tx["p50_ms"] / bare["p50_ms"], 2)
    result["target_ratio"] = TARGET_RATIO
    result["verdict"] = "PASS" if result["ratio_p50"] <= TARGET_RATIO else "FAIL"
    result["quotes"] = quotes
    result["moto_transaction_patch"] = patch
    result["log_bytes_per_invocation"] = round(sink.bytes / invocations)
    return result


def table(result: dict[str, Any]) -> str:
    header = f"{'what':<34} {'p50 ms':>8} {'p99 ms':>8} {'p50 ratio':>9} {'p99 ratio':>9}"
    lines = [header, "-" * len(header)]
    rows = [
        ("handler, with Idempotency-Key", result["handler"], result["ratio_p50"], result["ratio_p99"]),
        (
            "handler, without the header",
            result["handler_no_key"],
            result["ratio_p50_no_key"],
            result["ratio_p99_no_key"],
        ),
        ("bare put_item (same item)", result["put_item"], 1.0, 1.0),
        (
            "bare transact_write_items (2 puts)",
            result["transaction"],
            result["transaction_vs_put_p50"],
            round(result["transaction"]["p99_ms"] / result["put_item"]["p99_ms"], 2),
        ),
    ]
    for label, figures, r50, r99 in rows:
        lines.append(
            f"{label:<34} {figures['p50_ms']:>8.2f} {figures['p99_ms']:>8.2f} {r50:>8.2f}x {r99:>8.2f}x"
        )
    lines.append(
        f"handler with key vs bare transaction: p50 {result['ratio_p50_vs_transaction']:.2f}x, "
        f"p99 {result['ratio_p99_vs_transaction']:.2f}x (ratios are against bare put_item unless stated)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.warm_intake", description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=DEFAULT_QUOTES, help="timed quotes (default 300)")
    parser.add_argument(
        "--unpatched-moto",
        action="store_true",
        help="moto as shipped: each transaction copies the whole table per item (see local.moto_patch)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    print(
        f"warm intake: {args.quotes} quotes (+{WARMUP} warm-up) against moto in server mode ...", flush=True
    )
    result = bench(args.quotes, patch=not args.unpatched_moto)
    print()
    print(table(result))
    print(f"\ntarget: handler p50 <= {TARGET_RATIO}x bare put_item p50 -> {result['verdict']}")
    write_part(args.json, result)
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
