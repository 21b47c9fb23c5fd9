"""Shared by the benchmark sections: Lambda's environment, moto in server mode, and a botocore call
counter that estimates DynamoDB request units."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local import template

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
FUNCTIONS = list(template.resources("AWS::Serverless::Function"))
# The state mixes quotes ask for, in turn: large and small states, one state and several.
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
# A keyring like the SSM parameter's, for signing links (TOKEN_KEYS is what local runs read).
BENCH_TOKEN_KEYS = json.dumps(
    {"active": "bench", "keys": {"bench": "bench-signing-key-0123456789abcdef0123"}}
)
# Credentials and region that can never reach a real account, and no profile or config file.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
# Set by Lambda for functions with active tracing (the daemon's link-local address in every sandbox).
XRAY_DAEMON_HOST, XRAY_DAEMON_PORT = "169.254.79.129", "2000"
XRAY_VARIABLES = ("AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_PORT")
UNSAMPLED_TRACE_HEADER = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * q / 100)) - 1]


def quote_body(index: int, states: list[str]) -> dict[str, Any]:
    """A valid quote for `states`, from clinic number `index`."""
    from tests.events import quote_body

    contact = {"name": "Bench Contact", "email": f"clinic{index}@bench.example", "phone": "(512) 555-0100"}
    return quote_body(states=states, clinic={"name": f"Bench Clinic {index}"}, contact=contact)


def lambda_like_environment(function: str, invocation: bool = True) -> dict[str, str]:
    """What Lambda's python3.13 runtime would give `function`: its template environment (Globals and
    its own), the runtime's variables, fake credentials; tracing left on (no
    POWERTOOLS_TRACE_DISABLED), as deployed.

    LAMBDA_TASK_ROOT matters beyond faithfulness: without it the X-Ray SDK thinks it runs outside
    Lambda and builds a sampler with a botocore X-Ray client when imported (time Lambda never
    spends), and Powertools' Tracer disables itself. AWS_LAMBDA_RUNTIME_API is never set: nothing may
    try to reach a runtime API.

    With `invocation` (handlers called in process) an unsampled `_X_AMZN_TRACE_ID` is set, as Lambda
    sets one for each invocation; without it (cold-start imports) there is none, as during init."""
    from local import resources

    runtime = lambda_runtime_variables(function)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    for name in ("_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", *XRAY_VARIABLES):
        env.pop(name, None)
    env.update(FAKE_CREDENTIALS)
    env.update(resources.local_environment(function, resources.local_parameters()))
    env.update(runtime)
    env["TOKEN_KEYS"] = BENCH_TOKEN_KEYS
    if invocation and runtime.get("AWS_XRAY_DAEMON_ADDRESS"):
        env["_X_AMZN_TRACE_ID"] = UNSAMPLED_TRACE_HEADER
    for name in ("POWERTOOLS_TRACE_DISABLED", "AWS_ENDPOINT_URL", "AWS_LAMBDA_RUNTIME_API"):
        env.pop(name, None)
    return env


def lambda_runtime_variables(function: str) -> dict[str, str]:
    """The variables Lambda's python3.13 runtime defines for `function` (besides credentials), from
    its template properties (Handler, CodeUri, MemorySize, Tracing; Globals as defaults). Not
    PYTHONPATH (/var/runtime in Lambda, which holds the runtime's boto3): here the venv plays /opt
    and /var/runtime, and the repository /var/task."""
    props = function_properties(function)
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
        variables["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
        variables["AWS_XRAY_DAEMON_ADDRESS"] = f"{XRAY_DAEMON_HOST}:{XRAY_DAEMON_PORT}"
        variables["_AWS_XRAY_DAEMON_ADDRESS"] = XRAY_DAEMON_HOST
        variables["_AWS_XRAY_DAEMON_PORT"] = XRAY_DAEMON_PORT
    return variables


def function_properties(function: str) -> dict[str, Any]:
    """The function's template properties, Globals as defaults."""
    document = template.load()
    return {
        **document.get("Globals", {}).get("Function", {}),
        **document["Resources"][function]["Properties"],
    }


def function_memory_mb(function: str) -> int:
    return int(function_properties(function).get("MemorySize", 128))


@contextmanager
def moto_server() -> Iterator[None]:
    """moto in server mode on a free loopback port (as `make run` runs it) with the template's tables,
    indexes, streams, queues and SES identities; AWS_ENDPOINT_URL points at it. Its TransactWriteItems
    backs up only the items it touches (local.moto_patch): as shipped, moto copies the whole table per
    transaction item, so transactions would slow down as the table grows."""
    import boto3
    from moto.server import ThreadedMotoServer

    from local import moto_patch, resources
    from local.launch import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_patch.apply()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        resources.create_all(boto3.Session(region_name=REGION), resources.local_parameters())
        yield
    finally:
        server.stop()


class StdoutSink(io.TextIOBase):
    """Stands in for sys.stdout while handlers run: counts the bytes they log (Powertools Logger and
    EMF metrics write JSON lines to stdout, which Lambda ships to CloudWatch Logs) and drops them."""

    bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8", "replace"))
        return len(text)


def say(*parts: object) -> None:
    """Print to the real stdout (sections replace sys.stdout with a StdoutSink)."""
    print(*parts, file=sys.__stdout__, flush=True)


# ---------------------------------------------------------------- DynamoDB request-unit estimates


def item_size(item: dict[str, Any] | None) -> int:
    """DynamoDB's item size rules (approximately): per attribute, its name's bytes and its value's."""
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return math.ceil((len(data.lstrip("-").replace(".", "").lstrip("0")) or 1) / 2) + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in data)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + len(data) + item_size(data)
    raise ValueError(f"no size rule for DynamoDB type {kind}")


