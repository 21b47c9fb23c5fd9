"""What a clinic is told when nobody could take its request: the sentences from the matcher's counts."""

from __future__ import annotations

from typing import Any

import pytest

from directormatch.mail import messages
from directormatch.mail.labels import us_phone
from directormatch.mail.no_match import exclusion_sentences, no_match_story, offers_tried
from directormatch.records import Alert, Offer, Request
from directormatch.timezones import OPS_ZONE, local_time
from tests.unit.test_emails import offer_item, request_item
from tests.unit.test_emails_notices import SCRIPT, stored_alert, words

OPS = "ops@directormatch.example"


def request(**overrides: Any) -> Request:
    """The sample REQUEST item, asking for ketamine in WY with 2 NPs and a PA, with `overrides`."""
    item = {
        **request_item(),
        "states": ["WY"],
        "modalities": ["ketamine"],
        "supervisees": {"np": 2, "pa": 1},
    }
    return Request.from_item(item | overrides)


def alert(**overrides: Any) -> Alert:
    """Its NO_MATCH alert, raised at 14:30 UTC, with the matcher's counts in `overrides`."""
    return stored_alert(
        **{"request_id": "R1", "alert": "NO_MATCH", "created_at": "2027-01-05T14:30:00.000+00:00"} | overrides
    )


def offer(wave: int, status: str, director_id: str = "D1", **overrides: Any) -> Offer:
    """The sample OFFER item, of `wave`, ended `status`, to `director_id`, covering TX."""
    fields = {"wave": wave, "offer_status": status, "director_id": director_id, "covers_states": ["TX"]}
    return Offer.from_item(offer_item() | fields | overrides)


@pytest.mark.parametrize(
    ("asked", "counts", "said"),
    [
        (
            request(),
            alert(candidates=4, excluded={"MODALITY_NOT_OFFERED": 4}),
            ["No physician licensed in WY offers ketamine."],
        ),
        (
            request(states=["TX", "NM"], modalities=["ketamine", "iv_therapy"]),
            alert(candidates=5, excluded={"NO_CAPACITY": 1, "MODALITY_NOT_OFFERED": 4}),
            [
                "4 physicians licensed in TX or NM do not offer ketamine and IV therapy.",
                "1 physician licensed in TX or NM has no room for another clinic.",
            ],
        ),
        (
            request(),
            alert(candidates=2, excluded={"SUPERVISION_LIMIT": 2}),
            ["No physician licensed in WY has room under the state's limits to supervise 2 NPs and 1 PA."],
        ),
        (
            request(states=["WY", "MT"]),
            alert(candidates=0),
            ["No physician in our network is licensed in WY or MT yet."],
        ),
        (
            request(states=["TX", "OK", "NM"]),
            alert(candidates=3, excluded={}, uncovered_states=["NM"]),
            ["Physicians fit in TX and OK, but none who fits is licensed in NM."],
        ),
        (
            request(),
            alert(candidates=1, excluded={"NEW_CODE": 1}),
            ["1 physician licensed in WY could not be offered it."],
        ),
    ],
)
def test_exclusion_sentences_turn_reason_codes_into_plain_words(
    asked: dict[str, Any], counts: dict[str, Any], said: list[str]
) -> None:
    # Given a request and the counts of the matcher's NO_MATCH alert
    # When they are put into words
    # Then each reason is one plain sentence, the most frequent first
    assert exclusion_sentences(asked, counts) == said


def test_exclusion_sentences_after_offers_speak_of_the_other_physicians() -> None:
    # Given a later wave that found no one new: two more excluded for capacity, one for DEA
    counts = alert(candidates=3, excluded={"NO_CAPACITY": 2, "NO_DEA_REGISTRATION": 1})

    # When put into words for a request already offered to others
    said = exclusion_sentences(request(states=["TX"]), counts, others=True)

    # Then the sentences say they are the others
    assert said == [
        "2 other physicians licensed in TX have no room for another clinic.",
        "1 other physician licensed in TX lacks the DEA registration controlled substances require.",
    ]


def test_offers_tried_counts_rounds_and_how_each_offer_ended() -> None:
    # Given three waves: two declines, the rest expired
    offers = [offer(1, "DECLINED"), offer(1, "EXPIRED"), offer(2, "EXPIRED"), offer(3, "DECLINED")]

    # Then the clinic reads the rounds and the endings
    assert offers_tried(offers) == (
        "We offered your request to 4 physicians over 3 rounds: 2 declined and 2 did not answer in time."
    )


def test_no_match_story_gives_a_time_our_team_writes_by() -> None:
    # Given a request nobody fits, alerted at 14:30 UTC
    story = no_match_story(request(), alert(candidates=4, excluded={"MODALITY_NOT_OFFERED": 4}), [])

    # Then it says what was checked, why, and when our team writes
    assert story.tried == "We checked the 4 physicians in our network licensed in WY against your request."
    assert story.why == ("No physician licensed in WY offers ketamine.",)
    assert story.reply_by == "2027-01-05T18:30+00:00"


