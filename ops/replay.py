"""Replay stream records that failed every retry: `python -m ops.replay`.

When the match or notify function fails a record MaximumRetryAttempts times, Lambda sends the
batch's coordinates to the StreamFailureTopic, which puts them in the StreamFailureQueue (a stack
output; an alarm fires when it is not empty): the function, the stream, the shard and the first and
last sequence numbers, never the records themselves. The failures function, the topic's other
subscriber, has already raised one ops alert per failed record, which the clinic's status page
reads. Once the cause is fixed (a deploy, an outage over, a bad item corrected), put the records
back:

    python -m ops.replay --queue-url URL [--function match|notify]
                                   [--source auto|stream|table] [--dry-run]

Run it from the repository root with the stack's environment: AWS credentials and region, and the
function's variables (REQUESTS_TABLE, DIRECTORS_TABLE, DIRECTORS_BY_STATE_INDEX, SENDER_EMAIL,
SES_CONFIGURATION_SET, TOKEN_KEYS_PARAMETER, ... as `sam list resources` and the template give them).
For each message it:

1. reads the batch back from the stream (GetShardIterator AT_SEQUENCE_NUMBER, up to the last
   sequence number). DynamoDB keeps stream records for 24 hours; once they are trimmed (or with
   `--source table`) it rebuilds the failed records instead from the failure ledger that the
   functions write (directormatch.aws.streams: keys, event name, old statuses) and the items as they
   are now in the table;
2. hands the records to the function's handler (functions.<name>.app.lambda_handler) in batches
   of 10, as Lambda does. Every record handler is idempotent, so records of the batch that had
   succeeded change nothing twice; the handlers ignore records the subscription's filter would drop;
3. deletes the message only when every record succeeded, and marks the batch's STREAM_FAILED
   alerts resolved (the clinic's status page then no longer says the request is delayed); otherwise
   it stays in the queue (visible again at once) and the failing sequence numbers are printed.

`--function` replays only that function's messages. `--source stream` never falls back to the
ledger; `--source table` skips the stream: use it when the record itself was bad and the item has
been corrected since (the stream still holds the bad image). `--dry-run` lists what would be
replayed and changes nothing. Messages that are not stream batches (the respond and feedback
functions' failed SNS events share the queue) are listed and left alone. Exit status: 1 when a
message failed again or was skipped (it is still in the queue), else 0.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from directormatch.aws.attributes import to_attributes
from directormatch.aws.failure_destination import FUNCTIONS, FailedBatch, parse_message
from directormatch.aws.requests_table import RequestStore
from local.lambdas import LambdaContext

BATCH_SIZE = 10  # the subscriptions' BatchSize in template.yaml
SOURCES = ("auto", "stream", "table")
VISIBILITY_SECONDS = 300  # a message being replayed is hidden from a second replay meanwhile
MAX_EMPTY_READS = 5
TRIMMED_CODES = frozenset(
    {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}
)

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass
class Outcome:
    message_id: str
    status: str  # replayed | failed | skipped | listed
    detail: str
    records: int = 0
    source: str = ""
    failed: list[str] = field(default_factory=list)


class Trimmed(Exception):
    """The stream no longer holds (all of) the batch."""


def lambda_shape(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it over: eventSourceARN, epoch seconds, base64 binaries."""
    shaped: dict[str, Any] = _jsonable(record)
    shaped["eventSourceARN"] = stream_arn
    return shaped


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


def read_stream(streams: Any, batch: FailedBatch) -> list[dict[str, Any]]:
    """Every record from the first to the last sequence number; Trimmed when they are gone."""
    from botocore.exceptions import ClientError

    first, last = int(batch.first), int(batch.last)
    records: list[dict[str, Any]] = []
    try:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.first,
        )["ShardIterator"]
        empty = 0
        while iterator and empty < MAX_EMPTY_READS:
            # The batch's own size first: the stream may hold far more after it.
            response = streams.get_records(ShardIterator=iterator, Limit=min(max(batch.size, 1), 1000))
            page = response.get("Records", [])
            for raw in page:
                sequence = int(raw["dynamodb"]["SequenceNumber"])
                if sequence > last:
                    iterator = None
                    break
                if sequence >= first:
                    records.append(lambda_shape(raw, batch.stream_arn))
            else:
                empty = 0 if page else empty + 1
                iterator = response.get("NextShardIterator")
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code")) in TRIMMED_CODES:
            raise Trimmed(str(error.response["Error"].get("Code"))) from error
        raise
    found = [record["dynamodb"]["SequenceNumber"] for record in records]
    if not found or int(found[0]) != first or int(found[-1]) != last:
        raise Trimmed("the stream does not hold the whole batch")
    return records