def units(size: int, per: int) -> int:
    """Request units for `size` bytes, at `per` bytes a unit (at least one)."""
    return max(1, math.ceil(size / per))


@dataclass(frozen=True)
class IndexSpec:
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


def index_specs() -> dict[str, list[IndexSpec]]:
    """Global secondary indexes per table (local physical name = logical id), from template.yaml."""
    return {
        name: [
            IndexSpec(
                tuple(k["AttributeName"] for k in index["KeySchema"]),
                index["Projection"]["ProjectionType"],
                tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in definition.get("GlobalSecondaryIndexes", [])
        ]
        for name, definition in template.table_definitions().items()
    }


def index_write_units(index: IndexSpec, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    """Write units one base-table write costs in one GSI: 0 if the item is not in it before or after,
    1 to add or remove it, 2 when its key changes (delete + put), 1 when a projected attribute changes."""
    old_in = bool(old) and all(k in (old or {}) for k in index.keys)
    new_in = bool(new) and all(k in (new or {}) for k in index.keys)
    if not old_in and not new_in:
        return 0
    if old_in != new_in:
        return units(item_size(new if new_in else old), 1024)
    assert old is not None
    assert new is not None
    if any(old.get(k) != new.get(k) for k in index.keys):
        return 2
    if index.projection == "KEYS_ONLY":
        return 0
    watched = set(new) | set(old) if index.projection == "ALL" else set(index.included)
    return units(item_size(new), 1024) if any(old.get(a) != new.get(a) for a in watched) else 0


@dataclass
class Tally:
    """What one invocation (or a sum of them) did to DynamoDB and SES."""

    calls: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    read_units: float = 0.0
    write_units: float = 0.0  # base tables, transactional writes doubled
    index_write_units: float = 0.0  # GSI upkeep
    emails: int = 0
    aws_ms: float = 0.0  # wall time inside AWS calls (before-call to after-call)
    # Items each kind of Query or Scan returned ("Query(Available)"): what it read, with no filter.
    items_by_call: Counter[str] = field(default_factory=Counter)

    @classmethod
    def sum(cls, tallies: Iterable[Tally]) -> Tally:
        total = cls()
        for tally in tallies:
            total.calls.update(tally.calls)
            total.items_by_call.update(tally.items_by_call)
            for name in ("items_read", "read_units", "write_units", "index_write_units", "emails", "aws_ms"):
                setattr(total, name, getattr(total, name) + getattr(tally, name))
        return total

    def total_calls(self) -> int:
        """DynamoDB's calls (other services' are named `<service>:<operation>`)."""
        return sum(v for k, v in self.calls.items() if ":" not in k)

    def as_dict(self, per: float = 1.0) -> dict[str, Any]:
        per = per or 1.0
        return {
            "calls": {op: round(n / per, 2) for op, n in sorted(self.calls.items())},
            "total_calls": round(self.total_calls() / per, 2),
            "items_read": round(self.items_read / per, 2),
            "read_units": round(self.read_units / per, 3),
            "write_units": round(self.write_units / per, 3),
            "index_write_units": round(self.index_write_units / per, 3),
            "emails": round(self.emails / per, 2),
        }


WRITES = ("PutItem", "UpdateItem", "DeleteItem")


class CallCounter:
    """Counts every call made through the clients it is attached to into `current` (a Tally).

    `before-parameter-build` keeps the call's parameters, `before-call` starts its clock, `after-call`
    counts it (a Query by its index: `Query(ByState)`), the items it returned and its request units.
    Write units are estimated with `probe` only: each written item is then read before and after the
    write through a separate, uncounted client, so that they follow DynamoDB's rules (the larger
    image, per 1 KB; GSI upkeep by the template's indexes). The probe's reads take time inside the
    handler: timings are taken without it.
    """

    def __init__(self, *clients: Any, probe: bool = False) -> None:
        self.current = Tally()
        self.probe = probe
        self._indexes = index_specs()
        self._prober: Any = None
        self._params: dict[str, Any] = {}
        self._before: dict[int, dict[str, Any] | None] = {}
        self._started = 0.0
        for client in clients:
            service = client.meta.service_model.service_id.hyphenize()
            client.meta.events.register(f"before-parameter-build.{service}.*", self._on_params)
            client.meta.events.register(f"before-call.{service}.*", self._on_call)
            client.meta.events.register(f"after-call.{service}.*", self._on_done)

    @contextmanager
    def into(self, tally: Tally) -> Iterator[Tally]:
        """Count into `tally` during the block."""
        previous, self.current = self.current, tally
        try:
            yield tally
        finally:
            self.current = previous

    def _on_params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._params = dict(params)
        self._before = (
            self._images(model.name) if self.probe and model.name in (*WRITES, "TransactWriteItems") else {}
        )

    def _on_call(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _on_done(self, parsed: dict[str, Any], model: Any, event_name: str, **_: Any) -> None:
        tally, operation = self.current, model.name
        tally.aws_ms += (time.perf_counter() - self._started) * 1000
        if ".dynamodb." not in event_name:
            service = event_name.split(".")[1]  # after-call.<service>.<operation>
            tally.calls[f"{service}:{operation}"] += 1
            tally.emails += operation == "SendEmail"
            return
        index = self._params.get("IndexName")
        name = f"{operation}({index})" if index else operation
        tally.calls[name] += 1
        consistent = 1.0 if self._params.get("ConsistentRead") else 0.5
        if operation in ("Query", "Scan"):
            found = parsed.get("Items", [])
            tally.items_read += len(found)
            tally.items_by_call[name] += len(found)
            tally.read_units += units(sum(item_size(i) for i in found), 4096) * consistent
        elif operation == "GetItem":
            tally.items_read += "Item" in parsed
            tally.read_units += units(item_size(parsed.get("Item")), 4096) * consistent
        elif operation in WRITES:
            failed = "Error" in parsed  # a failed condition still consumes a write unit
            tally.write_units += (
                1 if failed or not self.probe else self._write(tally, operation, self._params, 0)
            )
        elif operation == "TransactWriteItems":
            for position, entry in enumerate(self._params["TransactItems"]):
                ((kind, spec),) = entry.items()
                failed = "Error" in parsed or kind == "ConditionCheck" or not self.probe
                tally.write_units += 2 * (1 if failed else self._write(tally, f"{kind}Item", spec, position))
        elif operation == "BatchWriteItem":
            tally.write_units += self._batch_write_units(tally)
        else:
            raise NotImplementedError(f"bench.common.CallCounter has no request-unit rule for {operation}")

    def _batch_write_units(self, tally: Tally) -> int:
        """A put's units by its size (its index upkeep as for a new item), a delete's one: what each
        request costs when the item it replaces or deletes is no larger (true of AVAIL items)."""
        total = 0
        for table, requests in self._params["RequestItems"].items():
            for request in requests:
                new = request.get("PutRequest", {}).get("Item")
                total += units(item_size(new), 1024) if new else 1
                tally.index_write_units += sum(index_write_units(i, None, new) for i in self._indexes[table])
        return total

    def _write(self, tally: Tally, operation: str, spec: dict[str, Any], position: int) -> int:
        """Write units of one item written (GSI upkeep added to `tally`)."""
        old = self._before.get(position)
        new = spec["Item"] if operation == "PutItem" else None
        if operation == "UpdateItem":
            new = self._probe_item(spec["TableName"], spec["Key"])
        tally.index_write_units += sum(
            index_write_units(i, old, new) for i in self._indexes[spec["TableName"]]
        )
        return units(max(item_size(old), item_size(new)), 1024)

    def _images(self, operation: str) -> dict[int, dict[str, Any] | None]:
        """Each item the write will touch, as it is before the write."""
        if operation == "TransactWriteItems":
            specs = [next(iter(entry.values())) for entry in self._params["TransactItems"]]
        else:
            specs = [self._params]
        return {
            position: self._probe_item(spec["TableName"], spec.get("Key") or key_of(spec["Item"]))
            for position, spec in enumerate(specs)
        }

    def _probe_item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        if self._prober is None:
            import boto3

            self._prober = boto3.session.Session().client("dynamodb", region_name=REGION)
        found: dict[str, Any] | None = self._prober.get_item(
            TableName=table, Key=key, ConsistentRead=True
        ).get("Item")
        return found


def key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in ("pk", "sk") if name in item}
