"""The director's own fee in the offer email and on the offer pages: itemised from the lines the
matcher stored, their sum the total, escaped in HTML, plain in the text part; accepting names it."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from directormatch.mail.messages import offer_email
from directormatch.matching.fees import Scope, monthly_fee
from directormatch.offers.lifecycle import Answer, Outcome
from directormatch.offers.pages import confirm_page, result_page
from directormatch.records import Offer, Profile
from directormatch.timezones import CENTRAL
from tests.unit.test_emails import SCRIPT, director, offer_item
from tests.unit.test_fees import FULL_SCHEDULE
from tests.unit.test_pages import team_offer

SCOPE = Scope(states=2, np=3, pa=1, locations=2, controlled=True)
# A team member's share: their one state, the clinic's two NPs.
MEMBER_SCOPE = Scope(states=1, np=2, pa=0, locations=1, controlled=False)


def priced(offer: dict[str, Any], scope: Scope = SCOPE) -> dict[str, Any]:
    """`offer` with the fee the matcher stores for FULL_SCHEDULE over `scope`."""
    fee = monthly_fee(FULL_SCHEDULE, scope)
    return {**offer, "fee_monthly": fee.total, "fee_lines": fee.stored()}


def dollars(text: str) -> int:
    return int(text.replace("$", "").replace(",", ""))


def html_fee_rows(html: str) -> list[tuple[str, int]]:
    """The (label, amount) rows of the fee table, its total last."""
    table = re.search(r'<table class="fee".*?</table>', html, re.S)
    assert table is not None
    rows = re.findall(r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td></tr>", table.group(0))
    return [
        (unescape(re.sub(r"</?strong>", "", label)), dollars(re.sub(r"</?strong>", "", amount)))
        for label, amount in rows
    ]


def text_fee_rows(text: str) -> list[tuple[str, int]]:
    block = text.split("Your fee for this clinic:\n", 1)[1].split("\n\n", 1)[0]
    return [
        (label.strip(), dollars(amount))
        for label, amount in (line.rsplit(" ", 1) for line in block.splitlines())
    ]


def test_offer_email_itemises_the_directors_fee_and_its_lines_sum_to_the_total() -> None:
    # Given an offer priced from a schedule with every component in play
    offer = priced(offer_item())

    # When the offer email is rendered
    rendered = offer_email(
        Offer.from_item(offer), Profile.from_item(director()), "https://api.example", "replies.example"
    )

    # Then both parts list each line and a total that is their sum, the stored fee
    for rows in (html_fee_rows(rendered.html), text_fee_rows(rendered.text)):
        *lines, (total_label, total) = rows
        assert total_label == "Total a month"
        assert [label for label, _ in lines] == [line["label"] for line in offer["fee_lines"]]
        assert sum(amount for _, amount in lines) == total == offer["fee_monthly"] == 3_350
    assert ("3 supervised NPs at $250", 750) in text_fee_rows(rendered.text)
    # And accepting, by button, link or reply, says it accepts that fee
    assert ">Accept at $3,350 a month</a>" in rendered.html
    assert "Accept at $3,350 a month: https://api.example/offers/" in rendered.text
    assert "ACCEPT (to accept at $3,350 a month)" in rendered.text


def test_offer_email_fee_lines_are_escaped_in_html_and_plain_in_text() -> None:
    # Given a stored fee line carrying markup and an ampersand (stored items are not trusted)
    offer = priced(offer_item())
    offer["fee_lines"] = [{"label": f"Base & {SCRIPT}", "amount": 3_350}]

    # When the offer email is rendered
    rendered = offer_email(Offer.from_item(offer), Profile.from_item(director()), "https://api.example")

    # Then the HTML shows it as text, the text part as typed, with no markup or entities
    assert "<script>" not in rendered.html
    assert "Base &amp; &lt;script&gt;" in rendered.html
    assert f"Base & {SCRIPT}" in rendered.text
    assert "&amp;" not in rendered.text
    assert "<td" not in rendered.text


def test_offer_of_a_director_without_a_schedule_says_the_fee_is_agreed_with_the_clinic() -> None:
    # Given an offer to a director with no fee schedule on file
    offer = offer_item()
    assert "fee_monthly" not in offer

    # When the email and the accept page are rendered
    rendered = offer_email(
        Offer.from_item(offer), Profile.from_item(director()), "https://api.example", "replies.example"
    )
    page = confirm_page("accept", offer, "/offers/t", blocked=None, zone=CENTRAL)

    # Then each says so in a sentence, and accepting names no amount
    for part in (rendered.text, rendered.html, page.html):
        assert "your fee is to be agreed with the clinic" in part
        assert "a month" not in part
    assert ">Accept</a>" in rendered.html
    assert ">Yes, accept</button>" in page.html


def test_team_member_sees_the_fee_for_the_states_they_cover() -> None:
    # Given the NM member of a TX/OK/NM team, priced for NM alone
    offer = priced(team_offer(), MEMBER_SCOPE)

    # When the email and the accept page are rendered
    rendered = offer_email(Offer.from_item(offer), Profile.from_item(director()), "https://api.example")
    page = confirm_page("accept", offer, "/offers/t", blocked=None, zone=CENTRAL)

    # Then the fee is headed by the states they would cover, and its lines are those states' fee
    assert "Your fee for covering NM:" in rendered.text
    for html in (rendered.html, page.html):
        assert "<strong>Your fee for covering NM</strong>" in html
        assert html_fee_rows(html)[-1] == ("Total a month", 1_650)
    assert ">Yes, accept at $1,650 a month</button>" in page.html


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_confirm_page_shows_the_same_fee_table_as_the_email(action: str) -> None:
    # Given a priced offer
    offer = priced(offer_item())

    # When its page and its email are rendered
    page = confirm_page(action, offer, "/offers/t", blocked=None, zone=CENTRAL)
    rendered = offer_email(Offer.from_item(offer), Profile.from_item(director()), "https://api.example")

    # Then the page itemises the same lines; only the accept button names the fee
    assert html_fee_rows(page.html) == html_fee_rows(rendered.html)
    assert ("Yes, accept at $3,350 a month" in page.html) == (action == "accept")


def test_accepted_page_says_the_fee_accepted() -> None:
    # Given a priced offer accepted by a lone director, and one accepted by a team member
    lone = Answer(Outcome.ACCEPTED, Offer.from_item(priced(offer_item())))
    member = Answer(Outcome.ACCEPTED, Offer.from_item(priced(team_offer(), MEMBER_SCOPE)))

    # When their result pages are rendered
    lone_page, member_page = result_page(lone).html, result_page(member).html

    # Then each names what was accepted
    assert "Thank you: you accepted at $3,350 a month. We are introducing you" in lone_page
    assert "you accepted to cover NM at $1,650 a month." in member_page
    assert "once every state is covered" in member_page


def test_accepted_page_of_a_director_without_a_schedule_names_no_amount() -> None:
    # Given an accept of an unpriced offer
    answer = Answer(Outcome.ACCEPTED, Offer.from_item(offer_item()))

    # Then the page says the fee is agreed with the clinic
    page = result_page(answer).html
    assert "your fee is to be agreed with the clinic" in page
    assert "$" not in page.split("<main>", 1)[1]
