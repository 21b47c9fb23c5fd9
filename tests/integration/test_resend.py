"""`python -m ops.resend`: the send dead-letter queue's messages go back to the send queue, except
those whose email went out meanwhile (dropped) and those that are no letter (left, exit 1)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from directormatch.aws import clients
from directormatch.aws.attributes import to_attributes
from directormatch.mail.send_queue import Letter
from ops import resend
from tests.integration.conftest import Aws


def bodies(aws: Aws, queue: str) -> list[dict[str, Any] | str]:
    found = aws.session.client("sqs").receive_message(
        QueueUrl=aws.queues[queue], MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    out: list[dict[str, Any] | str] = []
    for message in found.get("Messages", []):
        try:
            out.append(json.loads(message["Body"]))
        except json.JSONDecodeError:
            out.append(message["Body"])
    return out


def test_resend_puts_back_what_was_not_sent_drops_what_was_and_leaves_what_is_no_letter(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given three dead letters: an email still QUEUED, one SENT meanwhile, and a message that is no letter
    aws.use_function("SenderFunction")
    clients.clear_clients()
    sqs, dead = aws.session.client("sqs"), aws.queues["SendDeadLetterQueue"]
    waiting, done = Letter("01JREQ", "receipt", "clinic"), Letter("01JREQ", "offer", "D1")
    for marker in (
        {"pk": "01JREQ", "sk": "EMAIL#receipt#clinic", "email_status": "QUEUED"},
        {"pk": "01JREQ", "sk": "EMAIL#offer#D1", "email_status": "SENT"},
    ):
        aws.dynamodb.put_item(TableName=aws.requests_table, Item=to_attributes(marker))
    for body in (waiting.body(), done.body(), "garbage"):
        sqs.send_message(QueueUrl=dead, MessageBody=body)
    arguments = ["--dead-letter-url", dead, "--queue-url", aws.queues["SendQueue"]]

    # When ops runs it with --dry-run
    status = resend.main([*arguments, "--dry-run"])

    # Then it lists each message and what it would do, and changes nothing
    printed = capsys.readouterr().out
    assert status == 1
    assert "resend  01JREQ receipt clinic" in printed
    assert "drop    01JREQ offer D1" in printed
    assert "leave   not a send-queue letter" in printed
    assert bodies(aws, "SendQueue") == []
    assert len(bodies(aws, "SendDeadLetterQueue")) == 3

    # When ops runs it for real
    status = resend.main(arguments)

    # Then the waiting email is back in the send queue, the sent one is gone, the stranger stays
    assert status == 1
    assert bodies(aws, "SendQueue") == [json.loads(waiting.body())]
    assert bodies(aws, "SendDeadLetterQueue") == ["garbage"]
