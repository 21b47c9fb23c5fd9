"""Shared by the benchmark sections: percentiles, the fake AWS environment, a moto server, a botocore
call counter that also estimates DynamoDB request units, and the JSON part files sections hand back."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.launch import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
REGION = "us-east-1"
# A keyring like the SSM parameter's, for signing links (TOKEN_KEYS is what local runs read).
BENCH_TOKEN_KEYS = json.dumps(
    {"active": "bench", "keys": {"bench": "bench-signing-key-0123456789abcdef0123"}}
)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def fake_credentials() -> dict[str, str]:
    """Credentials and region that can never reach a real account, and no profile or config file."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def lambda_like_environment(function: str, invocation: bool = True) -> dict[str, str]:
    """What Lambda's python3.13 runtime would give `function`: its template environment (Globals and
    its own), the runtime's variables, fake credentials; tracing left on (no
    POWERTOOLS_TRACE_DISABLED), as deployed.

    LAMBDA_TASK_ROOT (the function's code directory here, /var/task in Lambda) matters beyond
    faithfulness: without it the X-Ray SDK thinks it runs outside Lambda and builds a sampler with
    a botocore X-Ray client when imported (~100 ms that Lambda never spends; with it the SDK drops
    its touch file /tmp/.aws-xray/initialized, as in Lambda), and Powertools' Tracer disables
    itself. AWS_LAMBDA_RUNTIME_API is never set: nothing may try to reach a runtime API.

    With `invocation` (the default, for handlers called in process) an unsampled `_X_AMZN_TRACE_ID`
    is set, as Lambda sets one for each invocation; without it (`invocation=False`, cold-start
    imports) there is none, as during Lambda's init phase."""
    from local import resources

    runtime = lambda_runtime_variables(function)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    for name in ("_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", *XRAY_VARIABLES):
        env.pop(name, None)
    env.update(fake_credentials())
    env.update(resources.local_environment(function, resources.local_parameters()))
    env.update(runtime)
    env["TOKEN_KEYS"] = BENCH_TOKEN_KEYS
    if invocation and runtime.get("AWS_XRAY_DAEMON_ADDRESS"):
        env["_X_AMZN_TRACE_ID"] = UNSAMPLED_TRACE_HEADER
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    return env


# Set by Lambda for functions with active tracing (the daemon's link-local address in every sandbox).
XRAY_DAEMON_HOST, XRAY_DAEMON_PORT = "169.254.79.129", "2000"
XRAY_VARIABLES = ("AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_PORT")
UNSAMPLED_TRACE_HEADER = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"


def lambda_runtime_variables(function: str) -> dict[str, str]:
    """The variables Lambda's python3.13 runtime defines for `function` (besides credentials), from
    its template properties (Handler, CodeUri, MemorySize, Tracing; Globals as defaults). Not
    PYTHONPATH (/var/runtime in Lambda, which holds the runtime's boto3): here the venv plays /opt
    and /var/runtime, and the repository /var/task."""
    from local import template

    document = template.load()
    defaults = document.get("Globals", {}).get("Function", {})
    props = {**defaults, **document["Resources"][function]["Properties"]}
    stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{hashlib.md5(function.encode()).hexdigest()}"  # noqa: S324
    variables = {
        "_HANDLER": str(props.get("Handler", "")),
        "LAMBDA_TASK_ROOT": str((ROOT / str(props.get("CodeUri", ""))).resolve()),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function_memory_mb(function)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
    }
    if props.get("Tracing") == "Active":
        variables.update(
            {
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "AWS_XRAY_DAEMON_ADDRESS": f"{XRAY_DAEMON_HOST}:{XRAY_DAEMON_PORT}",
                "_AWS_XRAY_DAEMON_ADDRESS": XRAY_DAEMON_HOST,
                "_AWS_XRAY_DAEMON_PORT": XRAY_DAEMON_PORT,
            }
        )
    return variables


