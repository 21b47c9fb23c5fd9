"""Case 5b: SES throttling and timeouts in the sender, injected with botocore event hooks on the SES
client the functions use (before-send.sesv2.SendEmail, ahead of moto).

Throttling and connection errors are retried by botocore (standard mode: four attempts); when
they are spent, or when the answer timed out (not retried in the call: SES may have the message,
see test_ses_ambiguous.py), the message is reported failed and its EMAIL claim goes back to QUEUED,
so the queue's redelivery sends it exactly once: nothing lost, nothing twice.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import Aws
from tests.reliability.conftest import SendBatch, Tally
from tests.reliability.helpers import (
    SES_ATTEMPTS,
    SesFault,
    claim,
    duplicates,
    expected_message_ids,
    lost_emails,
    sent,
)

CASE = "5b"
RECEIPT = "EMAIL#receipt#clinic"


@pytest.mark.parametrize(
    ("kind", "attempts"),
    [
        ("throttled-429", SES_ATTEMPTS),
        ("throttling-400", SES_ATTEMPTS),
        ("connection-error", SES_ATTEMPTS),
        ("read-timeout", 1),
    ],
)
def test_ses_failing_the_send_reports_the_message_requeues_the_claim_and_redelivery_sends_once(
    aws: Aws, send_batch: SendBatch, tally: Tally, kind: str, attempts: int
) -> None:
    # Given SES fails every attempt botocore makes at the receipt (throttled, cannot connect), or
    # the one attempt it makes when the request timed out before SES got it
    request_id, records = send_batch.request_id, send_batch.records
    fault = SesFault(kind, times=attempts).inject()

    # When the sender receives the batch
    response = send_batch.deliver()

    # Then the receipt was attempted that many times, its message alone is reported, and its claim
    # is QUEUED again; the three offers went out
    assert fault.attempts == attempts + 3
    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert claim(aws, request_id, RECEIPT)["email_status"] == "QUEUED"  # type: ignore[index]
    assert sorted(m.kind for m in sent(aws)) == ["offer"] * 3

    # When the queue delivers the batch again (SES answers now)
    retried = send_batch.deliver()

    # Then the receipt went out once, and nothing else twice
    messages = sent(aws)
    lost = lost_emails(aws, request_id, messages)
    tally.tried(ok=retried == {"batchItemFailures": []}, lost=lost, duplicated=duplicates(messages))
    assert retried == {"batchItemFailures": []}
    assert {m.message_id for m in messages} == expected_message_ids(aws, request_id)
    assert duplicates(messages) == 0
    assert claim(aws, request_id, RECEIPT)["email_status"] == "SENT"  # type: ignore[index]


def test_ses_throttled_once_is_absorbed_by_the_retry_in_the_call_and_sends_once(
    aws: Aws, send_batch: SendBatch, tally: Tally
) -> None:
    # Given SES throttles one attempt only
    fault = SesFault("throttled-429", times=1).inject()

    # When the sender receives the batch
    response = send_batch.deliver()

    # Then botocore's retry sent it: no message failed, each email went out once
    messages = sent(aws)
    lost = lost_emails(aws, send_batch.request_id, messages)
    tally.tried(ok=response == {"batchItemFailures": []}, lost=lost, duplicated=duplicates(messages))
    assert response == {"batchItemFailures": []}
    assert fault.attempts == 2 + 3  # the throttled attempt and its retry, then the three offers
    assert {m.message_id for m in messages} == expected_message_ids(aws, send_batch.request_id)
    assert duplicates(messages) == 0
