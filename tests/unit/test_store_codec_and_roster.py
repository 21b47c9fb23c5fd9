"""Pure helpers around the tables: DynamoDB attribute conversion and the synthetic roster."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.records import License
from directormatch.vocabulary import US_STATES
from ops.roster.synthetic import synthetic_roster


def test_to_attributes_floats_become_numbers_and_none_is_dropped() -> None:
    # Given an item with a float, nested lists and maps, a bool and a None
    item = {"pk": "R1", "score": 107.5, "nested": {"values": [1, 2.25]}, "open": True, "notes": None}

    # When it is converted to DynamoDB JSON
    attributes = to_attributes(item)

    # Then floats are exact numbers, None attributes are left out
    assert attributes["score"] == {"N": "107.5"}
    assert attributes["nested"] == {"M": {"values": {"L": [{"N": "1"}, {"N": "2.25"}]}}}
    assert attributes["open"] == {"BOOL": True}
    assert "notes" not in attributes


def test_from_attributes_numbers_come_back_as_int_or_float() -> None:
    # Given DynamoDB JSON with whole and fractional numbers
    attributes = {"wave": {"N": "1"}, "score": {"N": "107.5"}, "counts": {"M": {"np": {"N": "2"}}}}

    # When it is read
    item = from_attributes(attributes)

    # Then whole numbers are int and others float (no Decimal leaks into the domain)
    assert item == {"wave": 1, "score": 107.5, "counts": {"np": 2}}
    assert not any(isinstance(v, Decimal) for v in item.values())


def test_synthetic_roster_same_seed_gives_same_roster() -> None:
    # Given a fixed day
    today = date(2026, 11, 25)

    # When the roster is generated twice
    # Then it is identical
    assert synthetic_roster(count=80, today=today) == synthetic_roster(count=80, today=today)


def test_synthetic_roster_small_roster_covers_every_state_with_an_active_director() -> None:
    # Given the smallest roster that gives each state a home director
    today = date(2026, 11, 25)
    items = synthetic_roster(count=len(US_STATES), today=today)

    # When its licenses are grouped by state
    by_state: dict[str, list[str]] = defaultdict(list)
    for item in items:
        if item["sk"].startswith("LICENSE#"):
            lic = License.from_item(item)
            if (
                lic.license_status == "ACTIVE"
                and date.fromisoformat(lic.license_expires_on) > today
                and lic.active
                and not lic.paused
            ):
                by_state[lic.license_state].append(lic.director_id)

    # Then every state and DC has at least one active, licensed director, and no key holds personal data
    assert set(by_state) == set(US_STATES)
    assert all("@" not in item["pk"] and "@" not in item["sk"] for item in items)
