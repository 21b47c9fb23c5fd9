"""The notify handler on stream batches: one email per (request, kind, recipient), via SES in moto."""

from __future__ import annotations

import email
import json
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from types import ModuleType
from typing import Any

import pytest

from directormatch.aws.attributes import from_attributes
from directormatch.aws.email_ledger import EmailLedger
from directormatch.mail.render import Mailer
from local.lambdas import LambdaContext
from tests.events import (
    NOTIFY_NEW_OFFER,
    NOTIFY_NEW_REQUEST,
    api_event,
    load_stream_event,
    quote_body,
    stream_event,
    stream_record,
)
from tests.faults import FaultyClient, client_error
from tests.integration.conftest import Apps, Aws, LoadDirectors


def recipients(sent: Any) -> set[str]:
    """Addresses of one sent message (moto lists the Destination and the To header both)."""
    return set(sent.destinations)


def parse(sent: Any) -> EmailMessage:
    """A raw message moto's SES kept, parsed as the recipient's mail client would."""
    raw = sent.raw_data
    data = raw if isinstance(raw, bytes) else raw.encode()
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


def image_of(event: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return from_attributes(event["Records"][index]["dynamodb"]["NewImage"])


def marker(aws: Aws, request_id: str, sk: str) -> dict[str, Any] | None:
    return next((i for i in aws.items() if (i["pk"], i["sk"]) == (request_id, sk)), None)


@pytest.fixture
def offer_director(aws: Aws, director_factory: Callable[..., list[dict[str, Any]]]) -> dict[str, Any]:
    """The director of events/notify/new_offer.json, with a PROFILE in the Directors table."""
    offer = image_of(load_stream_event(NOTIFY_NEW_OFFER))
    items = director_factory(
        offer["director_id"], ["TX"], email="hannah.bennett@clinicians.example", last_name="Bennett"
    )
    aws.director_store().put_items(items)
    return items[0]


def notify_one(
    aws: Aws, notify_app: ModuleType, context: LambdaContext, event_file: str
) -> tuple[dict[str, Any], Any, EmailMessage]:
    """Hand notify the sample event `event_file` (its item stored), which must queue exactly one email,
    and the sender that email: the item, that email as SES got it, and the email parsed."""
    event = aws.stored(load_stream_event(event_file))
    assert notify_app.lambda_handler(event, context) == {"batchItemFailures": []}
    [sent] = aws.sent_emails()
    return image_of(event), sent, parse(sent)


def test_notify_new_request_sends_one_receipt_to_the_clinic_contact(
    aws: Aws, notify_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given the stream event of a new REQUEST item (events/notify/new_request.json)
    # When the notify handler receives it
    request, sent, message = notify_one(aws, notify_app, lambda_context, NOTIFY_NEW_REQUEST)

    # Then one multipart email went to the clinic contact, quoting the reference
    assert recipients(sent) == {request["contact"]["email"]}
    assert message["To"] == request["contact"]["email"]
    assert message["From"] == f"DirectorMatch <{aws.environment['SENDER_EMAIL']}>"
    assert message["Subject"] == f"We received your request for a medical director ({request['reference']})"
    assert message.get_content_type() == "multipart/alternative"
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    assert request["clinic"]["name"] in bodies["text/plain"]
    assert "Bluebonnet Aesthetics &amp; Wellness" in bodies["text/html"]
    # And the EMAIL marker records it as sent
    sent_marker = marker(aws, request["request_id"], "EMAIL#receipt#clinic")
    assert sent_marker is not None
    assert sent_marker["email_status"] == "SENT"
    assert sent_marker["message_id"]


def test_notify_new_offer_sends_one_offer_to_the_director_profile_email(
    aws: Aws, notify_app: ModuleType, offer_director: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given the stream event of a new OFFER item, and the director's PROFILE
    # When the notify handler receives it
    offer, sent, message = notify_one(aws, notify_app, lambda_context, NOTIFY_NEW_OFFER)

    # Then one multipart email went to the address on the director's PROFILE
    assert recipients(sent) == {offer_director["email"]}
    assert message["To"] == offer_director["email"]
    assert message["Subject"] == "Medical director opportunity: aesthetics, weight loss in TX"
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    assert "Hello Dr. Bennett," in bodies["text/plain"]
    for reason in offer["reasons"]:
        assert reason in bodies["text/plain"]
    assert marker(aws, offer["request_id"], f"EMAIL#offer#{offer['director_id']}")["email_status"] == "SENT"  # type: ignore[index]


def test_notify_redelivered_batch_queues_nothing_more(
    aws: Aws, notify_app: ModuleType, offer_director: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given a batch of a new REQUEST and a new OFFER, already handled once and its emails sent
    event = aws.stored(
        stream_event(
            load_stream_event(NOTIFY_NEW_REQUEST)["Records"][0],
            load_stream_event(NOTIFY_NEW_OFFER)["Records"][0],
        ),
    )
    notify_app.lambda_handler(event, lambda_context)
    assert len(aws.sent_emails()) == 2

    # When the same batch is delivered again
    response = notify_app.lambda_handler(event, lambda_context)

    # Then it succeeds without queueing, so without sending, anything
    assert response == {"batchItemFailures": []}
    assert aws.send_queued() == 0
    assert len(aws.sent_emails()) == 2


def test_notify_redelivered_while_the_email_waits_in_the_queue_queues_it_once(
    aws: Aws, notify_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a new REQUEST queued by notify, its email waiting in the queue (a QUEUED marker holds no
    # lease that could run out while it waits)
    event = aws.stored(load_stream_event(NOTIFY_NEW_REQUEST))
    notify_app.lambda_handler(event, lambda_context)
    request_id = image_of(event)["request_id"]
    queued = marker(aws, request_id, "EMAIL#receipt#clinic")
    assert queued is not None
    assert (queued["email_status"], queued.get("lease_until")) == ("QUEUED", None)

    # When the stream record comes again meanwhile
    assert notify_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    # Then the queue still holds one message for it, and the clinic gets one receipt
    assert aws.send_queued() == 1
    assert len(aws.sent_emails()) == 1
    assert marker(aws, request_id, "EMAIL#receipt#clinic")["email_status"] == "SENT"  # type: ignore[index]


def test_sender_ses_throttle_returns_the_message_keeps_it_queued_and_its_retry_sends_once(
    aws: Aws,
    notify_app: ModuleType,
    offer_director: dict[str, Any],
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given SES throttles the first send, and a batch of a new REQUEST then a new OFFER, queued by notify
    throttled = client_error("TooManyRequestsException", "SendEmail", "Maximum sending rate exceeded.")
    flaky = FaultyClient(aws.session.client("sesv2"), "send_email", lambda _: throttled)
    monkeypatch.setattr(Mailer, "client", property(lambda self: flaky))
    event = aws.stored(
        stream_event(
            load_stream_event(NOTIFY_NEW_REQUEST)["Records"][0],
            load_stream_event(NOTIFY_NEW_OFFER)["Records"][0],
        ),
    )
    request_id = image_of(event)["request_id"]
    assert notify_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    # When the sender drains the queue (the throttled message comes back, as after its visibility timeout)
    sent = aws.sent_emails()

    # Then each email went out once: the receipt on its retry, after the offer
    assert [recipients(one) for one in sent] == [
        {offer_director["email"]},
        {image_of(event)["contact"]["email"]},
    ]
    assert marker(aws, request_id, "EMAIL#receipt#clinic")["email_status"] == "SENT"  # type: ignore[index]
    # And the SES throttle was the only failure: the first attempt gave its claim back to QUEUED
    assert len(flaky.refused) == 1


def test_sender_offer_for_director_without_profile_ends_in_the_dead_letter_queue_still_queued(
    aws: Aws, notify_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a batch of a new REQUEST and an OFFER to a director with no PROFILE item, queued by notify
    event = aws.stored(
        stream_event(
            load_stream_event(NOTIFY_NEW_REQUEST)["Records"][0],
            load_stream_event(NOTIFY_NEW_OFFER)["Records"][0],
        ),
    )
    offer = image_of(event, 1)
    assert notify_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    # When the sender drains the queue: the offer fails every receive
    sent = aws.sent_emails()

    # Then the receipt went out, and the offer's message waits in the dead-letter queue, ids only
    assert len(sent) == 1
    sqs = aws.session.client("sqs")
    [dead] = sqs.receive_message(QueueUrl=aws.queues["SendDeadLetterQueue"]).get("Messages", [])
    assert json.loads(dead["Body"]) == {
        "partition": offer["request_id"],
        "kind": "offer",
        "recipient": offer["director_id"],
        "item": "",
        "correlation_id": offer.get("correlation_id", ""),
    }
    # with its marker still QUEUED: once the cause is fixed, a replayed message sends it once
    assert marker(aws, offer["request_id"], f"EMAIL#offer#{offer['director_id']}")["email_status"] == "QUEUED"  # type: ignore[index]


def test_notify_other_records_send_nothing(
    aws: Aws, notify_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a MODIFY of a REQUEST, an INSERT of a MATCH item and an INSERT of an EMAIL marker
    request = image_of(load_stream_event(NOTIFY_NEW_REQUEST))
    event = stream_event(
        stream_record({**request, "request_status": "OFFERED"}, event_name="MODIFY", old_item=request),
        stream_record({"pk": request["request_id"], "sk": "MATCH", "shortlist": []}),
        stream_record({"pk": request["request_id"], "sk": "EMAIL#receipt#clinic", "email_status": "SENDING"}),
    )

    # When the notify handler receives them
    response = notify_app.lambda_handler(event, lambda_context)

    # Then none fails and no email is sent
    assert response == {"batchItemFailures": []}
    assert aws.sent_emails() == []


def test_notify_intake_to_match_to_notify_emails_clinic_and_each_offered_director(
    aws: Aws,
    load_roster: LoadDirectors,
    apps: Apps,
) -> None:
    # Given a roster, and a request posted through intake and matched from its stream record
    load_roster(count=153)
    posted = apps.intake.lambda_handler(api_event(body=quote_body()), apps.context)
    request = aws.request_store().get_request(json.loads(posted["body"])["request_id"])
    assert request is not None
    apps.match.lambda_handler(stream_event(stream_record(request)), apps.context)
    offers = aws.items_with_sk("OFFER#", prefix=True)

    # When notify receives the REQUEST and OFFER inserts, as the template's filters pass them
    response = apps.notify.lambda_handler(
        stream_event(stream_record(request), *(stream_record(o) for o in offers)), apps.context
    )

    # Then the clinic gets its receipt and each offered director one offer, at their PROFILE address
    assert response == {"batchItemFailures": []}
    profiles = {o["director_id"]: aws.director_store().get_profile(o["director_id"]) for o in offers}
    expected = [request["contact"]["email"], *(profiles[o["director_id"]]["email"] for o in offers)]  # type: ignore[index]
    assert [recipients(sent) for sent in aws.sent_emails()] == [{address} for address in expected]


def test_sender_that_dies_after_ses_accepted_sends_nothing_more_while_its_claim_holds(
    aws: Aws, notify_app: ModuleType, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a receipt queued by notify, and a sender that dies once SES took it, before it could
    # record the send
    event = aws.stored(load_stream_event(NOTIFY_NEW_REQUEST))
    notify_app.lambda_handler(event, lambda_context)
    request_id = image_of(event)["request_id"]

    def dies(*_: Any) -> None:
        raise RuntimeError("the sender's execution environment ended")

    monkeypatch.setattr(EmailLedger, "mark_email_sent", dies)

    # When the queue brings the message back on every receive until it dead-letters it
    sent = aws.sent_emails()

    # Then SES got the receipt once: each redelivery met the dead sender's unexpired claim
    assert len(sent) == 1
    claim = marker(aws, request_id, "EMAIL#receipt#clinic")
    assert claim is not None
    assert claim["email_status"] == "SENDING"
    sqs = aws.session.client("sqs")
    assert len(sqs.receive_message(QueueUrl=aws.queues["SendDeadLetterQueue"]).get("Messages", [])) == 1
