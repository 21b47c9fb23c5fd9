"""Pages answering links: the offer page's heading follows its notice; a broken link is explained in
words for whoever holds it (a director's offer link, a clinic's status link)."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import pytest

from directormatch.aws.attributes import from_attributes
from directormatch.errors import TokenError, TokenExpired, TokenInvalid
from directormatch.offers.lifecycle import Outcome
from directormatch.offers.pages import LinkHolder, confirm_page, token_error_page
from directormatch.timezones import CENTRAL
from tests.events import NOTIFY_NEW_OFFER, load_stream_event

POST_URL = "https://api.example/offers/t/accept"


def offer_item() -> dict[str, Any]:
    """The OFFER item of events/notify/new_offer.json."""
    return from_attributes(load_stream_event(NOTIFY_NEW_OFFER)["Records"][0]["dynamodb"]["NewImage"])


def h1(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert found, html
    return found.group(1)


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found, html
    return found.group(1)


@pytest.mark.parametrize(
    ("action", "expected"),
    [("accept", "Accept this directorship?"), ("decline", "Decline this directorship?")],
)
def test_confirm_page_open_offer_asks_the_question_with_one_button(action: str, expected: str) -> None:
    # Given an offer still open
    # When its link is opened
    page = confirm_page(action, offer_item(), POST_URL, blocked=None, zone=CENTRAL)

    # Then the heading asks, and the page carries the button
    assert page.status == HTTPStatus.OK
    assert h1(page.html) == expected
    assert title(page.html).startswith(expected)
    assert page.html.count("<button") == 1


@pytest.mark.parametrize(
    ("blocked", "status", "expected", "notice"),
    [
        (Outcome.EXPIRED, HTTPStatus.GONE, "Offer expired", "This offer is no longer open."),
        (Outcome.FILLED, HTTPStatus.CONFLICT, "Position filled", "Another physician accepted first."),
        (Outcome.ALREADY_ACCEPTED, HTTPStatus.CONFLICT, "Already accepted", "You accepted this offer"),
        (Outcome.ALREADY_DECLINED, HTTPStatus.CONFLICT, "Already declined", "You declined this offer"),
    ],
)
@pytest.mark.parametrize("action", ["accept", "decline"])
def test_confirm_page_offer_that_can_no_longer_be_answered_is_headed_by_its_notice(
    action: str, blocked: Outcome, status: HTTPStatus, expected: str, notice: str
) -> None:
    # Given an offer that expired, was filled or was answered before
    # When either of its links is opened
    page = confirm_page(action, offer_item(), POST_URL, blocked=blocked, zone=CENTRAL)

    # Then the heading says what the notice says, not "Accept this directorship?", and no button shows
    assert page.status == status
    assert h1(page.html) == expected
    assert title(page.html).startswith(expected)
    assert notice in page.html
    assert "directorship?" not in page.html
    assert "<button" not in page.html


CLINIC_SAYS = ("receipt email", "quote your reference")


@pytest.mark.parametrize(
    ("holder", "error", "status", "heading", "says", "never_says"),
    [
        pytest.param(
            LinkHolder.CLINIC,
            TokenInvalid("link signature does not match"),
            HTTPStatus.FORBIDDEN,
            "Link not valid",
            CLINIC_SAYS,
            ("offer", "buttons"),
            id="clinic-altered",
        ),
        pytest.param(
            LinkHolder.CLINIC,
            TokenExpired("link has expired"),
            HTTPStatus.GONE,
            "Link expired",
            CLINIC_SAYS,
            ("offer", "buttons"),
            id="clinic-expired",
        ),
        # A director holds offer links unless told otherwise: no holder given.
        pytest.param(
            None,
            TokenInvalid("malformed link"),
            HTTPStatus.FORBIDDEN,
            "Link not valid",
            ("Use the buttons in the offer email",),
            (),
            id="director-altered",
        ),
        pytest.param(
            None,
            TokenExpired("link has expired"),
            HTTPStatus.GONE,
            "Link expired",
            ("reply to the offer email",),
            (),
            id="director-expired",
        ),
    ],
)
def test_token_error_page_points_the_holder_to_the_email_they_have(
    holder: LinkHolder | None,
    error: TokenError,
    status: HTTPStatus,
    heading: str,
    says: tuple[str, ...],
    never_says: tuple[str, ...],
) -> None:
    # Given a clinic's status link or a director's offer link that was altered or has expired
    # When the page is made for its holder
    page = token_error_page(error) if holder is None else token_error_page(error, holder)

    # Then it points to what the holder has: the clinic its receipt email and reference (no offer, no
    # buttons), the director the offer email
    assert page.status == status
    assert h1(page.html) == heading
    assert all(words in page.html for words in says)
    assert not any(words in page.html for words in never_says)
