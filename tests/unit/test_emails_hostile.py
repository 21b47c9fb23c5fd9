"""Every email the system sends, built from items whose every text is hostile: each builds, goes through
the mailer, parses back, and no header carries a line break, a separator or an injected field.

The kinds are read from the code: every builder in directormatch.mail.messages (each function that
returns an Email), and every alert kind. A new builder is covered as soon as it exists; one taking an
argument this file does not know fails here until its hostile value is added to ARGUMENTS.
"""

from __future__ import annotations

import email
import inspect
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from typing import Any, get_args, get_type_hints

import pytest

from directormatch.applications.contract import validate_application
from directormatch.aws.applications import Decision
from directormatch.mail import messages
from directormatch.mail.introduction import IntroducedDirector, Introduction
from directormatch.mail.no_match import no_match_story
from directormatch.mail.render import TEMPLATES, Email, Mailer, to_mime
from directormatch.manage.changes import Change, ChangeKind
from directormatch.records import Alert, Offer, Profile, Record, Request
from directormatch.vocabulary import AlertKind, ApplicationStatus
from tests.events import load_event
from tests.unit.test_emails import director, offer_item, request_item

SENDER = "matches@directormatch.example"
HOSTILE = {
    "line-separator": "Bluebonnet\u2028Bcc: attacker@evil.example",
    "paragraph-separator": "Blue\u2029bonnet\x85Spa",
    "crlf": "Blue\r\nBcc: attacker@evil.example\r\nX-Injected: yes",
    "nul-and-controls": "Blue\x00bon\x1bnet\x7f\x9b",
    "lone-surrogate": "Maria \ud800 D",
    "bidi-and-invisible": "\u202egnp.exe\u2066 Spa\u200b\ufeff\u00ad",
    "encoded-word": "=?utf-8?q?Blue=0D=0ABcc=3A_attacker=40evil.example?=",
    "non-ascii-address": "zo\u00eb@bl\u00fcebonnet.example",
    "long-non-ascii": "\u00c9milie " * 400,
    "long-word": "x" * 5000,
}
# Line breaks, in any of the forms a header reader might honour.
BREAKS = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
HEADER_LINE = re.compile(rb"[A-Za-z0-9-]+: |[ \t]")
# Keys, ids, timestamps and statuses: only the system writes them (a status is one of its enum's words).
SYSTEM_WRITTEN = re.compile(r"pk|sk|.*_id|.*_at|.*_status")
EXPECTED_HEADERS = {
    "From",
    "To",
    "Subject",
    "Message-ID",
    "Reply-To",
    "X-Correlation-ID",
    "MIME-Version",
    "Content-Type",
}


def spoiled(value: Any, bad: str, keep: frozenset[str] = frozenset()) -> Any:
    """`value` with every text in it replaced by `bad`. Numbers and flags stay, and so do the keys in
    `keep`, and the ids and timestamps only the system writes (offer links sign them)."""
    if isinstance(value, str):
        return bad
    if isinstance(value, list):
        return [spoiled(v, bad, keep) for v in value]
    if isinstance(value, dict):
        return {
            k: v if k in keep or SYSTEM_WRITTEN.fullmatch(k) else spoiled(v, bad, keep)
            for k, v in value.items()
        }
    return value


def alert_item(kind: AlertKind) -> dict[str, Any]:
    return {
        "pk": "R1",
        "sk": f"ALERT#{kind}",
        "request_id": "R1",
        "alert": kind,
        "created_at": "2027-01-01T09:00:00+00:00",
        "candidates": 0,
        "excluded": {"license_state": 4},
        "uncovered_states": ["TX"],
        "reason": "reason",
        "request_created_at": "2027-01-01T08:00:00+00:00",
        "wave": 2,
        "function": "NotifyFunction",
        "sequence_number": "4100000000000000000001",
        "item_sk": "OFFER#D1",
        "error": "KeyError",
    }


def match_item() -> dict[str, Any]:
    quote = {"eligible": 4, "low": 900, "high": 1500, "median": 1200, "budget_monthly": 2000}
    return {
        "pk": "R1",
        "sk": "MATCH",
        "created_at": "2027-01-05T14:30:00+00:00",
        "items_read": 9,
        "candidates": 4,
        "eligible": 4,
        "team": False,
        "shortlist": [{"director_id": "D1"}],
        "quote": quote,
    }


