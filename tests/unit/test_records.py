"""Typed records: read from stored items, written back with the same attributes, read like the items."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.records import Alert, Dea, EmailMarker, License, Match, Offer, Profile, Record, Request
from directormatch.vocabulary import AlertKind, EmailStatus, OfferStatus, RequestStatus
from ops.roster.synthetic import synthetic_roster

SUPERVISEES = {"np": 2, "pa": 1}
REQUEST = {
    "pk": "R1",
    "sk": "REQUEST",
    "request_id": "R1",
    "request_status": "OFFERED",
    "created_at": "2026-11-25T10:00:00.000+00:00",
    "clinic": {"name": "Glow Aesthetics", "website": "https://glow.example"},
    "contact": {"name": "Dana Reyes", "email": "dana@glow.example", "phone": "+15125550100"},
    "states": ["TX"],
    "modalities": ["aesthetics"],
    "supervisees": SUPERVISEES,
    "locations": 1,
    "controlled_substances": False,
    "malpractice": "no_preference",
    "start_by": "2026-12-20",
    "consent": True,
    "correlation_id": "corr-1",
    "wave": 1,
}
OFFER = {
    "pk": "R1",
    "sk": "OFFER#D1",
    "request_id": "R1",
    "director_id": "D1",
    "offer_status": "OPEN",
    "wave": 1,
    "score": 107.5,
    "score_components": {"fairness": 10.0},
    "reasons": ["Licensed in TX"],
    "covers_states": ["TX"],
    "team": False,
    "created_at": "2026-11-25T10:00:01.000+00:00",
    "expires_at": "2026-11-25T14:00:01+00:00",
    "summary": {
        "states": ["TX"],
        "modalities": ["aesthetics"],
        "supervisees": SUPERVISEES,
        "locations": 1,
        "controlled_substances": False,
        "start_by": "2026-12-20",
        "malpractice": "no_preference",
    },
    "correlation_id": "corr-1",
}
MATCH = {
    "pk": "R1",
    "sk": "MATCH",
    "created_at": "2026-11-25T10:00:01.000+00:00",
    "candidates": 4,
    "eligible": 3,
    "items_read": 4,
    "excluded": {"license_expired": 1},
    "team": False,
    "shortlist": [{"director_id": "D1", "score": 107.5, "states": ["TX"], "wave": 1}],
    "strict_cpom_states": ["TX"],
    "states_without_rule": [],
    "uncovered_states": [],
}
ALERT = {
    "pk": "R1",
    "sk": "ALERT#SLA_20H",
    "request_id": "R1",
    "alert": "SLA_20H",
    "created_at": "2026-11-26T06:00:00.000+00:00",
    "request_created_at": "2026-11-25T10:00:00.000+00:00",
    "wave": 2,
}
MARKER = {
    "pk": "R1",
    "sk": "EMAIL#offer#D1",
    "email_status": "SENT",
    "message_id": "m-1",
    "sent_at": 1796000000,
}


@pytest.mark.parametrize(
    ("record", "item"),
    [(Request, REQUEST), (Offer, OFFER), (Match, MATCH), (Alert, ALERT), (EmailMarker, MARKER)],
    ids=["REQUEST", "OFFER", "MATCH", "ALERT", "EMAIL"],
)
def test_records_requests_table_item_reads_and_writes_back_the_same_attributes(
    record: type[Record], item: dict[str, Any]
) -> None:
    # Given an item as the table holds it
    image = to_attributes(item)

    # When it is read as its record and written again
    written = to_attributes(record.from_attributes(image).to_item())

    # Then the attributes are the ones it had (as numbers, 10.0 is 10): existing data reads, and
    # new items keep the shape
    assert from_attributes(written) == from_attributes(image)


def test_records_directors_table_items_read_and_write_back_the_same_attributes() -> None:
    # Given the PROFILE, LICENSE and DEA items of a synthetic roster
    items = synthetic_roster(count=60, today=date(2026, 11, 25))
    kinds = {"PROFILE": Profile, "LICENSE": License, "DEA": Dea}

    # When each is read as its record and written again
    for item in items:
        kind = kinds[item["sk"].partition("#")[0]]
        image = to_attributes(item)

        # Then its attributes are unchanged
        written = to_attributes(kind.from_attributes(image).to_item())
        assert from_attributes(written) == from_attributes(image), item["sk"]
    assert {i["sk"].partition("#")[0] for i in items} == set(kinds)


def test_records_statuses_are_the_enums_and_nested_maps_are_records() -> None:
    # Given stored REQUEST, OFFER and EMAIL items
    request, offer = Request.from_item(REQUEST), Offer.from_item(OFFER)

    # When their fields are read
    # Then statuses are the vocabulary's enums, and nested maps typed records
    assert request.request_status is RequestStatus.OFFERED
    assert offer.offer_status is OfferStatus.OPEN
    assert EmailMarker.from_item(MARKER).email_status == EmailStatus.SENT
    assert (request.contact.email, request.supervisees.np, offer.summary.supervisees.pa) == (
        "dana@glow.example",
        2,
        1,
    )


def test_records_unknown_attributes_are_ignored_and_missing_optional_ones_default() -> None:
    # Given a REQUEST written before `wave` existed, holding an attribute no record names
    item = {k: v for k, v in REQUEST.items() if k != "wave"} | {"legacy_flag": True}

    # When it is read
    request = Request.from_item(item)

    # Then it reads, on its first wave, with nothing accepted yet
    assert (request.wave, request.current_wave, request.accepted_states) == (None, 1, set())
    assert "legacy_flag" not in request.to_item()


def test_records_a_missing_required_attribute_fails_the_read() -> None:
    # Given an OFFER item without its director
    item = {k: v for k, v in OFFER.items() if k != "director_id"}

    # When / Then it cannot be read (a stream record holding it fails and is reported)
    with pytest.raises(TypeError):
        Offer.from_item(item)


def test_records_read_like_the_items_they_stand_for() -> None:
    # Given a REQUEST record
    request = Request.from_item(REQUEST)

    # When it is read as a mapping
    # Then it gives what the item holds; unset attributes are absent, as in the table
    assert request["contact"]["email"] == "dana@glow.example"
    assert {**request}["states"] == ["TX"]
    assert request.get("matched_director_id", "none") == "none"
    assert "matched_at" not in request
    with pytest.raises(KeyError):
        request["matched_at"]
    assert dict(request) == from_attributes(to_attributes(request.to_item())) | {
        "clinic": request.clinic,
        "contact": request.contact,
        "supervisees": request.supervisees,
    }


def test_records_alert_of_builds_the_keys_of_its_kind() -> None:
    # Given a request late by 20 hours
    # When its alert is built
    alert = Alert.of(
        "R1", AlertKind.SLA_20H, ALERT["created_at"], request_created_at=ALERT["request_created_at"], wave=2
    )

    # Then it is the ALERT item the table has always held
    assert alert.to_item() == ALERT


def test_records_compare_hash_and_show_by_their_fields_like_dataclasses() -> None:
    # Given two reads of one item, a record differing in one field, and one of another class
    request, again = Request.from_item(REQUEST), Request.from_item(REQUEST)
    later = Request.from_item(REQUEST | {"wave": 2})
    marker = EmailMarker.from_item(MARKER)

    # When they are compared, hashed and shown
    # Then records of one class are equal exactly when their fields are, never equal to another
    # class or to the plain item, hash alike when equal, and show every field in order
    assert request == again
    assert request != later
    assert marker != Offer.from_item(OFFER)
    assert request != REQUEST
    assert hash(marker) == hash(EmailMarker.from_item(dict(MARKER)))
    assert {marker, EmailMarker.from_item(MARKER)} == {marker}
    assert repr(marker) == (
        "EmailMarker(pk='R1', sk='EMAIL#offer#D1', email_status='SENT', "
        "queued_at=None, lease_until=None, message_id='m-1', sent_at=1796000000)"
    )
    with pytest.raises(TypeError, match="unhashable"):
        hash(request)
