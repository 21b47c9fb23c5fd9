"""Cost per 1,000 quotes, from the other sections' figures: `python -m bench.cost PARTS_DIR`.

Inputs, all measured in the same `make bench` run:
- invocations, DynamoDB request units (transactional writes doubled, GSI upkeep included), SES sends
  and log bytes per quote, per function: bench.calls (counting pass, the happy path: each quote is
  submitted, matched, emailed, and accepted by one director through the offer link);
- warm handler durations per function: bench.calls (timing pass) and bench.warm_intake (intake);
- emails per quote: bench.e2e, counted in the local stack's outbox (receipt, offers, and what one
  accept sends: introductions and "position filled" notes);
- memory sizes: template.yaml (Globals and per function).

Prices are public list prices, us-east-1, written below with their source; they were not fetched
at run time. Free tiers are ignored. Durations are moto's, which is slower than DynamoDB for queries
and transactions (see "own ms": time outside AWS calls), so Lambda compute is an upper bound.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from bench.common import function_memory_mb

PRICES_AS_OF = "2025 list prices (AWS pricing pages, us-east-1); not re-checked at run time"
PRICES: dict[str, dict[str, Any]] = {
    "dynamodb_write_request_unit": {
        "usd": 0.625 / 1_000_000,
        "unit": "$0.625 per million write request units (on-demand, Standard table class)",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 2024-11-01 price cut)",
    },
    "dynamodb_read_request_unit": {
        "usd": 0.125 / 1_000_000,
        "unit": "$0.125 per million read request units (on-demand); transactional writes use 2 WRU/KB",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    "lambda_arm64_gb_second": {
        "usd": 0.0000133334,
        "unit": "$0.0000133334 per GB-second (arm64, first 7.5 billion GB-s a month)",
        "source": "https://aws.amazon.com/lambda/pricing/",
    },
    "lambda_request": {
        "usd": 0.20 / 1_000_000,
        "unit": "$0.20 per million requests",
        "source": "https://aws.amazon.com/lambda/pricing/",
    },
    "api_gateway_rest_request": {
        "usd": 3.50 / 1_000_000,
        "unit": "$3.50 per million REST API calls (first 333 million a month)",
        "source": "https://aws.amazon.com/api-gateway/pricing/",
    },
    "ses_email": {
        "usd": 0.10 / 1_000,
        "unit": "$0.10 per 1,000 outbound emails",
        "source": "https://aws.amazon.com/ses/pricing/",
    },
    "cloudwatch_logs_gb": {
        "usd": 0.50,
        "unit": "$0.50 per GB ingested (Lambda logs, first tier)",
        "source": "https://aws.amazon.com/cloudwatch/pricing/",
    },
    "xray_trace": {
        "usd": 5.00 / 1_000_000,
        "unit": "$5.00 per million traces recorded",
        "source": "https://aws.amazon.com/xray/pricing/",
    },
    "cloudwatch_custom_metric_month": {
        "usd": 0.30,
        "unit": "$0.30 per custom metric per month (first 10,000)",
        "source": "https://aws.amazon.com/cloudwatch/pricing/",
    },
}
# Assumptions, stated where the figures are printed.
API_REQUESTS_PER_QUOTE = 3  # POST /quote-requests, GET /offers/{token}, POST /offers/{token}/accept
PLATFORM_LOG_BYTES = 400  # START, END and REPORT lines Lambda writes per invocation (approximate)
MINUTES_OFFERED = 60  # how long a request waits for its accept: sweep passes that read it
SWEEP_PERIOD_MINUTES = 5  # template.yaml: rate(5 minutes)
MONTH_MINUTES = 30 * 24 * 60


def lambda_cost(invocations: float, duration_ms: float, memory_mb: int) -> tuple[float, float]:
    """(compute $, request $) for `invocations` of `duration_ms` each (billed per 1 ms, rounded up)."""
    gb_seconds = invocations * math.ceil(duration_ms) / 1000 * memory_mb / 1024
    return (
        gb_seconds * PRICES["lambda_arm64_gb_second"]["usd"],
        invocations * PRICES["lambda_request"]["usd"],
    )


def durations(parts: dict[str, Any]) -> dict[str, float]:
    """Warm median per function: bench.calls' timing pass, intake from bench.warm_intake when run."""
    found = {f: d["median_ms"] for f, d in parts["calls"]["timing"]["durations"].items()}
    warm = parts.get("warm_intake")
    if warm:
        found["IntakeFunction"] = warm["handler"]["p50_ms"]
    return found