# A director's application as stored: its PROFILE, then its LICENSE#/DEA# items.
APPLICATION_ITEMS = validate_application(load_event("director_application.json"), date(2026, 12, 6)).items(
    datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
)

# A hostile value for each argument a builder takes, by the argument's name.
ARGUMENTS: dict[str, Callable[[str], Any]] = {
    "request": lambda bad: spoiled(request_item(wave=2), bad),
    "offer": lambda bad: spoiled(offer_item(), bad),
    "director": lambda bad: spoiled(director(director_id="D1", first_name="Avery"), bad),
    "introduction": lambda bad: Introduction(
        [
            IntroducedDirector(
                Profile.from_item(
                    spoiled(
                        director(director_id="D1", first_name="Avery", modality_years={"aesthetics": 3}), bad
                    )
                ),
                [bad, "TX"],
                1600,
                {"TX": bad},
            )
        ]
    ),
    "profile": lambda bad: spoiled(APPLICATION_ITEMS[0], bad),
    "states": lambda bad: [bad, "TX"],
    "match": lambda bad: spoiled(match_item(), bad),
    "members": lambda bad: [([bad, "TX"], 1600)],
    "offers": lambda bad: [spoiled(offer_item(), bad)],
    "story": lambda bad: no_match_story(
        Request.from_item(spoiled(request_item(wave=3), bad)),
        Alert.from_item(spoiled(alert_item(AlertKind.NO_MATCH), bad, keep=frozenset({"alert", "excluded"}))),
        [Offer.from_item(spoiled(offer_item(), bad))],
    ),
    "alert": lambda bad: spoiled(alert_item(AlertKind.SLA_20H), bad, keep=frozenset({"alert"})),
    "registrations": lambda bad: [spoiled(item, bad) for item in APPLICATION_ITEMS[1:]],
    "decision": lambda bad: Decision("D1", ApplicationStatus.REJECTED, bad, reason=bad),
    "change": lambda bad: Change(ChangeKind.MODALITIES, {"modalities": [bad]}, {}, (bad,), summary=[bad]),
}
TEXT_ARGUMENTS = {
    "status_url",
    "base_url",
    "inbound_domain",
    "ops_email",
    "director_id",
    "registration",
    "expires_on",
    "request_id",
    "reference",
    "reply_ref",
    "to",
    "outcome",
    "manage_url",
}


def builders() -> dict[str, Callable[..., Email]]:
    """Every function of mail.messages that gives an Email."""
    return {
        name: function
        for name, function in vars(messages).items()
        if inspect.isfunction(function)
        and not name.startswith("_")
        and function.__module__ == messages.__name__
        and get_type_hints(function).get("return") is Email
    }


def build_all(bad: str) -> list[Email]:
    """Each builder with hostile arguments; the alert builders once per alert kind."""
    built = []
    for name, build in builders().items():
        parameters = inspect.signature(build).parameters
        unknown = [p for p in parameters if p not in ARGUMENTS and p not in TEXT_ARGUMENTS]
        assert not unknown, f"{name} takes {unknown}: give them hostile values in ARGUMENTS"
        items: dict[str, Any] = {p: ARGUMENTS[p](bad) if p in ARGUMENTS else bad for p in parameters}
        hints = get_type_hints(build)
        kinds: list[AlertKind | None] = list(AlertKind) if "alert" in parameters else [None]
        for kind in kinds:
            given = (
                {**items, "alert": {**items["alert"], "alert": kind, "sk": f"ALERT#{kind}"}}
                if kind
                else items
            )
            built.append(build(**{p: as_declared(value, hints[p]) for p, value in given.items()}))
    return built


def as_declared(value: Any, hint: Any) -> Any:
    """A stored item, or a list of them, read as the record the builder declares (as the sender reads
    the items it composes from); anything else as it is."""
    records = [
        kind for kind in (hint, *get_args(hint)) if isinstance(kind, type) and issubclass(kind, Record)
    ]
    if records and isinstance(value, dict):
        return records[0].from_item(value)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [as_declared(item, get_args(hint)[0] if get_args(hint) else Any) for item in value]
    return value