def test_clinic_no_match_email_says_the_story_in_both_parts_and_escapes_the_clinic() -> None:
    # Given a request whose clinic name carries markup, and its story
    item = Request.from_item(
        request_item(states=["WY"], modalities=["ketamine"], clinic={"name": f"{SCRIPT} Spa"})
    )
    story = no_match_story(item, alert(candidates=4, excluded={"MODALITY_NOT_OFFERED": 4}), [])

    # When the clinic's email is rendered
    rendered = messages.clinic_no_match_email(item, story)

    # Then it goes to the clinic, says why and when, and never carries the markup as a tag
    assert rendered.to == (item["contact"]["email"],)
    for part in (rendered.text, words(rendered.html)):
        assert "No physician licensed in WY offers ketamine." in part
        # (in the clinic's zone: Wyoming's, Mountain Time)
        assert "You will hear from us by Tue, Jan 5, 11:30 AM MST." in part
    assert "<script>" not in rendered.html


@pytest.mark.parametrize(("kind", "subject"), [("SLA_20H", "[ops] SLA_20H"), ("NO_MATCH", "[ops] No match")])
def test_ops_alert_carries_the_clinic_and_each_waves_offers(kind: str, subject: str) -> None:
    # Given an alert on a request with two waves of offers
    item = request_item()
    offers = [
        offer(1, "DECLINED", "D1", answered_at="2027-01-05T10:00:00+00:00"),
        offer(2, "EXPIRED", "D2", closed_at="2027-01-06T10:00:00+00:00"),
    ]

    # When the ops email is rendered
    rendered = messages.ops_alert_email(
        stored_alert(alert=kind, request_id="R1"), OPS, "DM-4F7K-92QX", Request.from_item(item), offers
    )
    assert rendered.subject.startswith(subject)
    assert rendered.kind == f"ops_{kind.lower()}"

    # Then it names the clinic and its contact, and lists each wave's offers with their ending
    for part in (rendered.text, words(rendered.html)):
        assert item["clinic"]["name"] in part
        assert item["contact"]["email"] in part
        assert us_phone(item["contact"]["phone"]) in part
        assert "Wave 1:" in part
        assert f"D1 (TX): declined {local_time('2027-01-05T10:00:00+00:00', OPS_ZONE)}" in part
        assert "Wave 2:" in part
        assert f"D2 (TX): expired {local_time('2027-01-06T10:00:00+00:00', OPS_ZONE)}" in part


def test_no_match_story_of_a_budget_that_excludes_everyone_gives_the_lowest_fee() -> None:
    # Given a $1,000 budget that left out all four directors who otherwise fit, the cheapest at $1,400
    counts = alert(candidates=4, excluded={"OVER_BUDGET": 4}, lowest_available=1_400)

    # When the story is told
    story = no_match_story(request(states=["TX"], budget_monthly=1_000), counts, [])

    # Then it says the budget left everyone out, the lowest fee above it, and what our team does
    assert story.lowest_available == 1_400
    assert story.why == (
        "No physician licensed in TX charges within your budget of $1,000 a month.",
        "The lowest fee for exactly what you asked is $1,400 a month, above your budget of $1,000 a month.",
    )
    assert "a higher budget" in story.next_step


def test_no_match_story_counts_those_over_budget_among_other_reasons() -> None:
    # Given two directors over budget and one without capacity
    counts = alert(candidates=3, excluded={"OVER_BUDGET": 2, "NO_CAPACITY": 1})

    # When the story is told (the alert names no lowest fee: not the budget alone kept them out)
    story = no_match_story(request(states=["TX"], budget_monthly=800), counts, [])

    # Then the budget is one plain reason among others, with no lowest fee promised
    assert story.why == (
        "2 physicians licensed in TX charge more than your budget of $800 a month.",
        "1 physician licensed in TX has no room for another clinic.",
    )
    assert story.lowest_available is None
    assert "search by hand" in story.next_step


def test_clinic_no_match_email_of_a_budget_says_what_the_lowest_fee_covers_in_plain_text() -> None:
    # Given the story of a request whose $1,000 budget left everyone out
    item = Request.from_item(
        request_item(budget_monthly=1_000, supervisees={"np": 3, "pa": 0}, controlled_substances=True)
    )
    counts = alert(candidates=2, excluded={"OVER_BUDGET": 2}, lowest_available=1_950)
    story = no_match_story(item, counts, [])

    # When the clinic's email is rendered
    rendered = messages.clinic_no_match_email(item, story)

    # Then the subject and both parts name the lowest fee, what it covers, and how to go ahead
    assert rendered.subject == "Your medical director request: the lowest fee is above your budget"
    for part in (rendered.text, words(rendered.html)):
        assert "The lowest fee for exactly what you asked is $1,950 a month" in part
        assert "What $1,950 a month covers, each month" in part
        assert "If you can go ahead at $1,950 a month, or name another budget, reply to this email" in part
    assert "Supervision:     3 NPs, 0 PAs" in rendered.text
    assert "Controlled substances: yes, with a DEA registration in each state" in rendered.text
    assert "&amp;" not in rendered.text
    assert "<td" not in rendered.text
