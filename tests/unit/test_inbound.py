"""Replies to offer emails: which offer, authentic or not, and what the first line says (pure)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from directormatch.offers.inbound_mail import (
    PHRASES,
    Intent,
    failed_verdicts,
    first_line_intent,
    offer_of,
    parse_notification,
)
from local.inbound import ses_notification

DOMAIN = "reply.directormatch.example"
REQUEST_ID = "01M89WS4RBPFSY6QSHHXGR2SXG"
DIRECTOR_ID = "D41a2545684d655b1ac73"
README = Path(__file__).resolve().parents[2] / "README.md"
REPLY_TO = f"offer-{REQUEST_ID}-{DIRECTOR_ID}@{DOMAIN}"


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("ACCEPT", Intent.ACCEPT),
        ("accept", Intent.ACCEPT),
        ("Accept.", Intent.ACCEPT),
        ("Yes!", Intent.ACCEPT),
        ("  \n\n  yes  ", Intent.ACCEPT),
        ("I accept", Intent.ACCEPT),
        ("Yes, I accept", Intent.ACCEPT),
        ("YES - I ACCEPT!", Intent.ACCEPT),
        ("Yes please", Intent.ACCEPT),
        ("Accept\n\nThanks, Avery", Intent.ACCEPT),
        ("DECLINE", Intent.DECLINE),
        ("No", Intent.DECLINE),
        ("No, thank you", Intent.DECLINE),
        ("no thanks.", Intent.DECLINE),
        ("I decline", Intent.DECLINE),
        ("No, I decline", Intent.DECLINE),
        ("decline\n\n> ACCEPT\n> the offer", Intent.DECLINE),
        ("Decline.\nOn Tue, DirectorMatch wrote:\n> Accept:  https://x/offers/t", Intent.DECLINE),
        # Only the whole line decides: a listed word leading a longer line is not enough
        ("No problem, I accept", Intent.UNCLEAR),
        ("No, I accept", Intent.UNCLEAR),
        ("Yes, count me in", Intent.UNCLEAR),
        ("yes please, happy to help", Intent.UNCLEAR),
        ("Decline - sorry", Intent.UNCLEAR),
        ("I don't accept", Intent.UNCLEAR),
        ("Accept or decline?", Intent.UNCLEAR),
        ("Yes 2", Intent.UNCLEAR),
        ("maybe later?", Intent.UNCLEAR),
        ("Nope", Intent.UNCLEAR),
        ("", Intent.UNCLEAR),
        ("> ACCEPT", Intent.UNCLEAR),
        ("On Tue, 24 Nov 2026, DirectorMatch wrote:\n> ACCEPT", Intent.UNCLEAR),
    ],
)
def test_first_line_intent_decides_only_on_a_listed_word_or_phrase(body: str, intent: Intent) -> None:
    # Given a reply body / When its intent is read
    # Then only a first unquoted line that is exactly a listed word or phrase decides
    assert first_line_intent(body) == intent


def test_reply_words_in_readme_are_the_ones_read() -> None:
    # Given the README's table of reply words
    section = README.read_text().split("### Reply words", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (ACCEPT|DECLINE|PAUSE) \| (.+) \|$", section, re.MULTILINE)

    # When its phrases are read / Then they are exactly the ones the parser takes, each for its intent
    listed = {
        phrase.strip("`").lower(): Intent(intent) for intent, cell in rows for phrase in cell.split(", ")
    }
    assert listed == PHRASES


@pytest.mark.parametrize(
    ("recipients", "expected"),
    [
        ([REPLY_TO], (REQUEST_ID, DIRECTOR_ID)),
        ([REPLY_TO.upper().replace(DOMAIN.upper(), DOMAIN)], (REQUEST_ID, DIRECTOR_ID)),
        ([f"Someone <{REPLY_TO}>"], (REQUEST_ID, DIRECTOR_ID)),
        ([f"offer-{REQUEST_ID}-{DIRECTOR_ID}@other.example"], None),
        ([f"offer-{REQUEST_ID}@{DOMAIN}"], None),
        (["ops@directormatch.example", REPLY_TO], (REQUEST_ID, DIRECTOR_ID)),
        ([], None),
    ],
)
def test_offer_of_finds_the_offer_only_on_our_domain(
    recipients: list[str], expected: tuple[str, str] | None
) -> None:
    # Given the recipients of an inbound message / When read / Then ids come back in their canonical case
    assert offer_of(recipients, DOMAIN) == expected


@pytest.mark.parametrize(
    ("verdicts", "failed"),
    [
        ({}, ()),
        ({"dmarcVerdict": "FAIL"}, ("dmarcVerdict",)),
        ({"dmarcVerdict": "GRAY"}, ("dmarcVerdict",)),
        ({"spfVerdict": "FAIL", "dkimVerdict": "FAIL"}, ("spfVerdict", "dkimVerdict")),
        ({"spamVerdict": "FAIL"}, ("spamVerdict",)),
        ({"virusVerdict": "FAIL"}, ("virusVerdict",)),
    ],
)
def test_failed_verdicts_require_spf_dkim_dmarc_pass(
    verdicts: dict[str, str], failed: tuple[str, ...]
) -> None:
    # Given SES receipt verdicts / When checked / Then anything but PASS on SPF, DKIM, DMARC fails
    receipt: dict[str, Any] = ses_notification("", [REPLY_TO], verdicts)["receipt"]
    assert failed_verdicts(receipt) == failed


def test_parse_notification_reads_sender_offer_and_intent() -> None:
    # Given an SES notification of a reply whose first line declines, quoting the offer's accept link
    content = (
        "From: Dr Avery <Avery@Roster.example>\r\nTo: " + REPLY_TO + "\r\nSubject: Re: offer\r\n"
        "Message-ID: <x@y>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Decline\r\n\r\nOn Tue, DirectorMatch wrote:\r\n> ACCEPT: https://api/offers/t\r\n"
    )

    # When it is parsed
    reply = parse_notification(ses_notification(content, [REPLY_TO]), DOMAIN)

    # Then it names the offer, the sender (lower-cased) and a decline
    assert reply is not None
    assert (reply.request_id, reply.director_id) == (REQUEST_ID, DIRECTOR_ID)
    assert reply.sender == "avery@roster.example"
    assert reply.intent == Intent.DECLINE
    assert reply.authentic


def test_parse_notification_other_mail_is_not_a_reply() -> None:
    # Given mail to another address on the domain, and a non-receipt notification
    other = ses_notification("From: a@b.example\r\n\r\nhi", [f"sales@{DOMAIN}"])

    # When parsed / Then neither is a reply to an offer
    assert parse_notification(other, DOMAIN) is None
    assert parse_notification({"notificationType": "Bounce"}, DOMAIN) is None
