"""The notices (introductions, closed offers, updates, alerts, expiry warnings, reply answers): each
kind's templates, escaping, one-line subjects, and text and HTML parts that say the same thing."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from directormatch.mail import messages
from directormatch.mail.introduction import IntroducedDirector, Introduction
from directormatch.mail.labels import Audience, malpractice_label, us_phone
from directormatch.mail.no_match import no_match_story
from directormatch.mail.render import TEMPLATES, Email, render
from directormatch.offers.lifecycle import Outcome
from directormatch.records import Alert, Match, Offer, Profile, Request
from tests.unit.test_emails import SCRIPT, director, offer_item, request_item

OPS = "ops@directormatch.example"
REFERENCE = "DM-E2T1-F616"  # the sample request's code (events/notify/new_request.json)
BREAK = "\r\nBcc: attacker@example.com"


def marked_request() -> Request:
    """A stored request whose free-text fields carry markup (and a line break in the clinic name)."""
    item = request_item()
    return Request.from_item(
        {
            **item,
            "wave": 2,
            "clinic": {
                **item["clinic"],
                "name": f"{SCRIPT} Spa{BREAK}",
                "website": "https://spa.example/?a=1&b=2",
            },
            "contact": {**item["contact"], "name": SCRIPT},
        }
    )


def marked_director() -> Profile:
    return Profile.from_item(director(director_id="D000084", first_name=SCRIPT, last_name=f"{SCRIPT} & Sons"))


def stored_alert(**fields: Any) -> Alert:
    """An ALERT item as stored: its keys and when it was raised, then `fields` (kind and request)."""
    keys = {
        "pk": fields["request_id"],
        "sk": f"ALERT#{fields['alert']}",
        "created_at": "2027-01-05T14:30:00+00:00",
    }
    return Alert.from_item(keys | fields)


def team_quote(request: dict[str, Any], team: bool = True) -> Email:
    """The quote of a two-member team, one member without a fee schedule (or, not `team`, of two
    single physicians quoted the same)."""
    match = {
        "pk": request["request_id"],
        "sk": "MATCH",
        "created_at": "2027-01-05T14:30:00+00:00",
        "items_read": 12,
        "candidates": 5,
        "eligible": 5,
        "team": team,
        "shortlist": [{"director_id": "D1"}, {"director_id": "D2"}],
        "quote": {"eligible": 5, "low": 4550, "high": 4550, "median": 2050, "budget_monthly": None},
    }
    members = [(["TX", "OK"], 2550), (["NM"], None)] if team else []
    return messages.quote_email(
        Request.from_item(request), Match.from_item(match), "https://status.example/R1", members
    )


NOTICES: dict[str, Callable[[], Email]] = {
    "introduction": lambda: messages.introduction_email(
        replace(
            marked_request(),
            notes=f"{SCRIPT}\nEHR is Aesthetic Record",
            matched_at="2027-01-05T14:30:00+00:00",
        ),
        Introduction(
            [
                IntroducedDirector(marked_director(), ["TX"], 1600, {"TX": f"{SCRIPT}1"}),
                IntroducedDirector(
                    Profile.from_item(director(director_id="D2", first_name="Bo", last_name="Li")),
                    ["OK"],
                    None,
                    {},
                ),
            ]
        ),
    ),
    "filled": lambda: messages.filled_email(Offer.from_item(offer_item()), marked_director()),
    "declined": lambda: messages.declined_email(Offer.from_item(offer_item()), marked_director()),
    "clinic_update": lambda: messages.clinic_update_email(marked_request()),
    "ops_sla_20h": lambda: messages.ops_alert_email(
        stored_alert(alert="SLA_20H", request_id="R1", wave=2), OPS, REFERENCE
    ),
    "ops_stuck_new": lambda: messages.ops_alert_email(
        stored_alert(alert="STUCK_NEW", request_id="R1", request_created_at="2027-01-01T09:00:00+00:00"),
        OPS,
        REFERENCE,
    ),
    "no_match": lambda: messages.clinic_no_match_email(
        marked_request(),
        no_match_story(
            marked_request(),
            stored_alert(alert="NO_MATCH", request_id="R1", candidates=2, excluded={"NO_CAPACITY": 2}),
            [],
        ),
    ),
    "expiry_warning": lambda: messages.expiry_email(marked_director(), "TX license", "2027-01-31"),
    "ops_expiry_warning": lambda: messages.ops_expiry_email(
        OPS, "D000084", "TX DEA registration", "2027-01-31"
    ),
    "reply_answer": lambda: messages.reply_answer_email(
        Offer.from_item(offer_item()), marked_director(), "abc123", "FILLED"
    ),
}
# The reference each notice's footer quotes: the request's code; a director's id for their licenses.
FOOTERS = {"expiry_warning": "D000084", "ops_expiry_warning": "D000084"}


def words(part: str) -> str:
    """A part's words: tags dropped, entities decoded, white space folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", part)).split())


