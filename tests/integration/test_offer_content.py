"""What an offer email tells a director, end to end: the clinic's needs and notes as stored at intake,
and the director's own fee as their schedule prices the request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from types import ModuleType
from typing import Any

from directormatch.directors import DeaRegistration, Fees
from local.lambdas import LambdaContext
from tests.fee_oracle import fee_by_hand
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest, roster_director
from tests.integration.test_no_match_told import emails_by_kind, notify_from_stream
from tests.integration.test_notify import parse, parts
from tests.unit.test_emails import SCRIPT

DEA = DeaRegistration(state="TX", number="AB1234563", expires_on=date.today() + timedelta(days=400))
NOTES = f"Monthly chart review (20%) & EHR is Aesthetic Record\n{SCRIPT}"


def test_offer_email_carries_the_clinics_needs_and_notes_escaped(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    notify_app: ModuleType,
    notify_stream: Callable[[], list[dict[str, Any]]],
    lambda_context: LambdaContext,
) -> None:
    # Given a TX request with notes carrying markup, matched to one of three directors
    load_directors(3)
    request = offered_request(wave_size=1, notes=NOTES, locations=2)
    [offer] = aws.request_store().offers(request["request_id"])
    assert offer.summary.notes == NOTES

    # When notify sends the offer
    notify_from_stream(aws, notify_app, notify_stream, lambda_context)

    # Then the director reads the services, supervisees, locations, states, start date and notes
    to, body = emails_by_kind(aws)["offer"]
    profile = aws.director_store().get_profile(offer.director_id)
    assert profile is not None
    assert to == profile.email
    text, html = body["text/plain"], body["text/html"]
    assert "Services:        aesthetics, weight loss" in text
    assert "Supervision:     2 NPs, 0 PAs" in text
    assert "Locations:       2" in text
    assert "States:          TX" in text
    assert f"Start by:        {request['start_by']}" in text
    assert f"Notes from the clinic:\n{NOTES}\n" in text.replace("\r\n", "\n")
    # And the HTML part shows the notes escaped, never as markup
    assert "Monthly chart review (20%) &amp; EHR is Aesthetic Record" in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html


def test_offer_email_itemises_each_directors_own_fee_from_their_schedule(
    aws: Aws,
    offered_request: OfferedRequest,
    notify_app: ModuleType,
    notify_stream: Callable[[], list[dict[str, Any]]],
    lambda_context: LambdaContext,
) -> None:
    # Given three TX directors registered with the DEA, with different schedules, one with none on file
    schedules = {
        1: Fees(base=900, per_np=250, per_additional_location=300, controlled_premium=400),
        2: Fees(base=1_200, per_np=100, chart_review_percent=10, chart_review_fee=150),
        3: None,
    }
    aws.director_store().put_items(
        [item for n, fees in schedules.items() for item in roster_director(n, fees=fees, dea=[DEA])]
    )
    # And a request for 3 NPs at 2 locations with controlled substances, offered to all three
    request = offered_request(
        supervisees={"np": 3, "pa": 0}, locations=2, controlled_substances=True, modalities=["weight_loss"]
    )
    offers = aws.request_store().offers(request["request_id"])
    assert len(offers) == 3

    # When notify sends the offers
    notify_from_stream(aws, notify_app, notify_stream, lambda_context)

    # Then each director's email gives their own fee, as their schedule prices this request
    sent = [parse(raw) for raw in aws.sent_emails()]
    by_director = {str(m["To"]): parts(m)["text/plain"].replace("\r\n", "\n") for m in sent}
    for n, fees in schedules.items():
        text = by_director[f"director{n}@clinicians.example"]
        if fees is None:
            assert "your fee is to be agreed with the clinic" in text
            assert "Accept: http" in text
            continue
        total = fee_by_hand(fees.model_dump(), np=3, pa=0, states=1, locations=2, controlled=True)
        block = text.split("Your fee for this clinic:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        amounts = [int(line.rsplit("$", 1)[1].replace(",", "")) for line in block]
        assert block[-1].split()[:3] == ["Total", "a", "month"]
        assert sum(amounts[:-1]) == amounts[-1] == total
        assert f"Accept at ${total:,} a month: http" in text
