"""The forged-sender corpus (tests/forged_replies.py) on the pure parser: each forgery is refused by the
check it aims at, received as the local stack receives POST /_inbound; the genuine reply passes."""

from __future__ import annotations

import base64
import copy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directormatch.offers.inbound_mail import Intent, Refusal, Reply, parse_notification
from directormatch.offers.reply_to import reply_address
from local.inbound import received
from tests.forged_replies import FORGERIES, GENUINE, Forgery, reply_message

DOMAIN = "reply.directormatch.example"
DIRECTOR = "theo.patel.00420@roster.directormatch.example"
REPLY_TO = reply_address("01M89WS4RBPFSY6QSHHXGR2SXG", "D41a2545684d655b1ac73", DOMAIN)


def notification(forgery: Forgery) -> dict[str, object]:
    query = {name: [value] for name, value in forgery.query(DIRECTOR, REPLY_TO).items()}
    return received(forgery.message(DIRECTOR, REPLY_TO), query)


def parsed(payload: dict[str, object]) -> Reply:
    reply = parse_notification(payload, DOMAIN)
    assert reply is not None
    return reply


@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda forgery: forgery.name)
def test_forged_reply_is_refused_by_the_check_it_aims_at(forgery: Forgery) -> None:
    # Given a forged reply, received as SES would / When parsed
    reply = parsed(notification(forgery))

    # Then the refusal (or failed check) is the one the forgery meets; a refused From names nobody
    if forgery.outcome == "REFUSED_SENDER":
        assert (reply.refusal, reply.sender, reply.failed_checks) == (Refusal(forgery.reason), "", ())
    elif forgery.outcome == "NOT_AUTHENTIC":
        assert forgery.reason in reply.failed_checks
        assert not reply.authentic
    else:
        assert (reply.refusal, reply.authentic) == (None, True)
        assert reply.sender not in ("", DIRECTOR)


def test_genuine_reply_names_the_director_and_passes_every_check() -> None:
    # Given the director's own reply, built like the forgeries / When parsed
    reply = parsed(notification(GENUINE))

    # Then it is authentic, unrefused, from the director, and accepts
    assert (reply.sender, reply.refusal, reply.failed_checks, reply.intent) == (
        DIRECTOR,
        None,
        (),
        Intent.ACCEPT,
    )


def test_genuine_reply_differently_cased_is_the_same_address() -> None:
    # Given the director's reply with the address in capitals, DMARC passing for the domain as written
    shouted = DIRECTOR.upper()
    payload = received(GENUINE.message(shouted, REPLY_TO), {"dmarc_domain": [shouted.partition("@")[2]]})

    # When parsed / Then the sender is the director's address
    assert (parsed(payload).sender, parsed(payload).authentic) == (DIRECTOR, True)


@pytest.mark.parametrize(
    "common_from",
    [
        None,
        [],
        [f"<{DIRECTOR}>", "attacker@evil.example"],
        ["attacker@evil.example"],
        [f"{DIRECTOR} <x@y.z>"],
    ],
)
def test_reply_ses_read_another_from_is_refused(common_from: list[str] | None) -> None:
    # Given the genuine reply, but SES's commonHeaders.from is missing or reads another mailbox
    payload = copy.deepcopy(notification(GENUINE))
    mail = payload["mail"]
    assert isinstance(mail, dict)
    if common_from is None:
        del mail["commonHeaders"]["from"]
    else:
        mail["commonHeaders"]["from"] = common_from

    # When parsed / Then the sender is refused: SES and this parser must read the same one mailbox
    assert parsed(payload).refusal == Refusal.SES_FROM_MISMATCH


def test_reply_base64_content_is_read_like_utf8() -> None:
    # Given the genuine reply from a receipt rule whose SNS action encodes content in BASE64
    payload = copy.deepcopy(notification(GENUINE))
    payload["content"] = base64.b64encode(str(payload["content"]).encode()).decode()
    receipt = payload["receipt"]
    assert isinstance(receipt, dict)
    receipt["action"]["encoding"] = "BASE64"

    # When parsed / Then it reads the same, and content that is not base64 is no reply at all
    assert parsed(payload).sender == DIRECTOR
    payload["content"] = "not base64!"
    assert parse_notification(payload, DOMAIN) is None


# What From headers are made of, hostile pieces included (a bare CR, a NUL, encoded words, look-alikes).
PIECES = [*'@<>(),;:"\\ \t_[].', "\r\n ", "\r", "\x00", "=?utf-8?q?", "=?utf-8?b?", "?=", "=0D=0A", "=40"]
PIECES += ["\u0430", "\uff20", DIRECTOR, "evil.example"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    sender=st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=12).map("".join),
    charset=st.sampled_from(["utf-8", "x-unknown", "utf-8\x00", "utf-16", ""]),
    encoding=st.sampled_from(["7bit", "base64", "quoted-printable", "x-token"]),
)
def test_reply_any_from_and_body_encoding_parses_without_raising(
    sender: str, charset: str, encoding: str
) -> None:
    # Given a reply whose From value and body encoding are anything at all
    body_type = f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {encoding}"
    headers = f"From: {sender}\r\n{body_type}"
    payload = received(reply_message(headers, REPLY_TO, "ACCEPT=ZZ!"), {"rcpt": [REPLY_TO]})

    # When parsed / Then it never raises, and any sender it names is one plain lower-case address
    reply = parsed(payload)
    assert reply.sender == "" or re.fullmatch(r"[^@\s]+@[a-z0-9.-]+", reply.sender)
    assert (reply.sender == "") == (reply.refusal is not None)
