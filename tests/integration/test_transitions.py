"""The notify handler on lifecycle transitions: one email per change, none on redelivery, and the
template's FilterCriteria passing exactly the records that call for one."""

from __future__ import annotations

import email
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from types import ModuleType
from typing import Any

import pytest
from moto.events.models import EventPattern

from directormatch.aws.email_ledger import EmailLedger
from directormatch.mail.labels import us_phone
from directormatch.mail.suppression import address_key
from directormatch.matching.sweep import SweepSettings, sweep
from directormatch.offers import lifecycle as offers
from directormatch.records import Profile
from local import template
from local.lambdas import LambdaContext
from tests.events import stream_event, stream_record
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest, on_dynamodb_local

DeliverTwice = Callable[[dict[str, Any]], list[EmailMessage]]
# A TX request and its first wave's three offers, by director id.
Offered = tuple[dict[str, Any], list[dict[str, Any]]]


def sent_messages(aws: Aws) -> list[EmailMessage]:
    """Every message SES accepted, parsed as a mail client would."""
    found = []
    for sent in aws.sent_emails():
        raw = sent.raw_data if isinstance(sent.raw_data, bytes) else sent.raw_data.encode()
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def kind_of(message: EmailMessage) -> str:
    return str(message["Message-ID"]).strip("<").split(".", 1)[0]


@pytest.fixture
def deliver_twice(aws: Aws, notify_app: ModuleType, lambda_context: LambdaContext) -> DeliverTwice:
    """Hands notify a record, then the same record again: the messages the first delivery sent, after
    checking that the redelivery sent none."""

    def deliver(record: dict[str, Any]) -> list[EmailMessage]:
        before = len(aws.sent_emails())
        assert notify_app.lambda_handler(stream_event(record), lambda_context) == {"batchItemFailures": []}
        first = sent_messages(aws)[before:]
        assert notify_app.lambda_handler(stream_event(record), lambda_context) == {"batchItemFailures": []}
        assert sent_messages(aws)[before + len(first) :] == []
        return first

    return deliver


def profile(aws: Aws, director_id: str) -> Profile:
    found = aws.director_store().get_profile(director_id)
    assert found is not None
    return found


@pytest.fixture
def offered(
    aws: Aws, load_directors: LoadDirectors, offered_request: OfferedRequest, notify_app: ModuleType
) -> Offered:
    """A TX request offered to three of six directors (first wave), with its offers by director id."""
    load_directors(6)
    request = offered_request()
    aws.use_function("NotifyFunction")
    found = sorted(aws.request_store().offers(request["request_id"]), key=lambda o: o["director_id"])
    assert len(found) == 3
    return request, found


def accept(aws: Aws, request: dict[str, Any], offer: dict[str, Any]) -> None:
    answer = offers.accept(
        aws.request_store(), aws.director_store(), request["request_id"], offer["director_id"], "link"
    )
    assert answer.outcome == offers.Outcome.ACCEPTED


def test_notify_request_matched_introduces_clinic_and_director_in_one_email(
    aws: Aws, offered: Offered, deliver_twice: DeliverTwice
) -> None:
    # Given the first director, priced at $1,850 a month for the clinic, accepted: the REQUEST item went
    # from OFFERED to MATCHED
    request, [offer, *_] = offered
    aws.dynamodb.update_item(
        TableName=aws.requests_table,
        Key={"pk": {"S": request["request_id"]}, "sk": {"S": offer["sk"]}},
        UpdateExpression="SET fee_monthly = :fee",
        ExpressionAttributeValues={":fee": {"N": "1850"}},
    )
    accept(aws, request, offer)
    matched = aws.request_store().get_request(request["request_id"])
    assert matched is not None
    director = profile(aws, offer["director_id"])
    [tx_license] = [
        i
        for i in aws.items(aws.directors_table)
        if (i["pk"], i["sk"]) == (offer["director_id"], "LICENSE#TX")
    ]

    # When notify receives that MODIFY record, and then again
    first = deliver_twice(stream_record(matched, "MODIFY", old_item=request))

    # Then one introduction went to the clinic and the director together, and the redelivery sent nothing
    [message] = first
    assert kind_of(message) == "introduction"
    assert [a.addr_spec for a in message["To"].addresses] == [request["contact"]["email"], director["email"]]
    [sent] = aws.sent_emails()[-1:]
    assert set(sent.destinations) == {request["contact"]["email"], director["email"]}
    doctor = f"Dr. {director['first_name']} {director['last_name']}"
    assert message["Subject"] == f"Introduction: {request['clinic']['name']} and {doctor}"
    # And it gives the fee the director accepted, their license number for the state, and each side's
    # contact details, phones formatted
    text = text_of(message)
    for detail in (
        "Monthly fee:            $1,850 a month",
        f"Licenses:               TX {tx_license['license_number']}",
        director["email"],
        request["clinic"]["name"],
        request["contact"]["name"],
        request["contact"]["email"],
        us_phone(request["contact"]["phone"]),
    ):
        assert detail in text, detail
    # And a single director is not described as covering part of the clinic
    assert "Covers:" not in text
    assert "Total for the clinic" not in text