def own_durations(parts: dict[str, Any]) -> dict[str, float]:
    return {f: d["median_own_ms"] for f, d in parts["calls"]["timing"]["durations"].items()}


def custom_metrics() -> int:
    """Distinct metrics the functions can emit (each MetricName with the service dimension, plus the
    ColdStart metric per function that capture_cold_start_metric adds)."""
    from bench.common import handler_functions
    from directormatch.observability import MetricName

    return len(MetricName) + len(handler_functions())


def estimate(parts: dict[str, Any], quotes: int = 1_000) -> dict[str, Any]:
    counts = parts["calls"]["counts"]
    per_function: dict[str, dict[str, Any]] = counts["per_quote_by_function"]
    warm = durations(parts)
    own = own_durations(parts)
    e2e = parts.get("e2e")
    emails_per_quote = (
        e2e["emails_per_quote_happy_path"] if e2e else sum(f["emails"] for f in per_function.values())
    )
    lines: list[dict[str, Any]] = []

    compute = requests = compute_own = 0.0
    log_bytes = 0.0
    invocations = 0.0
    lambda_rows = []
    for function, figures in sorted(per_function.items()):
        n = figures["invocations_per_quote"] * quotes
        memory = function_memory_mb(function)
        c, r = lambda_cost(n, warm.get(function, 0.0), memory)
        c_own, _ = lambda_cost(n, own.get(function, warm.get(function, 0.0)), memory)
        compute, requests, compute_own = compute + c, requests + r, compute_own + c_own
        invocations += n
        log_bytes += n * (figures["log_bytes_per_invocation"] + PLATFORM_LOG_BYTES)
        lambda_rows.append(
            {
                "function": function,
                "invocations": round(n),
                "memory_mb": memory,
                "warm_ms": warm.get(function, 0.0),
                "own_ms": own.get(function),
                "usd": round(c + r, 5),
            }
        )
    lines.append({"item": "Lambda compute (warm medians on moto)", "usd": compute})
    lines.append({"item": "Lambda requests", "usd": requests})

    write_units = sum(f["write_units"] + f["index_write_units"] for f in per_function.values()) * quotes
    read_units = sum(f["read_units"] for f in per_function.values()) * quotes
    sweep = counts["sweep_open"]["per_offered_request"]
    passes = MINUTES_OFFERED / SWEEP_PERIOD_MINUTES
    read_units += sweep["read_units"] * passes * quotes
    lines.append(
        {"item": "DynamoDB writes", "usd": write_units * PRICES["dynamodb_write_request_unit"]["usd"]}
    )
    lines.append({"item": "DynamoDB reads", "usd": read_units * PRICES["dynamodb_read_request_unit"]["usd"]})
    lines.append(
        {
            "item": "API Gateway REST",
            "usd": API_REQUESTS_PER_QUOTE * quotes * PRICES["api_gateway_rest_request"]["usd"],
        }
    )
    lines.append(
        {"item": "SES outbound email", "usd": emails_per_quote * quotes * PRICES["ses_email"]["usd"]}
    )
    lines.append(
        {
            "item": "CloudWatch Logs ingestion",
            "usd": log_bytes / 1024**3 * PRICES["cloudwatch_logs_gb"]["usd"],
        }
    )
    lines.append(
        {"item": "X-Ray traces (every invocation sampled)", "usd": invocations * PRICES["xray_trace"]["usd"]}
    )
    total = sum(line["usd"] for line in lines)
    for line in lines:
        line["share"] = round(line["usd"] / total, 3) if total else 0.0
        line["usd"] = round(line["usd"], 4)

    # Fixed monthly costs, whatever the volume.
    sweep_runs = MONTH_MINUTES / SWEEP_PERIOD_MINUTES
    sweep_ms = warm.get("SweepFunction", 0.0)
    sweep_compute, sweep_requests = lambda_cost(sweep_runs, sweep_ms, function_memory_mb("SweepFunction"))
    index_queries = counts["sweep_open"]["index_queries"]
    sweep_reads = sweep_runs * index_queries * 0.5 * PRICES["dynamodb_read_request_unit"]["usd"]
    metrics = custom_metrics()
    fixed = [
        {
            "item": f"sweep every {SWEEP_PERIOD_MINUTES} min ({round(sweep_runs):,} runs, "
            f"{sweep_ms:.0f} ms each, {index_queries} index queries)",
            "usd": round(sweep_compute + sweep_requests + sweep_reads, 4),
        },
        {
            "item": f"custom metrics ({metrics}: MetricName with the service dimension, "
            "ColdStart per function)",
            "usd": round(metrics * PRICES["cloudwatch_custom_metric_month"]["usd"], 2),
        },
    ]
    return {
        "quotes": quotes,
        "lines": lines,
        "total_usd": round(total, 4),
        "lambda_compute_own_time_usd": round(compute_own, 5),
        "lambda_by_function": lambda_rows,
        "per_quote": {
            "invocations": round(invocations / quotes, 2),
            "write_units": round(write_units / quotes, 2),
            "read_units": round(read_units / quotes, 2),
            "emails": emails_per_quote,
            "api_requests": API_REQUESTS_PER_QUOTE,
            "log_bytes": round(log_bytes / quotes),
        },
        "fixed_per_month": fixed,
        "assumptions": {
            "api_requests_per_quote": API_REQUESTS_PER_QUOTE,
            "platform_log_bytes_per_invocation": PLATFORM_LOG_BYTES,
            "minutes_offered_before_accept": MINUTES_OFFERED,
            "sweep_period_minutes": SWEEP_PERIOD_MINUTES,
            "emails_per_quote_source": "bench.e2e outbox" if e2e else "bench.calls SES sends",
            "streams": "DynamoDB Streams reads by Lambda triggers are free",
            "free_tiers": "ignored",
        },
        "prices": PRICES,
        "prices_as_of": PRICES_AS_OF,
    }


