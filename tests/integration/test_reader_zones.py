"""What each reader is shown, end to end through intake, match, notify and respond: the reference code
the clinic quotes, and times in the reader's own zone, named."""

from __future__ import annotations

import email
import json
from email import policy
from email.message import EmailMessage
from typing import Any

from directormatch.timezones import local_time
from tests.events import api_event, quote_body, stream_event, stream_record
from tests.integration.conftest import Apps, Aws, roster_director
from tests.integration.test_respond import link_token, offer_event

CENTRAL = {"CST", "CDT"}
MOUNTAIN = {"MST", "MDT"}


def text_of(sent: Any) -> tuple[str, str]:
    """(kind, plain text) of a message moto's SES kept."""
    raw = sent.raw_data if isinstance(sent.raw_data, bytes) else sent.raw_data.encode()
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    kind = str(message["Message-ID"]).strip("<").split(".", 1)[0]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return kind, str(body.get_content())


def test_a_tx_nm_team_reads_the_reference_and_each_member_its_own_zone(aws: Aws, apps: Apps) -> None:
    # Given directors licensed in Texas only and in New Mexico only (Central and Mountain Time), and
    # a clinic in Texas and New Mexico posted through intake, matched and notified
    team = [roster_director(n, ("TX",)) for n in range(1, 4)] + [
        roster_director(n, ("NM",)) for n in range(4, 7)
    ]
    aws.director_store().put_items([item for director in team for item in director])
    posted = apps.intake.lambda_handler(
        api_event(body=quote_body(states=["TX", "NM"]), without_headers=("Idempotency-Key",)), apps.context
    )
    body = json.loads(posted["body"])
    request = aws.request_store().get_request(body["request_id"])
    assert request is not None
    assert apps.match.lambda_handler(stream_event(stream_record(request)), apps.context) == {
        "batchItemFailures": []
    }
    offers = aws.items_with_sk("OFFER#", prefix=True)
    notified = apps.notify.lambda_handler(
        stream_event(stream_record(request), *(stream_record(o) for o in offers)), apps.context
    )
    assert notified == {"batchItemFailures": []}

    # When the clinic and each director read what they were sent
    sent = [text_of(message) for message in aws.sent_emails()]
    receipts = [text for kind, text in sent if kind == "receipt"]
    offer_texts = [text for kind, text in sent if kind == "offer"]

    # Then the clinic's receipt quotes the code intake answered with, and links the status_url intake
    # answered with; the internal id appears only inside that link
    assert body["reference"] == request.reference
    [receipt] = receipts
    assert f"Reference:       {body['reference']}" in receipt
    assert f"Follow your request at any time: {body['status_url']}" in receipt
    assert body["request_id"] not in receipt.replace(body["status_url"], "")
    # And each member's offer quotes it too, open until a time in the member's home zone, named
    assert {tuple(o["covers_states"]) for o in offers} == {("TX",), ("NM",)}
    assert len(offer_texts) == len(offers)
    for offer in offers:
        zone = "America/Chicago" if offer["covers_states"] == ["TX"] else "America/Denver"
        until = local_time(offer["expires_at"], zone)
        assert until.rsplit(" ", 1)[1] in (CENTRAL if zone == "America/Chicago" else MOUNTAIN)
        [text] = [t for t in offer_texts if f"This offer is open until {until}." in t]
        assert f"reference {body['reference']}" in text

    # When a New Mexico member opens the offer's link
    [nm_offer] = [o for o in offers if o["covers_states"] == ["NM"]]
    aws.use_function("RespondFunction")
    from functions.respond import app as respond

    page = respond.lambda_handler(offer_event("GET", link_token(nm_offer)), apps.context)

    # Then the page gives the reference and the expiry in Mountain Time
    assert page["statusCode"] == 200
    assert f"<dt>Reference</dt><dd>{body['reference']}</dd>" in page["body"]
    assert f"<dd>{local_time(nm_offer['expires_at'], 'America/Denver')}</dd>" in page["body"]
