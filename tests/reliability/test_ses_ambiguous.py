"""Case 5b, the ambiguous failure: SES accepted the message, then its answer was lost (a read
timeout after the request went out, or the connection closed). Nobody can tell that from a
request SES never got, so the email is sent again: delivery is at-least-once, and the recipient
may get a second copy.

What limits it: botocore does not retry such a send inside the call (directormatch.aws.clients), so each
delivery of the send-queue message sends at most one copy; the message is reported failed, its
claim goes back to QUEUED, and the redelivery sends it again. A sender that dies after SES accepted
(before it could record the send) is the same case: its claim's lease runs out and the message,
visible again, sends one more copy. Every copy is the same message with the same Message-ID
(<kind>.<request>[.<recipient>]@directormatch, directormatch.mail.render), so mail clients that
de-duplicate on Message-ID (Gmail does) show one. The table reports these copies as duplicated.
"""

from __future__ import annotations

import email
from email import policy
from typing import Any

from tests.integration.conftest import Aws
from tests.reliability.conftest import SendBatch, Tally
from tests.reliability.helpers import SesFault, claim, duplicates, lost_emails, sent

CASE = "5c"


def text_of(raw: bytes) -> tuple[str, str, str]:
    message: Any = email.message_from_bytes(raw, policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    return str(message["Subject"]), str(message["To"]), text


def test_ses_answer_lost_after_accepting_sends_one_more_copy_with_the_same_message_id(
    aws: Aws, send_batch: SendBatch, tally: Tally
) -> None:
    # Given SES accepts the receipt but the answer to that one send is lost
    request_id, records = send_batch.request_id, send_batch.records
    fault = SesFault("accepted-then-timeout", times=1).inject()

    # When the sender receives the batch
    response = send_batch.deliver()

    # Then the send was not retried inside the call: one attempt, the record reported, its claim
    # released (SES has one copy)
    assert fault.attempts == 1 + 3
    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert claim(aws, request_id, "EMAIL#receipt#clinic")["email_status"] == "QUEUED"  # type: ignore[index]
    assert [m.kind for m in sent(aws)].count("receipt") == 1

    # When the queue redelivers the batch
    assert send_batch.deliver() == {"batchItemFailures": []}

    # Then nothing was lost, and the clinic has the receipt twice: the same message, the same
    # Message-ID, so its mail client can fold the copies
    messages = sent(aws)
    receipts = [m for m in messages if m.kind == "receipt"]
    lost = lost_emails(aws, request_id, messages)
    same = {m.message_id for m in receipts} == {f"<receipt.{request_id}@directormatch>"}
    tally.accepted_duplicates(ok=same and len(receipts) == 2, lost=lost, duplicated=duplicates(messages))
    assert lost == 0
    assert len(receipts) == 2
    assert same
    assert text_of(receipts[0].raw) == text_of(receipts[1].raw)
    # And the offers, whose answers arrived, went out once each
    others = [m for m in messages if m.kind != "receipt"]
    assert sorted(m.kind for m in others) == ["offer"] * 3
    assert duplicates(others) == 0
