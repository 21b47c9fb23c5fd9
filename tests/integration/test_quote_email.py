"""The clinic's "Your quote" email: sent once when the first wave goes out, its range what the roster's
fee schedules give for the directors offered (recomputed here from the stored PROFILE items)."""

from __future__ import annotations

import email
import json
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from typing import Any

from directormatch.aws.attributes import from_attributes
from directormatch.intake.status_page import Partition, page_context
from tests.events import api_event, quote_body, stream_event, stream_record
from tests.fee_oracle import fee_by_hand
from tests.integration.conftest import Apps, Aws


def text_part(sent: Any) -> tuple[str, str]:
    raw = sent.raw_data if isinstance(sent.raw_data, bytes) else sent.raw_data.encode()
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(message["Subject"]), body.get_content()


def test_quote_email_tx_three_nps_controlled_gives_the_range_of_the_offered_directors_fees(
    aws: Aws, load_roster: Callable[..., list[dict[str, Any]]], apps: Apps
) -> None:
    # Given the synthetic roster, and a TX request for 3 NPs with controlled substances, matched
    load_roster(count=600)
    body = quote_body(
        states=["TX"], modalities=["weight_loss"], supervisees={"np": 3, "pa": 0}, controlled_substances=True
    )
    posted = apps.intake.lambda_handler(api_event(body=body), apps.context)
    new = aws.request_store().get_request(json.loads(posted["body"])["request_id"])
    assert new is not None
    apps.match.lambda_handler(stream_event(stream_record(new)), apps.context)
    offered = aws.request_store().get_request(new.request_id)
    assert offered is not None
    offers = aws.items_with_sk("OFFER#", prefix=True)
    assert offers

    # When notify gets the request's change NEW -> OFFERED, twice (a redelivery)
    change = stream_record(offered, "MODIFY", old_item=new)
    for _ in range(2):
        assert apps.notify.lambda_handler(stream_event(change), apps.context) == {"batchItemFailures": []}

    # Then the clinic gets one "Your quote" email
    [sent] = aws.sent_emails()
    assert sent.destinations == [body["contact"]["email"]] or set(sent.destinations) == {
        body["contact"]["email"]
    }
    subject, text = text_part(sent)

    # And its range is the lowest and highest fee of the directors offered, from their schedules
    fees = []
    for offer in offers:
        profile = aws.director_store().get_profile(offer["director_id"])
        assert profile is not None
        assert profile.fees is not None
        fees.append(
            fee_by_hand(
                profile.fees.to_item(), np=3, pa=0, states=1, locations=body["locations"], controlled=True
            )
        )
    low, high = min(fees), max(fees)
    expected = f"${low:,} a month" if low == high else f"${low:,} to ${high:,} a month"
    assert subject == f"Your medical director quote: {expected}"
    assert f"Your quote: {expected}" in text
    # And it says what the quote covers and what happens next
    assert "States:          TX" in text
    assert "3 NPs, 0 PAs" in text
    assert f"Locations:       {body['locations']}" in text
    assert "Controlled substances: yes" in text
    assert "The first physician to accept is introduced to you" in text
    # And the status page shows the same range
    items = [
        from_attributes(raw)
        for raw in aws.dynamodb.query(
            TableName=aws.requests_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": new.request_id}},
        )["Items"]
    ]
    partition = Partition.of(items)
    assert partition is not None
    assert page_context(partition, [])["quote"] == expected
