"""The offer page a director's link opens: what it shows of the offer, read from dicts or records."""

from __future__ import annotations

from http import HTTPStatus

from directormatch.offers.lifecycle import Outcome
from directormatch.offers.pages import confirm_page
from directormatch.records import Offer
from directormatch.timezones import CENTRAL, PACIFIC
from tests.unit.test_emails import SCRIPT, offer_item


def test_confirm_page_shows_the_offer_escaped_with_one_button() -> None:
    # Given an open offer whose reasons carry markup
    offer = {**offer_item(), "reasons": [SCRIPT]}

    # When the accept link's page is rendered
    page = confirm_page("accept", offer, "/offers/t", blocked=None, zone=CENTRAL)

    # Then it asks the question, lists the offer in words (its reference, its expiry in the director's
    # zone), escapes the reason and posts to the link
    assert page.status == HTTPStatus.OK
    assert "<h1>Accept this directorship?</h1>" in page.html
    assert "<dd>aesthetics, weight loss</dd>" in page.html
    assert "<dd>DM-E2T1-F616</dd>" in page.html
    assert "<dd>Wed, Nov 25, 3:20 PM CST</dd>" in page.html
    assert "&lt;script&gt;" in page.html
    assert "<script>" not in page.html
    assert 'action="/offers/t"' in page.html


def test_confirm_page_reads_a_typed_offer_and_says_why_it_is_closed() -> None:
    # Given an expired offer as a typed record (read by attribute), stored before reference codes
    summary = {
        **offer_item()["summary"],
        "modalities": ["iv_therapy"],
        "supervisees": {"np": 2, "pa": 0},
        "start_by": "2027-05-15",
    }
    item = {**offer_item(), "summary": summary, "expires_at": "2027-05-01T09:30:00+00:00"}
    del item["reference"]
    offer = Offer.from_item(item)

    # When the decline link's page is rendered for a director on Pacific time
    page = confirm_page("decline", offer, "/offers/t", blocked=Outcome.EXPIRED, zone=PACIFIC)

    # Then it says the offer expired, shows it in words (quoted by its id), and offers no button
    assert page.status == HTTPStatus.GONE
    assert "<h1>Offer expired</h1>" in page.html
    assert "<dd>IV therapy</dd>" in page.html
    assert "<dd>2 NP, 0 PA</dd>" in page.html
    assert f"<dd>{offer.request_id}</dd>" in page.html
    assert "<dd>Sat, May 1, 2:30 AM PDT</dd>" in page.html
    assert "<form" not in page.html
