"""The offer page a director's link opens: what it shows of the offer, read from dicts or records."""

from __future__ import annotations

from http import HTTPStatus
from types import SimpleNamespace

from directormatch.offers.lifecycle import Outcome
from directormatch.offers.pages import confirm_page
from tests.unit.test_emails import SCRIPT, offer_item


def test_confirm_page_shows_the_offer_escaped_with_one_button() -> None:
    # Given an open offer whose reasons carry markup
    offer = {**offer_item(), "reasons": [SCRIPT]}

    # When the accept link's page is rendered
    page = confirm_page("accept", offer, "/offers/t", blocked=None)

    # Then it asks the question, lists the offer in words, escapes the reason and posts to the link
    assert page.status == HTTPStatus.OK
    assert "<h1>Accept this directorship?</h1>" in page.html
    assert "<dd>aesthetics, weight loss</dd>" in page.html
    assert f"<dd>{offer['expires_at'].replace('T', ' ')[:16]} UTC</dd>" in page.html
    assert "&lt;script&gt;" in page.html
    assert "<script>" not in page.html
    assert 'action="/offers/t"' in page.html


def test_confirm_page_reads_a_typed_offer_and_says_why_it_is_closed() -> None:
    # Given an expired offer as a record read by attribute
    summary = SimpleNamespace(
        states=["TX"],
        modalities=["iv_therapy"],
        supervisees=SimpleNamespace(np=2, pa=0),
        locations=1,
        controlled_substances=False,
        start_by="2027-05-15",
    )
    offer = SimpleNamespace(
        summary=summary, expires_at="2027-05-01T09:30:00+00:00", reasons=["Licensed in TX"]
    )

    # When the decline link's page is rendered
    page = confirm_page("decline", offer, "/offers/t", blocked=Outcome.EXPIRED)  # type: ignore[arg-type]

    # Then it says the offer expired, shows it in words, and offers no button
    assert page.status == HTTPStatus.GONE
    assert "<h1>Offer expired</h1>" in page.html
    assert "<dd>IV therapy</dd>" in page.html
    assert "<dd>2 NP, 0 PA</dd>" in page.html
    assert "<dd>2027-05-01 09:30 UTC</dd>" in page.html
    assert "<form" not in page.html
