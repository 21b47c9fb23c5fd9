"""The replay command's reading of failure-queue messages and stream records (no AWS: pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from directormatch.aws.failure_destination import FailedBatch, function_of, parse_message
from directormatch.aws.streams import failure_entry, withheld
from ops.replay import Replayer, drive, lambda_shape

# Lambda's on-failure record for a DynamoDB stream batch, as the Lambda developer guide shows it.
LAMBDA_ON_FAILURE = {
    "requestContext": {
        "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:directormatch-NotifyFunction-Xmpl1",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 9,
    },
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    "version": "1.0",
    "timestamp": "2026-11-25T00:38:06.021Z",
    "DDBStreamBatchInfo": {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": "800000000003126276362",
        "endSequenceNumber": "800000000003126276370",
        "approximateArrivalOfFirstRecord": "2026-11-25T00:38:04Z",
        "approximateArrivalOfLastRecord": "2026-11-25T00:38:05Z",
        "batchSize": 3,
        "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/directormatch-RequestsTable-X"
        "/stream/2026-11-14T00:04:49.205",
    },
}


def test_replay_lambda_on_failure_message_gives_function_stream_shard_and_sequence_range() -> None:
    # Given Lambda's on-failure message for a notify batch

    # When it is parsed
    batch = parse_message(json.dumps(LAMBDA_ON_FAILURE))

    # Then everything needed to find the records again is there, the table name included
    assert batch == FailedBatch(
        function="notify",
        stream_arn=LAMBDA_ON_FAILURE["DDBStreamBatchInfo"]["streamArn"],  # type: ignore[index]
        shard_id="shardId-00000001573689847184-864758bb",
        first="800000000003126276362",
        last="800000000003126276370",
        size=3,
    )
    assert batch.table == "directormatch-RequestsTable-X"


@pytest.mark.parametrize(
    ("arn", "function"),
    [
        ("MatchFunction", "match"),
        ("arn:aws:lambda:us-east-1:123456789012:function:stack-MatchFunction-AbC", "match"),
        ("arn:aws:lambda:us-east-1:123456789012:function:stack-NotifyFunction-AbC:live", "notify"),
        ("arn:aws:lambda:us-east-1:123456789012:function:stack-RespondFunction-AbC", None),
    ],
)
def test_replay_function_named_from_its_arn_or_logical_id(arn: str, function: str | None) -> None:
    assert function_of(arn) == function


@pytest.mark.parametrize(
    "body",
    [
        # a dead-lettered SNS event (respond, feedback)
        json.dumps({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "{}"}}]}),
        "not json",
        json.dumps({"DDBStreamBatchInfo": {"shardId": "s"}}),
    ],
    ids=["sns-dead-letter", "not-json", "incomplete"],
)
def test_replay_message_that_is_not_a_stream_batch_is_none(body: str) -> None:
    assert parse_message(body) is None


def test_replay_stream_record_shaped_as_lambda_delivers_it() -> None:
    # Given a GetRecords record as boto3 returns it (datetime, bytes)
    record: dict[str, Any] = {
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
            "NewImage": {"pk": {"S": "R1"}, "blob": {"B": b"\x00\x01"}},
            "SequenceNumber": "100",
        },
    }

    # When it is shaped
    shaped = lambda_shape(record, "arn:stream")

    # Then it carries the stream ARN, epoch seconds and base64 binaries, like Lambda's event
    assert shaped["eventSourceARN"] == "arn:stream"
    assert shaped["dynamodb"]["ApproximateCreationDateTime"] == 1795608000
    assert shaped["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    json.dumps(shaped)


def test_replay_drive_reports_failed_records_and_whole_failed_batches() -> None:
    # Given 12 records, a handler failing record 3 and raising on the second batch (all failed)
    records = [{"dynamodb": {"SequenceNumber": str(n)}} for n in range(12)]
    calls: list[int] = []

    def invoke(function: str, event: dict[str, Any]) -> Any:
        calls.append(len(event["Records"]))
        if len(calls) == 2:
            raise RuntimeError("all records failed")
        return {"batchItemFailures": [{"itemIdentifier": "3"}]}

    # When they are driven through it
    failed = drive("notify", records, invoke)

    # Then batches of ten were handed over, and the failures are named by sequence number
    assert calls == [10, 2]
    assert failed == ["3", "10", "11"]


def test_stream_failure_entry_keeps_keys_event_and_old_statuses_only() -> None:
    # Given a failed MODIFY record carrying personal data in its images
    raw = {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": {"pk": {"S": "R1"}, "sk": {"S": "REQUEST"}},
            "SequenceNumber": "42",
            "OldImage": {"request_status": {"S": "OFFERED"}, "wave": {"N": "1"}, "contact": {"M": {}}},
            "NewImage": {
                "request_status": {"S": "MATCHED"},
                "contact": {"M": {"email": {"S": "a@b.example"}}},
            },
        },
    }

    # When its ledger entry is made
    entry = failure_entry("notify", raw, "KeyError", datetime(2026, 11, 25, tzinfo=UTC))

    # Then it holds the keys, the event, the old statuses and the error type: no image
    assert entry is not None
    assert (entry["pk"], entry["sk"]) == ("STREAM_FAILURE#notify", "42".zfill(40))
    assert (entry["item_pk"], entry["item_sk"], entry["event_name"]) == ("R1", "REQUEST", "MODIFY")
    assert entry["old_state"] == {"request_status": "OFFERED", "wave": 1}
    assert "a@b.example" not in json.dumps(entry)


def test_stream_failure_withheld_keeps_type_name_and_traceback_not_message() -> None:
    # Given an error whose message quotes data
    try:
        raise ValueError("Invalid isoformat string: 'someone@example.com'")
    except ValueError as error:
        info = (type(error), error, error.__traceback__)

    # When it is withheld
    kind, value, traceback = withheld(info)

    # Then the type is named, the traceback kept, the message gone
    assert str(value) == "ValueError (message withheld)"
    assert traceback is info[2]
    assert kind is type(value)


@pytest.mark.parametrize(
    ("function_arn", "only", "detail"),
    [
        ("stack-MatchFunction-X", "notify", "for match, not notify"),
        ("stack-OtherFunction-X", None, "function unknown: pass --function"),
    ],
)
def test_replay_message_for_another_or_unknown_function_is_left_in_the_queue(
    function_arn: str, only: str | None, detail: str
) -> None:
    # Given a failure message, and a replay limited to one function (or none named)
    body = json.loads(json.dumps(LAMBDA_ON_FAILURE))
    body["requestContext"]["functionArn"] = function_arn
    replayer = Replayer(sqs=None, streams=None, function=only)

    # When it is looked at
    outcome = replayer.replay({"MessageId": "m1", "Body": json.dumps(body)})

    # Then it is skipped (kept), and says why
    assert (outcome.status, outcome.detail) == ("skipped", detail)
