"""The stream functions' Lambda handler and batch processor: a failed record is reported, logged,
counted and written down, so it can be replayed after Lambda gives up on it.

Lambda retries a failed record (ReportBatchItemFailures), then sends the batch's coordinates
(stream, shard, first and last sequence numbers; never the records) to the on-failure queue.
DynamoDB keeps stream records for 24 hours only, so each failure also leaves a ledger item in the
Requests table, pk STREAM_FAILURE#<function>, sk its sequence number, holding the record's keys,
event name and the statuses of its old image: ids and states, never personal data. It expires
with the queue's retention. `python -m ops.replay` reads the stream, or this ledger
once the stream has trimmed the records. When Lambda gives up on a batch, its on-failure message
leads to one ops alert per record that failed the last attempt (directormatch.aws.failure_destination).

What the processor reports keeps the error's type and traceback but not its message (RecordFailed):
messages can quote a record's data, and when every record of a batch fails Powertools raises them
all into Lambda's error log and the trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch import keys
from directormatch.aws import tables
from directormatch.aws.attributes import from_attributes
from directormatch.observability import MetricName, logger, metrics, tracer

# As long as the failure queue keeps a message (MessageRetentionPeriod: 14 days).
LEDGER_SECONDS = 14 * 24 * 3600
# What notify needs of an old image to tell which transition a MODIFY was (see Notifier.on_change).
OLD_STATE_FIELDS = ("request_status", "offer_status", "wave")


def failure_entry(
    function: str, raw: dict[str, Any], error: str, now: datetime, invocation: str | None = None
) -> dict[str, Any] | None:
    """The ledger item of one failed stream record; None when the record has no usable keys.
    `invocation` (the Lambda request id) tells which records failed together on one attempt."""
    change = raw.get("dynamodb") or {}
    sequence = str(change.get("SequenceNumber") or "")
    item_keys = change.get("Keys") or {}
    pk, sk = (item_keys.get(name) for name in ("pk", "sk"))
    if not (sequence.isdigit() and isinstance(pk, dict) and isinstance(sk, dict)):
        return None
    if not (isinstance(pk.get("S"), str) and isinstance(sk.get("S"), str)):
        return None
    old_image = change.get("OldImage") or {}
    try:
        old_state = from_attributes({k: old_image[k] for k in OLD_STATE_FIELDS if k in old_image})
    except (TypeError, ValueError, AttributeError):
        old_state = {}
    return {
        "pk": keys.STREAM_FAILURE(function),
        "sk": keys.sequence_sk(sequence),
        "sequence_number": sequence,
        "event_name": str(raw.get("eventName", "")),
        "item_pk": pk["S"],
        "item_sk": sk["S"],
        "old_state": old_state,
        "error": error,
        "failed_at": now.isoformat(timespec="milliseconds"),
        "invocation": invocation,
        "ttl": int(time.time()) + LEDGER_SECONDS,
    }


class RecordFailed(Exception):
    """A failed record's error, its message withheld: messages can quote what the record holds (a
    KeyError names a field, a validation error its input, an SES error the address it refused),
    and a batch whose every record failed raises them all into Lambda's error log and the trace."""


def withheld(exception: ExceptionInfo) -> ExceptionInfo:
    """The same failure (type named, traceback kept) without its message."""
    kind, _, traceback = exception
    name = kind.__name__ if kind is not None else "Unknown"
    return RecordFailed, RecordFailed(f"{name} (message withheld)"), traceback


class StreamProcessor(BatchProcessor):
    """BatchProcessor for DynamoDB streams that writes down each record it reports as failed."""

    def __init__(self, function: str) -> None:
        super().__init__(event_type=EventType.DynamoDBStreams)
        self.function = function

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        response = super().failure_handler(record, withheld(exception))
        # The type only: messages can quote input (an SES error names the address it refused).
        error = exception[0].__name__ if exception[0] is not None else "Unknown"
        raw: dict[str, Any] = getattr(record, "raw_event", None) or {}
        context = getattr(self, "lambda_context", None)
        invocation = getattr(context, "aws_request_id", None)
        entry = failure_entry(self.function, raw, error, datetime.now(UTC), invocation)
        metrics.add_metric(name=MetricName.RECORD_FAILED, unit="Count", value=1)
        logger.warning(
            "stream record failed",
            extra={
                "function": self.function,
                "error": error,
                "event_name": raw.get("eventName"),
                "sequence_number": (raw.get("dynamodb") or {}).get("SequenceNumber"),
                "item_pk": entry["item_pk"] if entry else None,
                "item_sk": entry["item_sk"] if entry else None,
            },
        )
        if entry is not None:
            try:
                tables.requests().record_stream_failure(entry)
            except Exception as failure:  # the record is reported either way; the stream still has it
                logger.warning("stream failure not written down", extra={"error": type(failure).__name__})
        return response


# What a queue function does with a message on its last receive: (the message, its error's type).
LastReceive = Callable[[dict[str, Any], str], None]


class QueueProcessor(BatchProcessor):
    """BatchProcessor for an SQS queue (the send queue): a failed message is reported, logged and
    counted with its error's type only; the queue brings it back, then dead-letters it after
    `max_receives` (read when first needed), handing it to `on_last_receive` first."""

    def __init__(self, max_receives: Callable[[], int], on_last_receive: LastReceive) -> None:
        super().__init__(event_type=EventType.SQS)
        self.max_receives = max_receives
        self.on_last_receive = on_last_receive

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        response = super().failure_handler(record, withheld(exception))
        raw: dict[str, Any] = getattr(record, "raw_event", None) or {}
        error = exception[0].__name__ if exception[0] is not None else "Unknown"
        receives = int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        metrics.add_metric(name=MetricName.RECORD_FAILED, unit="Count", value=1)
        logger.warning(
            "queued message failed",
            extra={"error": error, "message_id": raw.get("messageId"), "receive_count": receives},
        )
        if receives >= self.max_receives():
            try:
                self.on_last_receive(raw, error)
            except Exception as failure:  # the message is dead-lettered either way; its alarm pages ops
                logger.warning("last receive not told", extra={"error": type(failure).__name__})
        return response


StreamHandler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


def stream_handler(function: str, record_handler: Callable[[DynamoDBRecord], None]) -> StreamHandler:
    """The Lambda handler of a stream function: each record goes to `record_handler`, and the
    records it fails on are reported for retry and written down by a StreamProcessor."""
    return batch_handler(StreamProcessor(function), record_handler)


def batch_handler(processor: BatchProcessor, record_handler: Callable[..., None]) -> StreamHandler:
    """The Lambda handler of a batch event source (a stream, a queue): each record goes to
    `record_handler`, and the ones it fails on are reported for retry (ReportBatchItemFailures)."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler(capture_response=False)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    # Powertools' decorators are typed as returning Any.
    return cast(StreamHandler, lambda_handler)