def table(cost: dict[str, Any]) -> str:
    per = cost["per_quote"]
    lines = [
        f"per quote: {per['invocations']} Lambda invocations, {per['write_units']} WRU, "
        f"{per['read_units']} RRU, "
        f"{per['emails']} emails, {per['api_requests']} API calls, {per['log_bytes']:,} log bytes",
        "",
        f"{'per ' + format(cost['quotes'], ',') + ' quotes':<44} {'USD':>9} {'share':>6}",
    ]
    for line in cost["lines"]:
        lines.append(f"{line['item']:<44} {line['usd']:>9.4f} {line['share']:>6.1%}")
    lines.append(f"{'total':<44} {cost['total_usd']:>9.4f}")
    lines.append(
        "(Lambda compute with each function's own time only, no AWS wait: "
        f"${cost['lambda_compute_own_time_usd']:.5f})"
    )
    lines.append("")
    lines.append(
        "Lambda by function: "
        + "; ".join(
            f"{r['function']} {r['invocations']} x {r['warm_ms']:.0f} ms @ {r['memory_mb']} MB"
            for r in cost["lambda_by_function"]
        )
    )
    lines.append(
        "fixed per month: " + "; ".join(f"{f['item']}: ${f['usd']}" for f in cost["fixed_per_month"])
    )
    lines.append(f"prices ({cost['prices_as_of']}):")
    for price in cost["prices"].values():
        lines.append(f"  {price['unit']}  <{price['source']}>")
    a = cost["assumptions"]
    lines.append(
        f"assumptions: {a['api_requests_per_quote']} API calls per quote; "
        f"{a['platform_log_bytes_per_invocation']} platform log bytes per invocation; "
        f"{a['minutes_offered_before_accept']} min OFFERED before the accept "
        f"(sweep reads it every {a['sweep_period_minutes']} min); {a['streams']}; "
        f"free tiers {a['free_tiers']}"
    )
    return "\n".join(lines)


def load_parts(directory: Path) -> dict[str, Any]:
    return {p.stem: json.loads(p.read_text()) for p in directory.glob("*.json")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.splitlines()[0])
    parser.add_argument(
        "parts", type=Path, help="directory holding calls.json (and warm_intake.json, e2e.json)"
    )
    args = parser.parse_args(argv)
    print(table(estimate(load_parts(args.parts))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
