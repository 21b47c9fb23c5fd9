"""What an offer email tells a director, end to end: the clinic's needs and notes as stored at intake."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from local.lambdas import LambdaContext
from tests.integration.conftest import Aws
from tests.integration.test_no_match_told import emails_by_kind, notify_from_stream
from tests.unit.test_emails import SCRIPT

NOTES = f"Monthly chart review (20%) & EHR is Aesthetic Record\n{SCRIPT}"


def test_offer_email_carries_the_clinics_needs_and_notes_escaped(
    aws: Aws,
    load_directors: Callable[..., list[dict[str, Any]]],
    offered_request: Callable[..., dict[str, Any]],
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
    assert "Supervisees:     2 NP, 0 PA" in text
    assert "Locations:       2" in text
    assert "States:          TX" in text
    assert f"Start by:        {request['start_by']}" in text
    assert f"Notes from the clinic:\n{NOTES}\n" in text.replace("\r\n", "\n")
    # And the HTML part shows the notes escaped, never as markup
    assert "Monthly chart review (20%) &amp; EHR is Aesthetic Record" in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
