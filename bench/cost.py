"""Cost per 1,000 quotes, from the other sections' figures of the same run.

- invocations, DynamoDB request units, SES sends, SQS sends and log bytes per quote, per function: bench.calls
  (counting pass, the happy path: each quote submitted, matched, emailed and accepted by one
  director through the offer link);
- warm handler durations: bench.calls (timing pass), intake from bench.warm_intake;
- emails per quote: bench.e2e, counted in the local stack's outbox;
- memory sizes: template.yaml.

Free tiers are ignored. Durations are moto's, slower than DynamoDB for queries and transactions, so
Lambda compute is an upper bound (the figure with each function's own time only is printed beside).
"""

from __future__ import annotations

import json
import math
from typing import Any

from bench.common import FUNCTIONS, function_memory_mb

PRICES_AS_OF = "2025 list prices (AWS pricing pages, us-east-1); not re-checked at run time"
# name: (USD per unit, the price as published, its source)
PRICES: dict[str, tuple[float, str, str]] = {
    "write_unit": (
        0.625e-6,
        "$0.625 per million write request units (on-demand, Standard table class)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 2024-11-01 price cut)",
    ),
    "read_unit": (
        0.125e-6,
        "$0.125 per million read request units (on-demand); transactional writes use 2 WRU/KB",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "gb_second": (
        0.0000133334,
        "$0.0000133334 per GB-second (arm64, first 7.5 billion GB-s a month)",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "lambda_request": (0.20e-6, "$0.20 per million requests", "https://aws.amazon.com/lambda/pricing/"),
    "api_request": (
        3.50e-6,
        "$3.50 per million REST API calls (first 333 million a month)",
        "https://aws.amazon.com/api-gateway/pricing/",
    ),
    "email": (0.10e-3, "$0.10 per 1,000 outbound emails", "https://aws.amazon.com/ses/pricing/"),
    "log_gb": (
        0.50,
        "$0.50 per GB ingested (Lambda logs, first tier)",
        "https://aws.amazon.com/cloudwatch/pricing/",
    ),
    "trace": (5.00e-6, "$5.00 per million traces recorded", "https://aws.amazon.com/xray/pricing/"),
    "sqs_request": (
        0.40e-6,
        "$0.40 per million SQS requests (standard queue, each 64 KB chunk a request)",
        "https://aws.amazon.com/sqs/pricing/",
    ),
    "schedule_invocation": (
        1.00e-6,
        "$1.00 per million EventBridge Scheduler invocations (after 14 million free a month)",
        "https://aws.amazon.com/eventbridge/pricing/",
    ),
    "gb_month": (
        0.25,
        "$0.25 per GB-month of table and index storage (Standard table class)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "metric_month": (
        0.30,
        "$0.30 per custom metric per month (first 10,000)",
        "https://aws.amazon.com/cloudwatch/pricing/",
    ),
}
API_REQUESTS_PER_QUOTE = 3  # POST /quote-requests, GET /offers/{token}, POST /offers/{token}/accept
PLATFORM_LOG_BYTES = 400  # START, END and REPORT lines Lambda writes per invocation (approximate)
MINUTES_OFFERED = 60  # how long a request waits for its accept: sweep passes that read it
# One-time schedules that fire per quote on the happy path: its wave's expiry and its 20-hour SLA
# (both fire after the accept and change nothing: a GetItem each, in the sweep function).
SCHEDULES_PER_QUOTE = 2
SWEEP_PERIOD_MINUTES = 5  # template.yaml: rate(5 minutes)
MONTH_MINUTES = 30 * 24 * 60
QUOTES = 1_000
# Lambda's SQS event source mapping long-polls an idle queue with about 5 pollers, each receive
# waiting up to 20 s: requests billed whatever the traffic.
IDLE_QUEUE_POLLERS = 5
# The Availability table grows with the roster (about 7 items per license), not with traffic: priced at
# the national roster the scale bench sizes for, from a synthetic sample's items.
NATIONAL_ROSTER = 50_000
SAMPLE_ROSTER = 1_000
LONG_POLL_SECONDS = 20


def price(name: str) -> float:
    return PRICES[name][0]


def compute_cost(invocations: float, duration_ms: float, memory_mb: int) -> float:
    """Lambda compute for `invocations` of `duration_ms` each (billed per 1 ms, rounded up)."""
    return invocations * math.ceil(duration_ms) / 1000 * memory_mb / 1024 * price("gb_second")


def send_batch_size() -> int:
    """The sender's BatchSize at the template's default SES rate."""
    from local import resources, template

    [sender] = template.queue_subscriptions(resources.local_parameters())
    return sender.batch_size


def availability_storage_gb(directors: int = NATIONAL_ROSTER) -> float:
    """The Availability table and its Available index (ALL projection: a second copy), in GB, for a
    roster of `directors` shaped like the synthetic one (DynamoDB counts names and values; JSON is
    close to it)."""
    from directormatch import availability, keys
    from ops.roster.synthetic import PHYSICIAN_WEIGHTS, synthetic_roster

    roster = synthetic_roster(SAMPLE_ROSTER, seed=7, state_weights=PHYSICIAN_WEIGHTS)
    items = availability.availability_items(i for i in roster if str(i["sk"]).startswith(keys.LICENSE))
    sample_bytes = sum(len(json.dumps(item, default=str)) for item in items)
    return 2 * sample_bytes * directors / SAMPLE_ROSTER / 1024**3


def estimate(parts: dict[str, Any]) -> dict[str, Any]:
    counts, durations = parts["calls"]["counts"], parts["calls"]["durations"]
    per_function: dict[str, dict[str, Any]] = counts["per_quote"]
    warm = {f: d["median_ms"] for f, d in durations.items()}
    own = {f: d["median_own_ms"] for f, d in durations.items()}
    if "warm_intake" in parts:
        warm["IntakeFunction"] = parts["warm_intake"]["handler"]["p50_ms"]
    e2e = parts.get("e2e")
    emails = e2e["emails_per_quote_happy_path"] if e2e else sum(f["emails"] for f in per_function.values())

    compute = requests = compute_own = invocations = log_bytes = 0.0
    by_function = []
    for function, figures in sorted(per_function.items()):
        n = figures["invocations"] * QUOTES
        memory = function_memory_mb(function)
        compute += compute_cost(n, warm.get(function, 0.0), memory)
        compute_own += compute_cost(n, own.get(function, warm.get(function, 0.0)), memory)
        requests += n * price("lambda_request")
        invocations += n
        log_bytes += n * (figures["log_bytes_per_invocation"] + PLATFORM_LOG_BYTES)
        by_function.append(f"{function} {round(n)} x {warm.get(function, 0.0):.0f} ms @ {memory} MB")
    queued = sum(n for f in per_function.values() for op, n in f["calls"].items() if op.startswith("sqs:"))
    # The sender's mapping receives and deletes a batch at a time: two requests per batch.
    sqs_requests = (queued + 2 * queued / send_batch_size()) * QUOTES
    write_units = sum(f["write_units"] + f["index_write_units"] for f in per_function.values()) * QUOTES
    read_units = sum(f["read_units"] for f in per_function.values()) * QUOTES
    read_units += counts["sweep_open"]["read_units"] * MINUTES_OFFERED / SWEEP_PERIOD_MINUTES * QUOTES
    usd = {
        "Lambda compute (warm medians on moto)": compute,
        "Lambda requests": requests,
        "DynamoDB writes": write_units * price("write_unit"),
        "DynamoDB reads": read_units * price("read_unit"),
        "API Gateway REST": API_REQUESTS_PER_QUOTE * QUOTES * price("api_request"),
        "SES outbound email": emails * QUOTES * price("email"),
        "SQS send queue (send, receive, delete)": sqs_requests * price("sqs_request"),
        "CloudWatch Logs ingestion": log_bytes / 1024**3 * price("log_gb"),
        "X-Ray traces (every invocation sampled)": invocations * price("trace"),
        "EventBridge Scheduler (wave expiry, SLA) and their sweep calls": SCHEDULES_PER_QUOTE
        * QUOTES
        * (
            price("schedule_invocation")
            + price("lambda_request")
            + 0.5 * price("read_unit")
            + compute_cost(1, warm.get("SweepFunction", 0.0), function_memory_mb("SweepFunction"))
        ),
    }
    total = sum(usd.values())

    # Fixed monthly costs, whatever the volume.
    sweep_runs = MONTH_MINUTES / SWEEP_PERIOD_MINUTES
    sweep_ms, index_queries = warm.get("SweepFunction", 0.0), counts["sweep_open_index_queries"]
    sweep = compute_cost(sweep_runs, sweep_ms, function_memory_mb("SweepFunction"))
    sweep += sweep_runs * (price("lambda_request") + index_queries * 0.5 * price("read_unit"))
    from directormatch.observability import MetricName

    metrics = len(MetricName) + len(FUNCTIONS)  # each with the service dimension, and ColdStart per function
    idle_polls = IDLE_QUEUE_POLLERS * MONTH_MINUTES * 60 / LONG_POLL_SECONDS
    availability_gb = availability_storage_gb()
    return {
        "lines": [{"item": k, "usd": round(v, 4), "share": round(v / total, 3)} for k, v in usd.items()],
        "total_usd": round(total, 4),
        "lambda_compute_own_time_usd": round(compute_own, 5),
        "lambda_by_function": by_function,
        "per_quote": (
            f"{round(invocations / QUOTES, 2)} Lambda invocations, {round(write_units / QUOTES, 2)} WRU, "
            f"{round(read_units / QUOTES, 2)} RRU, {emails} emails, {API_REQUESTS_PER_QUOTE} API calls, "
            f"{log_bytes / QUOTES:,.0f} log bytes"
        ),
        "fixed_per_month": {
            f"Availability table and index storage at {NATIONAL_ROSTER:,} directors "
            f"({availability_gb:.2f} GB)": round(availability_gb * price("gb_month"), 2),
            f"sweep every {SWEEP_PERIOD_MINUTES} min ({round(sweep_runs):,} runs, {sweep_ms:.0f} ms each, "
            f"{index_queries} index queries)": round(sweep, 4),
            f"custom metrics ({metrics}: MetricName with the service dimension, "
            "ColdStart per function)": round(metrics * price("metric_month"), 2),
            f"send queue long-polled while idle ({IDLE_QUEUE_POLLERS} pollers, a receive each "
            f"{LONG_POLL_SECONDS} s)": round(idle_polls * price("sqs_request"), 2),
        },
    }


def table(cost: dict[str, Any]) -> str:
    lines = [f"per quote: {cost['per_quote']}", "", f"{'per 1,000 quotes':<44} {'USD':>9} {'share':>6}"]
    lines += [f"{line['item']:<44} {line['usd']:>9.4f} {line['share']:>6.1%}" for line in cost["lines"]]
    lines += [
        f"{'total':<44} {cost['total_usd']:>9.4f}",
        "(Lambda compute with each function's own time only, no AWS wait: "
        f"${cost['lambda_compute_own_time_usd']:.5f})",
        "",
        "Lambda by function: " + "; ".join(cost["lambda_by_function"]),
        "fixed per month: " + "; ".join(f"{item}: ${usd}" for item, usd in cost["fixed_per_month"].items()),
        f"prices ({PRICES_AS_OF}):",
        *(f"  {text}  <{source}>" for _, text, source in PRICES.values()),
        f"assumptions: {API_REQUESTS_PER_QUOTE} API calls per quote; {PLATFORM_LOG_BYTES} platform log bytes "
        f"per invocation; {MINUTES_OFFERED} min OFFERED before the accept (sweep reads it every "
        f"{SWEEP_PERIOD_MINUTES} min); DynamoDB Streams reads by Lambda triggers are free; "
        "free tiers ignored",
    ]
    return "\n".join(lines)


def summary(cost: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = [(line["item"], f"${line['usd']:.4f} ({line['share']:.0%})", "", "info") for line in cost["lines"]]
    rows.append(("total per 1,000 quotes", f"${cost['total_usd']:.4f}", "", "info"))
    for item, usd in cost["fixed_per_month"].items():
        rows.append((f"fixed/month: {item.split(' (')[0]}", f"${usd}", "", "info"))
    return rows
