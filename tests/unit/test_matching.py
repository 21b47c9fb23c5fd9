"""Hard filters, ranking and tie-breaks of directormatch.matching (pure: licenses in, shortlist out)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from directormatch.matching import LICENSE_MARGIN, Exclusion, License, Need, shortlist
from tests.conftest import make_license

START = date.today() + timedelta(days=30)


def need(**overrides: Any) -> Need:
    fields: dict[str, Any] = {
        "request_id": "01JREQUEST0000000000000001",
        "states": ("TX",),
        "modalities": frozenset({"aesthetics", "weight_loss"}),
        "start_by": START,
    }
    fields.update(overrides)
    return Need(**fields)


def equals(count: int, **overrides: Any) -> list[License]:
    """`count` directors that score the same."""
    return [make_license(director_id=f"D{n:03d}", **overrides) for n in range(count)]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"modalities": frozenset({"aesthetics"})}, Exclusion.MODALITY_NOT_OFFERED),
        ({"active": False}, Exclusion.INACTIVE),
        ({"paused": True}, Exclusion.PAUSED),
        ({"max_clinics": 3, "active_clinics": 3}, Exclusion.NO_CAPACITY),
        ({"max_clinics": 3, "active_clinics": 4}, Exclusion.NO_CAPACITY),
        ({"status": "EXPIRED"}, Exclusion.NO_ACTIVE_LICENSE),
        ({"status": "SUSPENDED"}, Exclusion.NO_ACTIVE_LICENSE),
        ({"expires_on": date.today() - timedelta(days=1)}, Exclusion.LICENSE_EXPIRING),
        ({"expires_on": START + LICENSE_MARGIN - timedelta(days=1)}, Exclusion.LICENSE_EXPIRING),
    ],
    ids=[
        "modality-missing",
        "inactive",
        "paused",
        "full",
        "over-full",
        "license-expired",
        "license-suspended",
        "license-lapsed",
        "license-expires-29-days-after-start",
    ],
)
def test_shortlist_director_failing_a_hard_filter_is_excluded_with_reason(
    overrides: dict[str, Any], reason: Exclusion
) -> None:
    # Given one director who fits and one who fails a single hard filter
    good = make_license(director_id="D-GOOD")
    bad = make_license(director_id="D-BAD", **overrides)

    # When the request is shortlisted
    result = shortlist(need(), [good, bad], size=3)

    # Then only the good director is picked and the other is counted under its reason
    assert [p.director_id for p in result.picks] == ["D-GOOD"]
    assert result.excluded == {reason: 1}
    assert result.candidates == 2


def test_shortlist_license_valid_exactly_30_days_past_start_is_kept() -> None:
    # Given a license expiring exactly on start_by + 30 days
    lic = make_license(expires_on=START + LICENSE_MARGIN)

    # When the request is shortlisted
    result = shortlist(need(), [lic], size=3)

    # Then the director is picked, and the reason says until when the license holds
    assert [p.director_id for p in result.picks] == [lic.director_id]
    assert f"Licensed in TX until {lic.expires_on:%Y-%m}" in result.picks[0].reasons


def test_shortlist_licenses_in_other_states_are_not_candidates() -> None:
    # Given a director licensed only in a state the clinic did not ask for
    elsewhere = make_license(director_id="D-CA", state="CA")

    # When the request is shortlisted
    result = shortlist(need(), [elsewhere], size=3)

    # Then nobody is picked, and nobody was a candidate or excluded
    assert result.picks == ()
    assert result.candidates == 0
    assert result.excluded == {}


def test_shortlist_every_director_excluded_counts_each_reason() -> None:
    # Given directors failing different filters
    licenses = [
        make_license(director_id="D1", active=False),
        make_license(director_id="D2", active=False),
        make_license(director_id="D3", paused=True),
        make_license(director_id="D4", status="EXPIRED"),
    ]

    # When the request is shortlisted
    result = shortlist(need(), licenses, size=3)

    # Then nobody is picked and the exclusions add up per reason
    assert result.picks == ()
    assert result.excluded == {Exclusion.INACTIVE: 2, Exclusion.PAUSED: 1, Exclusion.NO_ACTIVE_LICENSE: 1}
    assert result.candidates == 4


def test_shortlist_director_covering_more_requested_states_ranks_higher() -> None:
    # Given a TX + OK request, one director licensed in both and one in TX only (with more room)
    both = [
        make_license(director_id="D-BOTH", state="TX", active_clinics=4),
        make_license(director_id="D-BOTH", state="OK", active_clinics=4),
    ]
    tx_only = make_license(director_id="D-TX", state="TX", active_clinics=0)

    # When the request is shortlisted
    result = shortlist(need(states=("TX", "OK")), [tx_only, *both], size=3)

    # Then the director covering both states comes first and says so
    assert [p.director_id for p in result.picks] == ["D-BOTH", "D-TX"]
    assert result.picks[0].states == ("TX", "OK")
    assert result.picks[0].score > result.picks[1].score


def test_shortlist_director_with_more_room_ranks_higher() -> None:
    # Given two directors in the same state, one with room for 4 clinics and one with room for 1
    roomy = make_license(director_id="D-ROOMY", max_clinics=5, active_clinics=1)
    tight = make_license(director_id="D-TIGHT", max_clinics=5, active_clinics=4)

    # When the request is shortlisted
    result = shortlist(need(), [tight, roomy], size=3)

    # Then the one with more room ranks first
    assert [p.director_id for p in result.picks] == ["D-ROOMY", "D-TIGHT"]
    assert "Has room for 4 more clinics" in result.picks[0].reasons
    assert "Has room for 1 more clinic" in result.picks[1].reasons


def test_shortlist_same_input_gives_same_shortlist_in_any_order() -> None:
    # Given twelve directors, several with equal scores
    licenses = [make_license(director_id=f"D{n:03d}", active_clinics=n % 3) for n in range(12)]
    shuffled = licenses[:]
    random.Random(3).shuffle(shuffled)

    # When the same request is shortlisted twice, from the licenses in two orders
    first = shortlist(need(), licenses, size=5)
    second = shortlist(need(), shuffled, size=5)

    # Then both shortlists are identical
    assert first == second


@pytest.mark.parametrize(("available", "size", "picked"), [(10, 3, 3), (10, 1, 1), (2, 3, 2), (0, 3, 0)])
def test_shortlist_size_is_respected(available: int, size: int, picked: int) -> None:
    # Given `available` directors who all fit
    licenses = equals(available)

    # When a shortlist of `size` is asked for
    result = shortlist(need(), licenses, size=size)

    # Then at most `size` are picked, and every fitting director was a candidate
    assert len(result.picks) == picked
    assert result.candidates == available


def test_shortlist_tie_break_differs_between_request_ids() -> None:
    # Given ten directors with identical scores
    licenses = equals(10)

    # When twenty different requests are shortlisted
    firsts = {
        shortlist(need(request_id=f"R{n:02d}"), licenses, size=3).picks[0].director_id for n in range(20)
    }

    # Then the first pick is not always the same director
    assert len(firsts) > 1


def test_shortlist_pick_reasons_are_readable() -> None:
    # Given a fitting director
    lic = make_license(expires_on=date(2028, 8, 31), max_clinics=3, active_clinics=1)

    # When the request is shortlisted
    pick = shortlist(need(), [lic], size=1).picks[0]

    # Then the reasons read as sentences a clinic understands
    assert pick.reasons == (
        "Licensed in TX until 2028-08",
        "Offers aesthetics, weight loss",
        "Has room for 2 more clinics",
    )