class RecordingSes:
    """SES v2 in memory: keeps each request, answers with a message id."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def send_email(self, **request: Any) -> dict[str, str]:
        self.requests.append(request)
        return {"MessageId": f"m{len(self.requests)}"}


def test_every_template_kind_has_a_builder_here() -> None:
    # Given the templates that have a subject (one per kind of email; ops_alert serves every alert)
    kinds = {path.stem for path in TEMPLATES.glob("*.subject")}

    # When every builder runs with plain values
    built = {e.kind for e in build_all("plain")}

    # Then each template's kind was built (ops_alert as the alert kinds other than NO_MATCH)
    alert_kinds = {f"ops_{kind.lower()}" for kind in AlertKind if kind != AlertKind.NO_MATCH}
    assert kinds - {"ops_alert"} <= built
    assert alert_kinds <= built


@pytest.mark.parametrize("bad", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_email_kind_with_hostile_values_builds_sends_and_parses_with_clean_headers(bad: str) -> None:
    # Given every email kind, built from items whose every text is the hostile value
    ses = RecordingSes()
    mailer = Mailer(SENDER, "config-set", client=ses)  # type: ignore[arg-type]

    for built in build_all(bad):
        rendered = replace(built, to_name=bad, reply_to=built.reply_to or bad, correlation_id=bad)

        # When the mailer sends it, and the raw message is parsed back as a mail client would
        mailer.send(rendered)
        raw = ses.requests[-1]["Content"]["Raw"]["Data"]
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)

        # Then the header block is 7-bit, folded lines only, none longer than RFC 5322 allows
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii(), rendered.kind
        lines = head.split(b"\r\n")
        assert all(b"\r" not in line and b"\n" not in line for line in lines), rendered.kind
        assert all(HEADER_LINE.match(line) for line in lines), (rendered.kind, lines)
        assert max(len(line) for line in lines) <= 998
        # And it names only the headers we write: nothing injected
        assert set(message.keys()) <= EXPECTED_HEADERS, (rendered.kind, message.keys())
        assert len(message.get_all("To") or []) == 1
        # And no header reads back with a line break, a separator or a lone surrogate
        for name, value in message.items():
            assert not BREAKS.search(str(value)), (rendered.kind, name, str(value))
            str(value).encode("utf-8")
        # And the body is both parts, readable
        assert message.get_body(("plain",)) is not None
        assert message.get_body(("html",)) is not None
        # And SES is asked to send to an ASCII address, one line
        [destination] = ses.requests[-1]["Destination"]["ToAddresses"]
        assert destination.isascii() or not destination.partition("@")[0].isascii()
        assert not BREAKS.search(destination)


def test_header_of_an_address_with_a_unicode_domain_goes_out_in_punycode() -> None:
    # Given an email to an address whose domain is in Unicode (accepted by the contract)
    built = messages.receipt_email(
        Request.from_item(
            {
                **request_item(),
                "contact": {**request_item()["contact"], "email": "maria@bl\u00fcebonnet.example"},
            }
        ),
        "https://api.example/s",
    )
    ses = RecordingSes()

    # When it is sent
    Mailer(SENDER, client=ses).send(built)  # type: ignore[arg-type]

    # Then SES gets the Punycode domain (the stdlib's IDNA 2003 agrees on this one), in the Destination
    # and in the To header
    ascii_address = "maria@" + "bl\u00fcebonnet.example".encode("idna").decode()
    assert ses.requests[0]["Destination"]["ToAddresses"] == [ascii_address]
    message = email.message_from_bytes(ses.requests[0]["Content"]["Raw"]["Data"], policy=policy.default)
    assert message["To"].addresses[0].addr_spec == ascii_address


def test_encoded_word_in_stored_text_reads_back_as_typed_never_decoded() -> None:
    # Given a clinic name that looks like an RFC 2047 encoded word hiding a line break
    name = "=?utf-8?q?A=0D=0ABcc=3A_x=40evil.example?="
    request = Request.from_item({**request_item(), "clinic": {**request_item()["clinic"], "name": name}})

    # When the introduction (its subject quotes the clinic name) is built and parsed
    avery = IntroducedDirector(
        Profile.from_item(director(director_id="D1", first_name="Avery")), ["TX"], None, {}
    )
    built = messages.introduction_email(request, Introduction([avery]))
    message = email.message_from_bytes(to_mime(built, SENDER).as_bytes(), policy=policy.default)

    # Then the subject shows the text, not what a decoder would make of it
    assert "Bcc: x@evil.example" not in str(message["Subject"])
    assert "q?A=0D=0ABcc=3A_x=40evil.example?=" in str(message["Subject"])
