"""Stream batches Lambda gave up on: what its on-failure message says, and the alert per record.

After MaximumRetryAttempts Lambda publishes the batch's coordinates (function, stream, shard, first
and last sequence numbers; never the records) to the StreamFailureTopic. The topic fans out to the
StreamFailureQueue, which `python -m ops.replay` reads and whose alarm pages ops, and to the
failures function. Lambda never tells a handler which attempt is its last: this message is how
"failed every retry" becomes known.

The failures function reads the batch's records in the stream-failure ledger (aws.streams) and
keeps those that failed the last attempt: the ones that failed on the same invocation as the
batch's first record (Lambda retries from the first record reported failed). Each gets, once, an
ALERT#STREAM_FAILED#<function>#<sequence number> item in its request's partition: notify mails ops
about it (ids only), and the clinic's status page says the request is delayed and our team is on
it, until a replay puts the record through (it sets `resolved_at`) or the request moves on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from directormatch import keys
from directormatch.aws.requests_table import RequestStore
from directormatch.records import Alert
from directormatch.vocabulary import AlertKind

# The stream functions by the name their ledger and alerts use, and their logical id.
FUNCTIONS = {"match": "MatchFunction", "notify": "NotifyFunction"}


@dataclass(frozen=True)
class FailedBatch:
    """What Lambda's on-failure destination says about a batch (DDBStreamBatchInfo)."""

    function: str | None
    stream_arn: str
    shard_id: str
    first: str
    last: str
    size: int

    @property
    def table(self) -> str:
        """arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label> -> <name>."""
        return self.stream_arn.split(":table/", 1)[1].split("/stream/", 1)[0]


def function_of(function_arn: str) -> str | None:
    """'match' or 'notify' from a function ARN or name (deployed names embed the logical id)."""
    for name, logical_id in FUNCTIONS.items():
        if logical_id.lower() in function_arn.lower():
            return name
    return None


def parse_message(body: str) -> FailedBatch | None:
    """The batch an on-failure message describes; None when it is not a stream batch."""
    try:
        document = json.loads(body)
        info = document["DDBStreamBatchInfo"]
        return FailedBatch(
            function=function_of(str((document.get("requestContext") or {}).get("functionArn", ""))),
            stream_arn=str(info["streamArn"]),
            shard_id=str(info["shardId"]),
            first=str(info["startSequenceNumber"]),
            last=str(info["endSequenceNumber"]),
            size=int(info.get("batchSize", 0)),
        )
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def last_attempt_failures(entries: Sequence[Mapping[str, Any]], first: str) -> list[Mapping[str, Any]]:
    """The ledger entries of the records that failed Lambda's last attempt on a batch starting at
    `first`: those of the invocation that last failed the first record. A record that failed once
    and then went through on a retry is left out. Without the first record's entry (its ledger
    write failed), the most recent invocation recorded stands for the last attempt."""
    if not entries:
        return []
    anchor = next(
        (e for e in entries if int(e["sequence_number"]) == int(first)),
        max(entries, key=lambda e: str(e.get("failed_at", ""))),
    )
    invocation = anchor.get("invocation")
    if invocation is None:  # an entry written before entries named their invocation
        return list(entries)
    return [e for e in entries if e.get("invocation") == invocation]


def stream_alert(
    function: str, entry: Mapping[str, Any], request: Mapping[str, Any] | None, now: datetime
) -> Alert:
    """The ALERT item of one record given up on, in its request's partition (ids only)."""
    request_id = str(entry["item_pk"])
    sequence = str(entry["sequence_number"])
    return Alert(
        pk=request_id,
        sk=keys.STREAM_ALERT(function, sequence),
        request_id=request_id,
        alert=AlertKind.STREAM_FAILED,
        created_at=now.isoformat(timespec="milliseconds"),
        correlation_id=(request or {}).get("correlation_id"),
        function=function,
        item_sk=str(entry["item_sk"]),
        sequence_number=sequence,
        error=entry.get("error"),
        status_at_failure=(request or {}).get("request_status"),
    )


def raise_stream_alerts(store: RequestStore, batch: FailedBatch, now: datetime) -> list[Alert]:
    """One ALERT item per record of `batch` that failed the last attempt; the alerts written now
    (none when a redelivered message finds them written already)."""
    function = batch.function
    if function is None:
        return []
    raised = []
    entries = store.stream_failures(function, batch.first, batch.last)
    for entry in last_attempt_failures(entries, batch.first):
        if str(entry["item_sk"]).startswith(keys.STREAM_ALERT):
            # notify failed to mail an alert of this kind: another would fail the same way, and
            # one after another. The failure queue's alarm tells ops; the first alert stands.
            continue
        request = store.item(str(entry["item_pk"]), keys.REQUEST_SK)
        alert = stream_alert(function, entry, request, now)
        if store.raise_alert(alert):
            raised.append(alert)
    return raised