@pytest.mark.parametrize(
    ("suppressed", "status"),
    [
        pytest.param({"clinic"}, "SENT", id="clinic-suppressed-director-still-gets-it"),
        pytest.param({"clinic", "director"}, "SUPPRESSED", id="everyone-suppressed"),
    ],
)
def test_notify_introduction_leaves_out_suppressed_addresses_and_keeps_the_others(
    aws: Aws, offered: Offered, deliver_twice: DeliverTwice, suppressed: set[str], status: str
) -> None:
    # Given some addresses of the introduction bounced or complained earlier (on the suppression list)
    request, [offer, *_] = offered
    addresses = {
        "clinic": request["contact"]["email"],
        "director": profile(aws, offer["director_id"])["email"],
    }
    for who in suppressed:
        EmailLedger(aws.requests_table).suppress(
            address_key(addresses[who]), "BOUNCE", "2027-01-01T00:00:00+00:00"
        )
    # And a director accepted
    accept(aws, request, offer)
    matched = aws.request_store().get_request(request["request_id"])
    assert matched is not None

    # When notify receives the MATCHED record, and then again
    sent = deliver_twice(stream_record(matched, "MODIFY", old_item=request))

    # Then the introduction went to every address not suppressed (to none, when none is left), and its
    # marker says which, so a redelivery does not try again
    kept = [addresses[who] for who in ("clinic", "director") if who not in suppressed]
    assert [[a.addr_spec for a in m["To"].addresses] for m in sent] == ([kept] if kept else [])
    assert [set(m.destinations) for m in aws.sent_emails()] == ([set(kept)] if kept else [])
    [marker] = aws.items_with_sk("EMAIL#introduction#all")
    assert marker["email_status"] == status