@pytest.mark.parametrize("kind", NOTICES)
def test_notice_html_escapes_item_values_and_text_keeps_them(kind: str) -> None:
    # Given the notice of this kind about items whose free text carries markup
    # When it is rendered
    rendered = NOTICES[kind]()

    # Then the HTML part never carries the markup as a tag, and the subject stays on one line
    assert "<script>" not in rendered.html
    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject
    assert rendered.kind == kind
    assert rendered.message_id.startswith(f"<{kind}.")


@pytest.mark.parametrize("kind", NOTICES)
def test_notice_text_and_html_say_the_same_thing(kind: str) -> None:
    # Given the notice of this kind
    # When it is rendered
    rendered = NOTICES[kind]()

    # Then every line the text part says (each detail's label and value apart, a list item without its
    # dash) is said in the HTML part
    said = words(rendered.html)
    body, _, footer = rendered.text.rpartition("DirectorMatch - reference ")
    for line in (line.removeprefix("- ") for line in body.splitlines()):
        # A link: its address is the HTML part's link, its words are said around it
        for url in re.findall(r"https?://\S+", line):
            if f'href="{html.escape(url)}"' in rendered.html:
                line = line.replace(url, "").rstrip().rstrip(":")
        detail = re.fullmatch(r"  (.+?):\s+(.*)", line)
        for piece in detail.groups() if detail else (line,):
            assert " ".join(piece.split()) in said, piece
    assert footer == FOOTERS.get(kind, REFERENCE)


def test_team_quote_says_who_covers_which_state_and_when_the_introduction_goes() -> None:
    # Given a team of two: one physician for TX and OK at $2,550, one for NM without a fee schedule
    # When the clinic's quote is rendered
    rendered = team_quote(request_item())

    # Then each member's states and fee are listed under the total, and the introduction waits for all
    assert "Your quote: $4,550 a month\n  That is the team's total" in rendered.text
    assert "  One physician for TX, OK: $2,550 a month\n" in rendered.text
    assert "  One physician for NM: to agree between you\n" in rendered.text
    said = "introduced to you together by one email once every state is covered"
    assert said in rendered.text
    assert said in words(rendered.html)
    assert "The first physician to accept" not in rendered.text


@pytest.mark.parametrize(("team", "typical_fee_said"), [(True, False), (False, True)])
def test_quote_gives_the_typical_single_physician_fee_only_when_not_a_team(
    team: bool, typical_fee_said: bool
) -> None:
    # Given a quote whose median ($2,050) is over single physicians, and a team total of $4,550
    # When the clinic's quote is rendered for a team, then for single physicians
    rendered = team_quote(request_item(), team=team)

    # Then a team's total stands alone: a single physician's typical fee beside it would mislead
    said = "Across all 5 physicians who qualify, the typical fee is $2,050 a month."
    assert (said in rendered.text, said in words(rendered.html)) == (typical_fee_said, typical_fee_said)


@pytest.mark.parametrize(
    ("alert", "subject", "said"),
    [
        ({"alert": "SLA_20H", "request_id": "R1"}, "[ops] SLA_20H for request R1", "submitted (wave ?)."),
        (
            {"alert": "STUCK_NEW", "request_id": "R1", "request_created_at": "2027-01-01T09:00:00+00:00"},
            "[ops] STUCK_NEW for request R1",
            "Request R1 was submitted at Fri, Jan 1, 9:00 AM UTC and has not been matched",
        ),
        (
            {"alert": "STUCK_NEW", "request_id": "R1"},
            "[ops] STUCK_NEW for request R1",
            "Request R1 was submitted at ? and has not been matched",
        ),
        (
            {"alert": "LATE_FAX", "request_id": "R1"},
            "[ops] LATE_FAX for request R1",
            "Alert LATE_FAX on request R1.",
        ),
    ],
)
def test_ops_alert_says_what_the_alert_holds_and_marks_what_it_lacks(
    alert: dict[str, Any], subject: str, said: str
) -> None:
    # Given an alert item without its optional fields, or of a kind with no words of its own, on a
    # request stored before reference codes (its id is its reference)
    # When the ops email is rendered
    rendered = messages.ops_alert_email(stored_alert(**alert), OPS, alert["request_id"])

    # Then it goes to ops under the alert's kind, and both parts say what is known
    assert (rendered.to, rendered.subject, rendered.kind) == (
        (OPS,),
        subject,
        f"ops_{alert['alert'].lower()}",
    )
    assert said in rendered.text
    assert said in words(rendered.html)


