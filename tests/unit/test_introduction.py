"""The one introduction a match sends: addressed to the clinic and every accepting director together,
with each director's fee, credentials and states, the clinic's details, and times in the clinic's zone."""

from __future__ import annotations

import email
from email import policy
from typing import Any

import pytest

from directormatch.mail.introduction import IntroducedDirector, Introduction
from directormatch.mail.messages import introduction_email
from directormatch.mail.render import to_mime
from directormatch.records import Profile, Request
from tests.unit.test_emails import SENDER, director, request_item

MATCHED_AT = "2027-01-05T20:30:00+00:00"


def team_request(**overrides: Any) -> Request:
    """A TX/OK/NM request, matched."""
    return Request.from_item(request_item(states=["TX", "OK", "NM"], matched_at=MATCHED_AT, **overrides))


ANN = director(
    director_id="D1",
    first_name="Ann",
    last_name="Bennett",
    email="ann@roster.example",
    phone="+15125550123",
    specialties=["family_medicine", "emergency_medicine"],
    modality_years={"aesthetics": 6, "weight_loss": 1, "ketamine": 9},
)
BO = director(director_id="D2", first_name="Bo", last_name="Li", email="bo@roster.example")


def ann(**overrides: Any) -> IntroducedDirector:
    """Ann covers TX and OK for $2,100 a month, both license numbers on file."""
    fields = {
        "profile": ANN,
        "states": ["TX", "OK"],
        "fee_monthly": 2100,
        "license_numbers": {"TX": "Q1234", "OK": "OK-77"},
    }
    return introduced(fields | overrides)


def bo(**overrides: Any) -> IntroducedDirector:
    """Bo covers NM for $900 a month; no license number on file, no phone."""
    fields = {"profile": BO, "states": ["NM"], "fee_monthly": 900, "license_numbers": {}}
    return introduced(fields | overrides)


def introduced(fields: dict[str, Any]) -> IntroducedDirector:
    """The director as the sender reads them: their PROFILE item as a record."""
    return IntroducedDirector(**{**fields, "profile": Profile.from_item(fields["profile"])})


def test_introduction_is_addressed_to_the_clinic_and_every_director_in_to() -> None:
    # Given a request accepted by a team of two
    request = team_request()

    # When the introduction is rendered and made into the message SES sends
    rendered = introduction_email(request, Introduction([ann(), bo()]))
    message = email.message_from_bytes(to_mime(rendered, SENDER).as_bytes(), policy=policy.default)

    # Then the clinic's contact and both directors are in To (so any of them can reply to all), once
    addresses = [request["contact"]["email"], "ann@roster.example", "bo@roster.example"]
    assert rendered.to == tuple(addresses)
    assert [a.addr_spec for a in message["To"].addresses] == addresses
    assert message["Cc"] is None
    # And it is one email per request, named by the request
    assert rendered.message_id == f"<introduction.{request['request_id']}@directormatch>"
    assert rendered.subject == f"Introduction: {request['clinic']['name']} and Dr. Ann Bennett, Dr. Bo Li"


def test_a_director_whose_address_is_the_clinics_is_addressed_once() -> None:
    # Given a director who writes from the clinic's contact address
    request = team_request()
    same = ann(profile={**ANN, "email": request["contact"]["email"]})

    # When the introduction is rendered
    rendered = introduction_email(request, Introduction([same, bo()]))

    # Then that address is in To once
    assert rendered.to == (request["contact"]["email"], "bo@roster.example")


def test_team_introduction_says_who_covers_which_state_each_fee_and_the_total() -> None:
    # Given a TX/OK/NM request accepted by Ann (TX, OK, $2,100) and Bo (NM, $900)
    # When the introduction is rendered
    rendered = introduction_email(team_request(), Introduction([ann(), bo()]))

    # Then both parts give each member's states and fee, and the total of the two
    for part in (rendered.text, rendered.html):
        assert "accepted as a team to be the medical director" in part
        assert "$2,100 a month" in part
        assert "$900 a month" in part
        assert "Total for the clinic: $3,000 a month" in part
    assert "  Covers:                 TX, OK\n" in rendered.text
    assert "  Covers:                 NM\n" in rendered.text
    assert "  Monthly fee:            $2,100 a month\n" in rendered.text


