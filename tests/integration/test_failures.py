"""The failures function (the StreamFailureTopic's subscriber), on both engines: Lambda's on-failure
message for a notify batch raises one STREAM_FAILED alert per record that failed the last attempt,
in the record's request partition, once however often the message arrives."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

from directormatch.aws.streams import failure_entry
from local.lambdas import LambdaContext
from tests.events import FAILURES_GIVEN_UP, load_event
from tests.integration.conftest import Aws

# The batch of the sample event: notify, sequence numbers 800000000003126276362 to ...370.
FIRST, LAST = "800000000003126276362", "800000000003126276370"


def given_up(aws: Aws) -> dict[str, Any]:
    """The sample event, its batch on this account's Requests table stream."""
    event = load_event(FAILURES_GIVEN_UP)
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    stream_arn = aws.dynamodb.describe_table(TableName=aws.requests_table)["Table"]["LatestStreamArn"]
    message["DDBStreamBatchInfo"]["streamArn"] = stream_arn
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def failed(aws: Aws, request_id: str, sk: str, sequence: str, invocation: str) -> None:
    """Notify's ledger entry for one failed attempt at a record (as its batch processor writes it)."""
    raw = {
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": sequence, "Keys": {"pk": {"S": request_id}, "sk": {"S": sk}}},
    }
    entry = failure_entry("notify", raw, "EmailNotSent", datetime.now(UTC), invocation)
    assert entry is not None
    aws.request_store().record_stream_failure(entry)


def alerts(aws: Aws, request_id: str) -> list[dict[str, Any]]:
    return [
        i for i in aws.request_store().partition(request_id, consistent=True) if i["sk"].startswith("ALERT#")
    ]


Handle = Callable[[dict[str, Any]], Any]


@pytest.fixture
def request_id(submit_quote: Callable[..., dict[str, Any]]) -> str:
    """A request posted through intake (status NEW)."""
    return str(submit_quote()["request_id"])


@pytest.fixture
def failures(failures_app: ModuleType, lambda_context: LambdaContext) -> Handle:
    """The failures function's handler, taking the SNS event alone."""
    return lambda event: failures_app.lambda_handler(event, lambda_context)


def test_failures_one_alert_per_record_of_the_last_attempt_once(
    aws: Aws, request_id: str, failures: Handle
) -> None:
    # Given a request, and notify's ledger for the batch: the receipt (the batch's first record)
    # failed the first and the last attempt, one offer failed only the first (a retry sent it),
    # another failed the last; an alert failed too (its email could not go), and a record after
    # the batch
    failed(aws, request_id, "REQUEST", FIRST, "attempt-1")
    failed(aws, request_id, "OFFER#D000001", "800000000003126276364", "attempt-1")
    failed(aws, request_id, "REQUEST", FIRST, "attempt-9")
    failed(aws, request_id, "OFFER#D000002", "800000000003126276366", "attempt-9")
    failed(
        aws,
        request_id,
        "ALERT#STREAM_FAILED#notify#800000000003126276300",
        "800000000003126276368",
        "attempt-9",
    )
    failed(aws, request_id, "OFFER#D000003", "800000000003126276371", "attempt-9")

    # When the failures function gets Lambda's on-failure message for the batch
    answer = failures(given_up(aws))

    # Then the receipt and the second offer each have an alert (ids and states only), nothing else
    assert answer == {"alerts": 2}
    raised = {a["item_sk"]: a for a in alerts(aws, request_id)}
    assert set(raised) == {"REQUEST", "OFFER#D000002"}
    receipt = raised["REQUEST"]
    assert receipt["sk"] == f"ALERT#STREAM_FAILED#notify#{FIRST}"
    assert (receipt["request_id"], receipt["alert"], receipt["function"]) == (
        request_id,
        "STREAM_FAILED",
        "notify",
    )
    assert (receipt["sequence_number"], receipt["error"], receipt["status_at_failure"]) == (
        FIRST,
        "EmailNotSent",
        "NEW",
    )
    assert "request_status" not in receipt  # it would list the alert among requests (RequestsByStatus)

    # When SNS delivers the message again
    again = failures(given_up(aws))

    # Then nothing changes
    assert again == {"alerts": 0}
    assert {a["sk"]: a for a in alerts(aws, request_id)} == {a["sk"]: a for a in raised.values()}


def test_failures_message_that_is_no_stream_batch_changes_nothing(
    aws: Aws, request_id: str, failures: Handle
) -> None:
    # Given a request with a failed record, and a message that is not a stream batch of a known
    # function (an SNS event's dead letter; a batch of some other function)
    failed(aws, request_id, "REQUEST", FIRST, "attempt-9")
    event = given_up(aws)
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message["requestContext"]["functionArn"] = "arn:aws:lambda:us-east-1:123456789012:function:other"
    other = json.loads(json.dumps(event))
    other["Records"][0]["Sns"]["Message"] = json.dumps(message)
    dead_letter = json.loads(json.dumps(event))
    dead_letter["Records"][0]["Sns"]["Message"] = json.dumps({"Records": [{"EventSource": "aws:sns"}]})

    # When the failures function gets them
    answers = [failures(e) for e in (other, dead_letter)]

    # Then no alert is raised
    assert answers == [{"alerts": 0}] * 2
    assert alerts(aws, request_id) == []