def test_notify_request_matched_introduces_both_even_when_stored_names_break_lines(
    aws: Aws, offered: Offered, deliver_twice: DeliverTwice
) -> None:
    # Given a request and a director profile stored before intake and the roster refused Unicode line
    # breaks, controls and bidi marks (on DynamoDB Local, which stores them, lone surrogates too)
    request, [offer, *_] = offered
    lone = "\ud800" if on_dynamodb_local() else ""
    names = {
        ":clinic": f"A\u2028B\u2029C\x85D{lone}",
        ":contact": f"Maria\u202e\r\nBcc: x@evil.example{lone}",
        ":first": f"Avery\u2028\x00{lone}",
    }
    update = aws.dynamodb.update_item
    update(
        TableName=aws.requests_table,
        Key={"pk": {"S": request["request_id"]}, "sk": {"S": "REQUEST"}},
        UpdateExpression="SET clinic.#name = :clinic, contact.#name = :contact",
        ExpressionAttributeNames={"#name": "name"},
        ExpressionAttributeValues={":clinic": {"S": names[":clinic"]}, ":contact": {"S": names[":contact"]}},
    )
    update(
        TableName=aws.directors_table,
        Key={"pk": {"S": offer["director_id"]}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET first_name = :first",
        ExpressionAttributeValues={":first": {"S": names[":first"]}},
    )
    stored = aws.request_store().get_request(request["request_id"])
    assert stored is not None
    accept(aws, request, offer)
    matched = aws.request_store().get_request(request["request_id"])
    assert matched is not None

    # When notify receives the REQUEST's MODIFY record (OFFERED -> MATCHED)
    first = deliver_twice(stream_record(matched, "MODIFY", old_item=stored))

    # Then the introduction went out, its subject naming the clinic on one line
    [message] = first
    replaced = "\ufffd" if lone else ""
    assert message["Subject"].startswith(f"Introduction: A B C D{replaced} and Dr. Avery")
    for message in first:
        for name, value in message.items():
            assert not re.search("[\r\n\x85\u2028\u2029\x00]", str(value)), (name, str(value))
        assert message["Bcc"] is None


@pytest.mark.parametrize(
    ("answer", "kind", "subject"),
    [
        pytest.param("another accepted", "filled", "Position filled: thank you", id="superseded"),
        pytest.param("declined", "declined", "You declined an offer: noted", id="declined"),
    ],
)
def test_notify_offer_closed_tells_its_director_once(
    aws: Aws,
    offered: Offered,
    deliver_twice: DeliverTwice,
    answer: str,
    kind: str,
    subject: str,
) -> None:
    # Given the second director's offer left OPEN: superseded by another's accept, or declined
    request, [first, second, _] = offered
    if answer == "declined":
        declined = offers.decline(aws.request_store(), request["request_id"], second["director_id"], "link")
        assert declined.outcome == offers.Outcome.DECLINED
    else:
        accept(aws, request, first)
    closed = aws.request_store().get_offer(request["request_id"], second["director_id"])
    assert closed is not None
    director = profile(aws, second["director_id"])

    # When notify receives that OFFER MODIFY record, and then again
    sent = deliver_twice(stream_record(closed, "MODIFY", old_item=second))

    # Then that director got one email saying so, and the redelivery sent nothing
    [message] = sent
    assert (kind_of(message), message["To"], message["Subject"]) == (kind, director["email"], subject)
    assert f"Hello Dr. {director['last_name']}," in text_of(message)


def sweep_at(aws: Aws, moment: datetime) -> None:
    settings = SweepSettings(wave_size=3, offer_hours=4, max_waves=3)
    sweep(aws.request_store(), aws.director_store(), settings, moment)


def test_notify_request_next_wave_sends_the_clinic_one_update(
    aws: Aws, offered: Offered, deliver_twice: DeliverTwice
) -> None:
    # Given the first wave expired unanswered and the sweep sent wave 2: REQUEST wave 1 -> 2, OFFERED
    request, found = offered
    sweep_at(aws, datetime.fromisoformat(found[0]["expires_at"]) + timedelta(minutes=5))
    next_wave = aws.request_store().get_request(request["request_id"])
    assert next_wave is not None
    assert (next_wave["request_status"], next_wave["wave"]) == ("OFFERED", 2)

    # When notify receives that MODIFY record, and then again
    sent = deliver_twice(stream_record(next_wave, "MODIFY", old_item=request))

    # Then the clinic got one update, and the redelivery sent nothing
    [message] = sent
    assert (kind_of(message), message["To"]) == ("clinic_update", request["contact"]["email"])
    assert message["Subject"] == "Your medical director search continues"
    assert "matched within 24 hours" in text_of(message)


def test_notify_sla_alert_inserted_emails_ops_once(
    aws: Aws, offered: Offered, deliver_twice: DeliverTwice
) -> None:
    # Given the request is 20 hours old without an accept, and the sweep raised ALERT#SLA_20H
    request, _ = offered
    sweep_at(aws, datetime.fromisoformat(request["created_at"]) + timedelta(hours=20, minutes=1))
    [alert] = [i for i in aws.items() if (i["pk"], i["sk"]) == (request["request_id"], "ALERT#SLA_20H")]

    # When notify receives that INSERT record, and then again
    sent = deliver_twice(stream_record(alert))

    # Then ops got one email naming the request by the code its clinic quotes and by its id, and the
    # redelivery sent nothing
    [message] = sent
    assert (kind_of(message), message["To"]) == ("ops_sla_20h", aws.environment["OPS_EMAIL"])
    assert message["Subject"] == f"[ops] SLA_20H for request {request['reference']}"
    assert f"Request {request['reference']} (id {request['request_id']})" in text_of(message)
    assert "24-hour promise is at risk" in text_of(message)


# --- FilterCriteria ------------------------------------------------------------------------------

REQUEST = {
    "pk": "01JDQ2V7K9M3X8T4N6P0R5S2W1",
    "sk": "REQUEST",
    "request_id": "01JDQ2V7K9M3X8T4N6P0R5S2W1",
    "request_status": "OFFERED",
    "wave": 1,
    "created_at": "2026-11-25T09:00:00.000+00:00",
}
OFFER = {
    "pk": REQUEST["pk"],
    "sk": "OFFER#D3f9a1c2b7e8d4a6f0b12",
    "request_id": REQUEST["pk"],
    "director_id": "D3f9a1c2b7e8d4a6f0b12",
    "offer_status": "OPEN",
    "wave": 1,
    "expires_at": "2026-11-25T13:00:00+00:00",
}


def offer_closed(status: str) -> dict[str, Any]:
    return stream_record({**OFFER, "offer_status": status}, "MODIFY", old_item=OFFER)


PASSED = {
    "request-matched": stream_record({**REQUEST, "request_status": "MATCHED"}, "MODIFY", old_item=REQUEST),
    "request-next-wave": stream_record({**REQUEST, "wave": 2}, "MODIFY", old_item=REQUEST),
    "offer-superseded": offer_closed("SUPERSEDED"),
    "offer-declined": offer_closed("DECLINED"),
    "sla-alert-insert": stream_record({"pk": REQUEST["pk"], "sk": "ALERT#SLA_20H", "alert": "SLA_20H"}),
    "offer-insert": stream_record(OFFER),
    "request-insert": stream_record({**REQUEST, "request_status": "NEW"}),
}
DROPPED = {
    "email-marker-insert": stream_record(
        {"pk": REQUEST["pk"], "sk": "EMAIL#filled#D1", "email_status": "SENDING"}
    ),
    "email-marker-sent": stream_record(
        {"pk": REQUEST["pk"], "sk": "EMAIL#filled#D1", "email_status": "SENT"},
        "MODIFY",
        old_item={"pk": REQUEST["pk"], "sk": "EMAIL#filled#D1", "email_status": "SENDING"},
    ),
    "offer-expired": offer_closed("EXPIRED"),
    "offer-accepted": offer_closed("ACCEPTED"),
    "request-no-match": stream_record({**REQUEST, "request_status": "NO_MATCH"}, "MODIFY", old_item=REQUEST),
    "match-insert": stream_record({"pk": REQUEST["pk"], "sk": "MATCH", "shortlist": []}),
}


@pytest.fixture(scope="module")
def notify_patterns() -> list[EventPattern]:
    """The notify function's FilterCriteria from template.yaml, in moto's pattern engine (as the local
    stack's stream pump applies them)."""
    [subscription] = [s for s in template.stream_subscriptions() if s.function == "NotifyFunction"]
    return [EventPattern.load(json.dumps(pattern)) for pattern in subscription.patterns]


@pytest.mark.parametrize("name", list(PASSED))
def test_notify_filter_criteria_record_calling_for_email_passes(
    notify_patterns: list[EventPattern], name: str
) -> None:
    # Given a stream record whose change calls for an email
    record = PASSED[name]

    # When the template's filters are applied, Then one of them lets it through
    assert any(pattern.matches_event(record) for pattern in notify_patterns)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(DROPPED))
def test_notify_filter_criteria_record_sending_nothing_is_dropped(
    notify_patterns: list[EventPattern], name: str
) -> None:
    # Given a stream record that sends no email (a marker, an expiry, an accept, a MATCH item)
    record = DROPPED[name]

    # When the template's filters are applied, Then none lets it through
    assert not any(pattern.matches_event(record) for pattern in notify_patterns)  # type: ignore[arg-type]