def read_ledger(store: RequestStore, function: str, batch: FailedBatch) -> list[dict[str, Any]]:
    """The batch's failed records rebuilt from the ledger, each carrying its item as it is now."""
    records = []
    for entry in store.stream_failures(function, batch.first, batch.last):
        if entry["event_name"] not in ("INSERT", "MODIFY"):
            continue
        current = store.item(entry["item_pk"], entry["item_sk"])
        if current is None:  # deleted since: nothing left to act on
            continue
        item_keys = {"pk": entry["item_pk"], "sk": entry["item_sk"]}
        change: dict[str, Any] = {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": to_attributes(item_keys),
            "NewImage": to_attributes(current),
            "SequenceNumber": entry["sequence_number"],
            "SizeBytes": len(json.dumps(current, default=str)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if entry["event_name"] == "MODIFY":
            change["OldImage"] = to_attributes({**item_keys, **(entry.get("old_state") or {})})
        records.append(
            {
                "eventID": uuid.uuid4().hex,
                "eventName": entry["event_name"],
                "eventSource": "aws:dynamodb",
                "eventVersion": "1.1",
                "awsRegion": batch.stream_arn.split(":")[3],
                "eventSourceARN": batch.stream_arn,
                "dynamodb": change,
            }
        )
    return records


def invoke_handler(function: str, event: dict[str, Any]) -> Any:
    """Call functions.<function>.app.lambda_handler in this process, as Lambda would."""
    module = importlib.import_module(f"functions.{function}.app")
    # Lambda's longest timeout: a replayed batch is never cut short.
    return module.lambda_handler(
        event, LambdaContext(function_name=f"replay-{function}", timeout_seconds=900)
    )


def drive(function: str, records: list[dict[str, Any]], invoke: Invoke) -> list[str]:
    """Hand the records over in batches; the sequence numbers that still failed."""
    failed: list[str] = []
    for start in range(0, len(records), BATCH_SIZE):
        chunk = records[start : start + BATCH_SIZE]
        sequences = [r["dynamodb"]["SequenceNumber"] for r in chunk]
        try:
            response = invoke(function, {"Records": chunk})
        except Exception:  # every record failed (Powertools raises BatchProcessingError), or worse
            failed.extend(sequences)
            continue
        failed.extend(str(f["itemIdentifier"]) for f in (response or {}).get("batchItemFailures", []))
    return failed


@dataclass
class Replayer:
    sqs: Any
    streams: Any
    invoke: Invoke = invoke_handler
    function: str | None = None
    source: str = "auto"
    dry_run: bool = False
    wait_seconds: int = 1
    store_for: Callable[[str], RequestStore] = RequestStore

    def run(self, queue_url: str) -> list[Outcome]:
        outcomes: list[Outcome] = []
        kept: list[str] = []
        for message in self._messages(queue_url):
            outcome = self.replay(message)
            outcomes.append(outcome)
            if outcome.status == "replayed":
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                kept.append(message["ReceiptHandle"])
        for handle in kept:  # visible again now, for the next run
            self.sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        return outcomes

    def _messages(self, queue_url: str) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        while True:
            response = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=self.wait_seconds,
                VisibilityTimeout=VISIBILITY_SECONDS,
            )
            fresh = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not fresh:
                return
            for message in fresh:
                seen.add(message["MessageId"])
                yield message

    def replay(self, message: dict[str, Any]) -> Outcome:
        message_id = str(message["MessageId"])
        batch = parse_message(str(message.get("Body", "")))
        if batch is None:
            return Outcome(message_id, "skipped", "not a stream batch (an SNS event's dead letter?)")
        function = batch.function or self.function
        if function is None:
            return Outcome(message_id, "skipped", "function unknown: pass --function")
        if self.function is not None and function != self.function:
            return Outcome(message_id, "skipped", f"for {function}, not {self.function}")
        span = f"{function} {batch.first}..{batch.last}"
        try:
            records, source = self._records(function, batch)
        except Trimmed as trimmed:
            return Outcome(message_id, "failed", f"{span}: not in the stream ({trimmed}); try --source auto")
        if self.dry_run:
            return Outcome(message_id, "listed", f"{span}: would replay", len(records), source)
        failed = drive(function, records, self.invoke)
        if failed:
            detail = f"{span}: {len(failed)} record(s) failed again: {', '.join(failed)}"
            return Outcome(message_id, "failed", detail, len(records), source, failed)
        resolved = self._resolve_alerts(function, batch)
        detail = f"{span}: replayed" + (f", {resolved} alert(s) resolved" if resolved else "")
        return Outcome(message_id, "replayed", detail, len(records), source)

    def _resolve_alerts(self, function: str, batch: FailedBatch) -> int:
        """The batch's STREAM_FAILED alerts resolved: the status page stops saying we are on it."""
        store = self.store_for(batch.table)
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        return sum(
            store.resolve_stream_alert(entry["item_pk"], function, entry["sequence_number"], at)
            for entry in store.stream_failures(function, batch.first, batch.last)
        )

    def _records(self, function: str, batch: FailedBatch) -> tuple[list[dict[str, Any]], str]:
        if self.source != "table":
            try:
                return read_stream(self.streams, batch), "stream"
            except Trimmed:
                if self.source == "stream":
                    raise
        return read_ledger(self.store_for(batch.table), function, batch), "table"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ops.replay",
        description="Replay stream batches from the failure queue through their function.",
    )
    parser.add_argument("--queue-url", required=True, help="the StreamFailureQueue URL (a stack output)")
    parser.add_argument("--function", choices=sorted(FUNCTIONS), help="only this function's batches")
    parser.add_argument("--source", choices=SOURCES, default="auto", help="where records come from")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed; change nothing")
    parser.add_argument("--wait-seconds", type=int, default=1, help="SQS long-poll wait per receive")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    from directormatch.aws import clients as aws

    replayer = Replayer(
        sqs=aws.client("sqs"),
        streams=aws.client("dynamodbstreams"),
        function=arguments.function,
        source=arguments.source,
        dry_run=arguments.dry_run,
        wait_seconds=arguments.wait_seconds,
    )
    outcomes = replayer.run(arguments.queue_url)
    for outcome in outcomes:
        source = f" ({outcome.records} record(s) from the {outcome.source})" if outcome.source else ""
        print(f"{outcome.status:8} {outcome.message_id} {outcome.detail}{source}")
    left = [o for o in outcomes if o.status in ("failed", "skipped")]
    print(f"{len(outcomes)} message(s): {len(outcomes) - len(left)} done, {len(left)} left in the queue")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
