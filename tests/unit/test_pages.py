"""The offer page a director's link opens and the offer email: what they show of the offer, read from
dicts or records, and what an accept page says."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from directormatch.mail.messages import offer_email
from directormatch.offers.lifecycle import Answer, Outcome
from directormatch.offers.pages import confirm_page, result_page
from directormatch.records import Offer, Profile
from directormatch.timezones import CENTRAL, PACIFIC
from tests.unit.test_emails import SCRIPT, director, offer_item


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
    assert "<dd>2 NPs, 0 PAs</dd>" in page.html
    assert f"<dd>{offer.request_id}</dd>" in page.html
    assert "<dd>Sat, May 1, 2:30 AM PDT</dd>" in page.html
    assert "<form" not in page.html


def team_offer() -> dict[str, Any]:
    """The NM member's offer of a TX/OK/NM team request, with the clinic's notes carrying markup."""
    item = offer_item()
    summary = {
        **item["summary"],
        "states": ["TX", "OK", "NM"],
        "malpractice": "director_policy",
        "notes": f"Chart review 20%\n{SCRIPT}",
    }
    return {**item, "summary": summary, "team": True, "covers_states": ["NM"]}


def test_confirm_page_of_a_team_offer_says_which_states_and_when_the_introduction_goes() -> None:
    # Given a team member's open offer
    offer = team_offer()

    # When the accept link's page is rendered
    page = confirm_page("accept", offer, "/offers/t", blocked=None, zone=CENTRAL)

    # Then it names the states they would cover, waits for every state, and escapes the notes
    assert "<dt>You would cover</dt><dd>NM</dd>" in page.html
    assert "once every state is covered" in page.html
    assert "The first physician to accept" not in page.html
    assert "Chart review 20%\n&lt;script&gt;" in page.html
    assert "<script>" not in page.html
    assert "<dt>Malpractice</dt><dd>you bring coverage of at least $1M/$3M</dd>" in page.html


def test_accepted_page_of_a_team_member_does_not_promise_an_introduction_now() -> None:
    # Given a team member's accept that went through
    answer = Answer(Outcome.ACCEPTED, Offer.from_item(team_offer()))

    # When the result page is rendered
    page = result_page(answer)

    # Then it says what they cover and that the introduction waits for every state
    assert page.status == HTTPStatus.OK
    assert "you accepted to cover NM" in page.html
    assert "once every state is covered" in page.html
    assert "introducing you to the clinic by email now" not in page.html


def test_accepted_page_of_a_single_director_introduces_now() -> None:
    # Given a lone director's accept
    answer = Answer(Outcome.ACCEPTED, Offer.from_item(offer_item()))

    # Then the page says the introduction is on its way
    assert "We are introducing you to the clinic by email now." in result_page(answer).html


def test_team_offer_email_says_the_states_the_notes_and_when_the_introduction_goes() -> None:
    # Given the NM member's offer of a team request whose notes carry markup
    offer = team_offer()

    # When the offer email is rendered
    rendered = offer_email(Offer.from_item(offer), Profile.from_item(director()), "https://api.example")

    # Then both parts name the states they would cover and wait for every state
    for part in (rendered.text, rendered.html):
        assert "You would cover" in part
        assert "You would cover NM, and other physicians the rest of TX, OK, NM" in part
        assert "once every state is covered" in part
        assert "The first physician to accept" not in part
    # And the notes read plain in the text part, escaped in the HTML part
    assert f"Notes from the clinic:\nChart review 20%\n{SCRIPT}\n" in rendered.text
    assert "Chart review 20%\n&lt;script&gt;" in rendered.html
    assert "<script>" not in rendered.html
    assert "Malpractice:     you bring coverage of at least $1M/$3M" in rendered.text