def test_director_without_a_fee_schedule_agrees_the_fee_and_the_total_waits_for_it() -> None:
    # Given a team where Bo has no fee schedule (his offer carried no fee)
    # When the introduction is rendered
    rendered = introduction_email(team_request(), Introduction([ann(), bo(fee_monthly=None)]))

    # Then his fee, and so the total, is to agree between them
    assert "  Monthly fee:            to agree between you\n" in rendered.text
    assert "Total for the clinic: to agree between you." in rendered.text
    assert "$900" not in rendered.text


def test_single_director_introduction_gives_fee_credentials_licenses_and_phones() -> None:
    # Given one director covering the whole TX request
    request = Request.from_item(request_item(states=["TX"], matched_at=MATCHED_AT))
    alone = ann(states=["TX"], license_numbers={"TX": "Q1234"})

    # When the introduction is rendered
    rendered = introduction_email(request, Introduction([alone]))

    # Then it gives the agreed fee, specialty, years in the clinic's services, the license for the
    # state covered, and both phones as people write them
    for line in (
        "  Monthly fee:            $2,100 a month",
        "  Specialty:              Family medicine, Emergency medicine",
        "  Experience:             aesthetics 6 years, weight loss 1 year",
        "  Licenses:               TX Q1234",
        "  Phone:                  (512) 555-0123",
        "  Phone:                  (512) 555-0147",
    ):
        assert f"{line}\n" in rendered.text, line
    # And no team words: no states split, no total, and no years in a service the clinic did not ask for
    assert "Covers:" not in rendered.text
    assert "Total for the clinic" not in rendered.text
    assert "ketamine" not in rendered.text
    assert "+1512" not in rendered.text + rendered.html


def test_state_without_a_license_number_on_file_says_so() -> None:
    # Given a director whose OK license item holds no number
    rendered = introduction_email(team_request(), Introduction([ann(license_numbers={"TX": "Q1234"}), bo()]))

    # Then the line names the state and asks for the number rather than leaving it out
    assert "  Licenses:               TX Q1234, OK (number to confirm)\n" in rendered.text


def test_introduction_gives_the_clinics_details_notes_plain_in_text_and_escaped_in_html() -> None:
    # Given a request with notes that carry markup and a line break
    notes = "Monthly chart review (20%) <b>please</b>\nEHR is Aesthetic Record"
    request = team_request(
        notes=notes, supervisees={"np": 1, "pa": 2}, locations=2, controlled_substances=True
    )

    # When the introduction is rendered
    rendered = introduction_email(request, Introduction([ann(), bo()]))

    # Then the text part has the notes as written and the HTML part escapes them
    assert f"Notes from the clinic:\n{notes}\n" in rendered.text
    assert "&lt;b&gt;please&lt;/b&gt;" in rendered.html
    assert "<b>please</b>" not in rendered.html
    # And the director sees what the clinic needs
    for line in (
        "  Supervision:            1 NP, 2 PAs",
        "  Locations:              2",
        "  Controlled substances:  yes",
        "  States:                 TX, OK, NM",
        f"  Start by:               {request['start_by']}",
    ):
        assert f"{line}\n" in rendered.text, line
    # And each side is told what happens next
    assert "What happens next" in rendered.text
    assert "within one business day" in rendered.text


@pytest.mark.parametrize("notes", ["Monthly chart review (20%)\nEHR is Aesthetic Record", None])
def test_introduction_text_parts_are_one_blank_line_apart(notes: str | None) -> None:
    # Given a request with notes from the clinic, or none
    request = team_request(notes=notes, start_by="2027-01-05")

    # When the introduction is rendered
    text = introduction_email(request, Introduction([ann(), bo()])).text

    # Then the clinic's details, its notes and what happens next are each one blank line apart
    notes_part = f"\nNotes from the clinic:\n{notes}\n" if notes else ""
    assert f"  Start by:               2027-01-05\n{notes_part}\nWhat happens next\n" in text
    assert "\n\n\n" not in text


def test_introduction_times_are_the_clinics_and_named() -> None:
    # Given a TX clinic matched at 20:30 UTC, introduced to a director living in another zone
    # When the introduction is rendered
    rendered = introduction_email(team_request(), Introduction([ann(), bo()]))

    # Then the time is the clinic's (Central), with its zone named, in both parts
    for part in (rendered.text, rendered.html):
        assert "Introduced Tue, Jan 5, 2:30 PM CST (the clinic" in part
