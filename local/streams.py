"""A stream pump that behaves like Lambda's DynamoDB event source mapping, for the local stack.

Per subscription in template.yaml: its own position in the stream, FilterCriteria applied with
moto's EventBridge pattern engine, batches of BatchSize, ReportBatchItemFailures honoured (the
retry starts at the first failed record), MaximumRetryAttempts, then the on-failure destination (a
queue, or a topic and its subscribers: local.topics).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

from local.lambdas import Functions
from local.pump import Pump
from local.template import StreamSubscription
from local.topics import Topics

log = logging.getLogger("local.streams")


class Subscription:
    def __init__(self, spec: StreamSubscription, stream_arn: str, streams: Any) -> None:
        self.spec = spec
        self.stream_arn = stream_arn
        self.streams = streams
        self.patterns = [EventPattern.load(json.dumps(p)) for p in spec.patterns]
        self.iterators: dict[str, str] = {}
        self.positions: dict[str, str] = {}  # shard id -> sequence number of the last record read
        self.pending: list[dict[str, Any]] = []
        self.attempts = 0

    def matches(self, record: dict[str, Any]) -> bool:
        return not self.patterns or any(p.matches_event(record) for p in self.patterns)  # type: ignore[arg-type]

    def poll(self) -> None:
        if not self.iterators:
            shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            for shard in shards:
                self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        for shard_id in list(self.iterators):
            # A fresh iterator after the last record read, every poll: when moto rolls back a
            # cancelled transaction it replaces the table's stream shard, and older iterators keep
            # reading the abandoned one (so a replayed quote or a late accept stopped the pump).
            last = self.positions.get(shard_id)
            position = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
                if last
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, **position
            )
            response = self.streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
            self.iterators[shard_id] = response["NextShardIterator"]
            for record in response.get("Records", []):
                self.positions[shard_id] = record["dynamodb"]["SequenceNumber"]
                record = _lambda_shape(record, self.stream_arn)
                if self.matches(record):
                    self.pending.append(record)


def _lambda_shape(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """What Lambda hands a function: the stream record plus eventSourceARN, epoch-second timestamps."""
    shaped: dict[str, Any] = json.loads(json.dumps(record, default=_json_default))
    shaped["eventSourceARN"] = stream_arn
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        shaped["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
    return shaped


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(type(value))


class StreamPump(Pump):
    name = "stream-pump"

    def __init__(
        self,
        session: Any,
        subscriptions: list[StreamSubscription],
        queues: dict[str, str],
        functions: Functions,
        on_tick: Any = None,
    ) -> None:
        self.functions = functions
        self.on_tick = on_tick
        self.sqs = session.client("sqs")
        self.queues = queues
        self.topics = Topics(self.sqs, queues, functions)
        dynamodb = session.client("dynamodb")
        streams = session.client("dynamodbstreams")
        self.subscriptions = [
            Subscription(
                spec, dynamodb.describe_table(TableName=spec.table)["Table"]["LatestStreamArn"], streams
            )
            for spec in subscriptions
        ]
        self.delivered = 0
        super().__init__()

    def tick(self) -> bool:
        busy = False
        for subscription in self.subscriptions:
            try:
                subscription.poll()
                busy |= self._deliver(subscription)
            except Exception:
                log.exception("stream pump error for %s", subscription.spec.function)
        if self.on_tick is not None:
            self.on_tick()
        return busy

    def _deliver(self, sub: Subscription) -> bool:
        if not sub.pending:
            return False
        batch = sub.pending[: sub.spec.batch_size]
        failed_from = self._invoke(sub, batch)
        if failed_from is None:
            sub.pending = sub.pending[len(batch) :]
            sub.attempts = 0
            self.delivered += len(batch)
            return True
        # Lambda checkpoints before the first failed record and retries from it.
        sub.pending = sub.pending[failed_from:]
        sub.attempts += 1
        limit = sub.spec.maximum_retry_attempts
        if limit >= 0 and sub.attempts > limit:
            self._give_up(sub, batch[failed_from:])
            sub.pending = sub.pending[len(batch) - failed_from :]
            sub.attempts = 0
        else:
            time.sleep(min(0.1 * 2**sub.attempts, 2.0))
        return True

    def _invoke(self, sub: Subscription, batch: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry, or None when the whole batch succeeded."""
        started = time.monotonic()
        try:
            response = self.functions.invoke(sub.spec.function, {"Records": batch})
            log.info(
                "%s: %d record(s) in %.0f ms",
                sub.spec.function,
                len(batch),
                1000 * (time.monotonic() - started),
            )
        except Exception:
            log.exception("%s failed a batch of %d", sub.spec.function, len(batch))
            return 0
        failures = (
            (response or {}).get("batchItemFailures", []) if sub.spec.report_batch_item_failures else []
        )
        if not failures:
            return None
        failed_ids = {f["itemIdentifier"] for f in failures}
        sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
        return (
            min(sequence.index(i) for i in failed_ids if i in sequence) if failed_ids & set(sequence) else 0
        )

    def _give_up(self, sub: Subscription, records: list[dict[str, Any]]) -> None:
        """Like Lambda's on-failure destination: the batch's coordinates, not its contents, to the
        queue or topic the subscription names."""
        destination = sub.spec.on_failure
        log.error("%s: %d record(s) sent to %s", sub.spec.function, len(records), destination)
        if destination is None:
            return
        info = {
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "functionArn": sub.spec.function,
                "approximateInvokeCount": sub.attempts,
            },
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": next(iter(sub.iterators), ""),
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": sub.stream_arn,
            },
        }
        if sub.spec.on_failure_type == "SNS":
            self.topics.publish(destination, info)
        else:
            self.sqs.send_message(QueueUrl=self.queues[destination], MessageBody=json.dumps(info))
