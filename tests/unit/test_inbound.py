"""Replies to offer emails: which offer, authentic or not, and what the first line says (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from directormatch.offers.inbound_mail import (
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
REPLY_TO = f"offer-{REQUEST_ID}-{DIRECTOR_ID}@{DOMAIN}"


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("ACCEPT", Intent.ACCEPT),
        ("accept", Intent.ACCEPT),
        ("Yes!", Intent.ACCEPT),
        ("  \n\nyes please, happy to help", Intent.ACCEPT),
        ("DECLINE", Intent.DECLINE),
        ("No, thank you", Intent.DECLINE),
        ("decline\n\n> ACCEPT\n> the offer", Intent.DECLINE),
        ("Decline.\nOn Tue, DirectorMatch wrote:\n> Accept:  https://x/offers/t", Intent.DECLINE),
        ("maybe later?", Intent.UNCLEAR),
        ("I accept", Intent.UNCLEAR),
        ("", Intent.UNCLEAR),
        ("> ACCEPT", Intent.UNCLEAR),
        ("On Tue, 24 Nov 2026, DirectorMatch wrote:\n> ACCEPT", Intent.UNCLEAR),
        ("Nope", Intent.UNCLEAR),
    ],
)
def test_first_line_intent_reads_only_the_first_line_written(body: str, intent: Intent) -> None:
    # Given a reply body / When its intent is read / Then only the first unquoted line counts
    assert first_line_intent(body) == intent


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
        "Decline - sorry\r\n\r\nOn Tue, DirectorMatch wrote:\r\n> ACCEPT: https://api/offers/t\r\n"
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