def function_memory_mb(function: str) -> int:
    from local import template

    document = template.load()
    default = int(document.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    props = document["Resources"][function]["Properties"]
    return int(props.get("MemorySize", default))


def handler_functions() -> dict[str, str]:
    """{logical id: handler module}, e.g. {"IntakeFunction": "functions.intake.app"}."""
    from local import template

    return {
        name: template.handler_module(name)[0] for name in template.resources("AWS::Serverless::Function")
    }


class MotoServer:
    """moto in server mode on a free loopback port (the way `make run` runs it), with the template's
    tables, indexes, streams, queues and SES identities. With `patch` (the default), moto's
    TransactWriteItems backs up only the items it touches (local.moto_patch)."""

    def __init__(self, patch: bool = True) -> None:
        self.patch = patch
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server: Any = None

    def start(self) -> dict[str, str]:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if self.patch:
            from local import moto_patch

            moto_patch.apply()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        os.environ.update(fake_credentials())
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        import boto3

        from local import resources

        return resources.create_all(boto3.Session(region_name=REGION), resources.local_parameters())

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


class StdoutSink(io.TextIOBase):
    """Stands in for sys.stdout while handlers run: counts the bytes they log (Powertools Logger and
    EMF metrics write JSON lines to stdout, which Lambda ships to CloudWatch Logs) and drops them."""

    def __init__(self) -> None:
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8", "replace"))
        return len(text)


def say(*parts: object) -> None:
    """Print to the real stdout (sections may have replaced sys.stdout with a StdoutSink)."""
    print(*parts, file=sys.__stdout__, flush=True)


# ---------------------------------------------------------------- DynamoDB request-unit estimates


def attribute_size(name: str, value: dict[str, Any]) -> int:
    """DynamoDB's item size rules (approximately): name bytes plus the value's bytes."""
    return len(name.encode()) + value_size(value)


def value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        digits = len(str(data).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in data)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + attribute_size(k, v) for k, v in data.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    return sum(attribute_size(k, v) for k, v in (item or {}).items())


@dataclass(frozen=True)
class IndexSpec:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


def index_specs() -> dict[str, list[IndexSpec]]:
    """Global secondary indexes per table (local physical name = logical id), from template.yaml."""
    from local import template

    specs: dict[str, list[IndexSpec]] = {}
    for name, definition in template.table_definitions().items():
        specs[name] = [
            IndexSpec(
                index["IndexName"],
                tuple(k["AttributeName"] for k in index["KeySchema"]),
                index["Projection"]["ProjectionType"],
                tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in definition.get("GlobalSecondaryIndexes", [])
        ]
    return specs


def index_write_units(index: IndexSpec, old: dict[str, Any] | None, new: dict[str, Any] | None) -> float:
    """Write units one base-table write costs in one GSI: 0 if the item is not in it before or after,
    1 to add or remove it, 2 when its key changes (delete + put), 1 when a projected attribute changes."""
    old_in = bool(old) and all(k in (old or {}) for k in index.keys)
    new_in = bool(new) and all(k in (new or {}) for k in index.keys)
    if not old_in and not new_in:
        return 0.0
    if old_in != new_in:
        return float(max(1, math.ceil(item_size(new if new_in else old) / 1024)))
    assert old is not None
    assert new is not None
    if any(old.get(k) != new.get(k) for k in index.keys):
        return 2.0
    if index.projection == "KEYS_ONLY":
        return 0.0
    watched = set(new) | set(old) if index.projection == "ALL" else set(index.included)
    if any(old.get(a) != new.get(a) for a in watched):
        return float(max(1, math.ceil(item_size(new) / 1024)))
    return 0.0


# ---------------------------------------------------------------- the call counter


@dataclass
class Tally:
    """What one function (or one phase) did to DynamoDB and SES."""

    calls: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    read_units: float = 0.0
    write_units: float = 0.0  # base tables, transactional writes doubled
    index_write_units: float = 0.0  # GSI upkeep
    transact_items: int = 0
    emails: int = 0
    aws_ms: float = 0.0  # wall time inside AWS calls (before-call to after-call)

    def add(self, other: Tally) -> None:
        self.calls.update(other.calls)
        self.items_read += other.items_read
        self.read_units += other.read_units
        self.write_units += other.write_units
        self.index_write_units += other.index_write_units
        self.transact_items += other.transact_items
        self.emails += other.emails
        self.aws_ms += other.aws_ms

    def total_calls(self) -> int:
        return sum(v for k, v in self.calls.items() if not k.startswith("ses:"))

    def as_dict(self, per: float = 1.0) -> dict[str, Any]:
        per = per or 1.0
        return {
            "calls": {op: round(n / per, 2) for op, n in sorted(self.calls.items())},
            "total_calls": round(self.total_calls() / per, 2),
            "items_read": round(self.items_read / per, 2),
            "read_units": round(self.read_units / per, 3),
            "write_units": round(self.write_units / per, 3),
            "index_write_units": round(self.index_write_units / per, 3),
            "transact_items": round(self.transact_items / per, 2),
            "emails": round(self.emails / per, 2),
            "aws_ms": round(self.aws_ms / per, 2),
        }


READ_OPS = ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems")


class CallCounter:
    """Counts every call made through botocore clients it is attached to, into the current Tally.

    `before-call.<service>.*` counts the call, `before-parameter-build` keeps its parameters, and
    `after-call` counts items read and estimates request units from the response. With `probe`, the
    item's size before and after each write is read through a separate, uncounted client, so write
    units and GSI upkeep follow DynamoDB's rules (larger of the before and after image, per 1 KB).
    """

    def __init__(self, probe: bool = False) -> None:
        self.current = Tally()
        self.total = Tally()
        self.probe = probe
        self._local = threading.local()
        self._indexes = index_specs()
        self._prober: Any = None

    # Attach / detach -------------------------------------------------------------------------------

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        if service == "dynamodb":
            events.register("before-parameter-build.dynamodb.*", self._params, unique_id="bench-params")
            events.register("before-call.dynamodb.*", self._before, unique_id="bench-before")
            events.register("after-call.dynamodb.*", self._after, unique_id="bench-after")
        else:
            events.register(f"before-call.{service}.*", self._other, unique_id=f"bench-{service}")
            events.register(f"after-call.{service}.*", self._other_done, unique_id=f"bench-{service}-after")

    def detach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        if service == "dynamodb":
            events.unregister("before-parameter-build.dynamodb.*", unique_id="bench-params")
            events.unregister("before-call.dynamodb.*", unique_id="bench-before")
            events.unregister("after-call.dynamodb.*", unique_id="bench-after")
        else:
            events.unregister(f"before-call.{service}.*", unique_id=f"bench-{service}")
            events.unregister(f"after-call.{service}.*", unique_id=f"bench-{service}-after")

    @contextmanager
    def into(self, tally: Tally) -> Iterator[Tally]:
        """Count into `tally` during the block (and into `total`)."""
        previous, self.current = self.current, tally
        try:
            yield tally
        finally:
            self.current = previous

    # Hooks -----------------------------------------------------------------------------------------

    def _params(self, params: Any = None, model: Any = None, **_: Any) -> None:
        self._local.params = dict(params or {})
        self._local.before = self._images_before(model.name, self._local.params) if self.probe else {}

    def _before(self, model: Any = None, **_: Any) -> None:
        name = model.name
        index = getattr(self._local, "params", {}).get("IndexName")
        if index:
            name = f"{name}({index})"  # Query(ByState), Query(RequestsByStatus)
        for tally in (self.current, self.total):
            tally.calls[name] += 1
        self._local.started = time.perf_counter()

    def _elapsed(self) -> float:
        started = getattr(self._local, "started", None)
        self._local.started = None
        return (time.perf_counter() - started) * 1000 if started is not None else 0.0

    def _other(self, model: Any = None, **_: Any) -> None:
        for tally in (self.current, self.total):
            tally.calls[f"ses:{model.name}"] += 1
            if model.name in ("SendEmail", "SendRawEmail"):
                tally.emails += 1
        self._local.started = time.perf_counter()

    def _other_done(self, **_: Any) -> None:
        elapsed = self._elapsed()
        for tally in (self.current, self.total):
            tally.aws_ms += elapsed

    def _after(self, http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        elapsed = self._elapsed()
        operation = model.name
        parsed = parsed or {}
        params: dict[str, Any] = getattr(self._local, "params", {})
        failed = "Error" in parsed
        items, read_units = self._reads(operation, params, parsed)
        write_units, index_units, transact_items = (0.0, 0.0, 0)
        if not failed:
            write_units, index_units, transact_items = self._writes(operation, params)
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            write_units = 1.0  # a failed condition still consumes a write unit
        elif operation == "TransactWriteItems":
            transact_items = len(params.get("TransactItems", []))
            write_units = 2.0 * transact_items
        for tally in (self.current, self.total):
            tally.items_read += items
            tally.read_units += read_units
            tally.write_units += write_units
            tally.index_write_units += index_units
            tally.transact_items += transact_items
            tally.aws_ms += elapsed

    # Units -----------------------------------------------------------------------------------------

    @staticmethod
    def _reads(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> tuple[int, float]:
        consistent = 1.0 if params.get("ConsistentRead") else 0.5
        if operation in ("Query", "Scan"):
            found = parsed.get("Items", [])
            size = sum(item_size(i) for i in found)
            return len(found), max(1, math.ceil(size / 4096)) * consistent
        if operation == "GetItem":
            item = parsed.get("Item")
            return (1 if item else 0), max(1, math.ceil(item_size(item) / 4096)) * consistent
        if operation == "BatchGetItem":
            found = [i for items in parsed.get("Responses", {}).values() for i in items]
            return len(found), sum(max(1, math.ceil(item_size(i) / 4096)) * consistent for i in found)
        if operation == "TransactGetItems":
            found = [r["Item"] for r in parsed.get("Responses", []) if r.get("Item")]
            return len(found), sum(2.0 * max(1, math.ceil(item_size(i) / 4096)) for i in found)
        return 0, 0.0

    def _writes(self, operation: str, params: dict[str, Any]) -> tuple[float, float, int]:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            base, index = self._write_one(operation, params, self._local.before.get(0))
            return base, index, 0
        if operation == "TransactWriteItems":
            base = index = 0.0
            entries = params.get("TransactItems", [])
            for position, entry in enumerate(entries):
                ((kind, spec),) = entry.items()
                name = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}.get(kind)
                if name is None:  # ConditionCheck
                    base += 2.0
                    continue
                one, upkeep = self._write_one(name, spec, self._local.before.get(position))
                base += 2.0 * one
                index += upkeep
            return base, index, len(entries)
        if operation == "BatchWriteItem":
            base = index = 0.0
            for table, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    item = request.get("PutRequest", {}).get("Item")
                    base += max(1, math.ceil(item_size(item) / 1024))
                    index += sum(index_write_units(i, None, item) for i in self._indexes.get(table, []))
            return base, index, 0
        return 0.0, 0.0, 0

    def _write_one(
        self, operation: str, spec: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[float, float]:
        table = spec["TableName"]
        if operation == "PutItem":
            new: dict[str, Any] | None = spec["Item"]
        elif operation == "DeleteItem":
            new = None
        else:
            new = self._probe_item(table, spec["Key"]) if self.probe else None
        if not self.probe:
            size = item_size(new) if operation == "PutItem" else 0
            return float(max(1, math.ceil(size / 1024))), 0.0
        size = max(item_size(old), item_size(new))
        upkeep = sum(index_write_units(i, old, new) for i in self._indexes.get(table, []))
        return float(max(1, math.ceil(size / 1024))), upkeep

    def _images_before(self, operation: str, params: dict[str, Any]) -> dict[int, dict[str, Any] | None]:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            key = params.get("Key") or self._key_of(params["TableName"], params.get("Item", {}))
            return {0: self._probe_item(params["TableName"], key)}
        if operation == "TransactWriteItems":
            images: dict[int, dict[str, Any] | None] = {}
            for position, entry in enumerate(params.get("TransactItems", [])):
                ((_, spec),) = entry.items()
                key = spec.get("Key") or self._key_of(spec["TableName"], spec.get("Item", {}))
                images[position] = self._probe_item(spec["TableName"], key)
            return images
        return {}

    @staticmethod
    def _key_of(table: str, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in ("pk", "sk") if name in item}

    def _probe_item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        if self._prober is None:
            import boto3

            self._prober = boto3.session.Session().client("dynamodb", region_name=REGION)
        found: dict[str, Any] | None = self._prober.get_item(
            TableName=table, Key=key, ConsistentRead=True
        ).get("Item")
        return found


def write_part(path: Path | None, document: dict[str, Any]) -> None:
    """Write a section's results (the orchestrator reads it back)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