def test_ops_alert_names_the_code_the_clinic_quotes_and_the_id_ops_query() -> None:
    # Given an alert on a request with a reference code
    alert = stored_alert(alert="SLA_20H", request_id="R1", wave=2)

    # When the ops email is rendered
    rendered = messages.ops_alert_email(alert, OPS, REFERENCE)

    # Then the subject gives the code, and both parts the code and the table's key
    assert rendered.subject == f"[ops] SLA_20H for request {REFERENCE}"
    assert f"Request {REFERENCE} (id R1) has no accepted director" in rendered.text
    assert f"Request {REFERENCE} (id R1) has no accepted director" in words(rendered.html)


def test_templates_read_typed_records_by_attribute() -> None:
    # Given an offer and a director as objects with attributes (typed records), not dicts
    offer = SimpleNamespace(summary=SimpleNamespace(states=["TX", "OK"]))
    profile = SimpleNamespace(last_name="Bennett")

    # When the filled notice is rendered from them
    rendered = render(
        "filled",
        to="d@example.com",
        idempotency_ref="R1.D1",
        request_id="R1",
        reference=REFERENCE,
        offer=offer,
        director=profile,
    )

    # Then the templates found every value by attribute
    assert "Hello Dr. Bennett," in rendered.text
    assert "position we offered you (TX, OK)" in rendered.text


@pytest.mark.parametrize(
    ("preference", "clinic", "director_words"),
    [
        (
            "clinic_policy",
            "Your clinic's policy names the director",
            "the clinic provides a named-insured policy",
        ),
        (
            "director_policy",
            "The director brings coverage of at least $1M/$3M",
            "you bring coverage of at least $1M/$3M",
        ),
        ("no_preference", "No preference", "to be agreed"),
        (None, "No preference", "to be agreed"),
        ("unknown_choice", "No preference", "to be agreed"),
    ],
)
def test_malpractice_label_has_each_audiences_words(
    preference: str | None, clinic: str, director_words: str
) -> None:
    # Given a stored preference (none for requests stored before the field existed)
    # When it is put in each audience's words
    # Then clinics read their own choice, directors what it asks of them
    assert malpractice_label(preference, Audience.CLINIC) == clinic
    assert malpractice_label(preference, Audience.DIRECTOR) == director_words


def test_every_email_template_has_a_subject_a_text_and_an_html_part() -> None:
    # Given the email templates (a subject file names each one; pages and partials have none)
    names = {path.stem for path in TEMPLATES.glob("*.subject")}

    # Then each has its three parts, and every notice kind built above is among them
    assert names >= {"receipt", "offer", "ops_no_match", "ops_alert"} | (
        set(NOTICES) - {"ops_sla_20h", "ops_stuck_new"}
    )
    for name in names:
        assert (TEMPLATES / f"{name}.txt").is_file(), name
        assert (TEMPLATES / f"{name}.html").is_file(), name


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        ("UNCLEAR", "Please reply again with ACCEPT or DECLINE as the first line of your message"),
        (Outcome.FILLED, "Another physician accepted this position first."),
        (
            Outcome.EXPIRED,
            "This offer had already expired (it was open until Wed, Nov 25, 3:20 PM CST), so nothing "
            "changed.",
        ),
        (Outcome.ALREADY_ACCEPTED, "You had already accepted this offer; nothing else is needed."),
        (Outcome.ALREADY_DECLINED, "You had already declined this offer; nothing changed."),
        (Outcome.NO_CAPACITY, "Your profile shows no room for another clinic, so we could not accept."),
        (Outcome.NOT_FOUND, "We could not act on your reply."),
    ],
)
def test_reply_answer_says_why_the_reply_changed_nothing(outcome: str, said: str) -> None:
    # Given a director licensed in Texas only, whose reply to a Texas offer changed nothing, for this reason
    licensed = Profile.from_item(director(director_id="D000084", licensed_states=["TX"]))

    # When we answer it
    rendered = messages.reply_answer_email(Offer.from_item(offer_item()), licensed, "abc123", outcome)

    # Then both parts say that reason's sentence, and no other reason's
    assert said in words(rendered.text)
    assert said in words(rendered.html)
    others = {"Another physician", "already expired", "already accepted", "already declined", "no room"}
    assert sum(other in rendered.text for other in others) <= 1


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+15125550199", "(512) 555-0199"),
        ("+1512555019", "+1512555019"),
        ("+445125550199", "+445125550199"),
        ("", ""),
        (None, ""),
    ],
)
def test_us_phone_formats_a_stored_us_number_and_leaves_anything_else(stored: str | None, shown: str) -> None:
    # Given a phone as stored (E.164), or something intake never stores
    # Then a US number reads as people write it; anything else is shown as it is
    assert us_phone(stored) == shown
