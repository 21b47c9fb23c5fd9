"""Each state's time zone, whose zone a reader reads, and how a moment is written for them."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import pytest

from directormatch.timezones import (
    ALASKA,
    ARIZONA,
    CENTRAL,
    EASTERN,
    HAWAII,
    MOUNTAIN,
    PACIFIC,
    STATE_ZONES,
    clinic_zone,
    director_zone,
    local_time,
    state_zone,
)
from directormatch.vocabulary import US_STATES


def test_every_usps_state_and_dc_has_a_zone_and_nothing_else_does() -> None:
    # Given the states the contract admits (50 and DC)
    # Then each has exactly one zone in the table
    assert set(STATE_ZONES) == US_STATES
    assert len(STATE_ZONES) == 51


def test_every_zone_is_in_the_tzdata_package_the_layer_ships() -> None:
    # Given the zones the table names (Lambda's OS may hold no zone files: zoneinfo then reads tzdata)
    shipped = resources.files("tzdata").joinpath("zoneinfo")

    # Then each is a file of that package, and so is UTC for ops
    for zone in {*STATE_ZONES.values(), "UTC"}:
        assert shipped.joinpath(*zone.split("/")).is_file(), zone


@pytest.mark.parametrize(
    ("state", "zone"),
    [
        ("NY", EASTERN),
        ("DC", EASTERN),
        ("FL", EASTERN),  # the panhandle's Central part is the smaller
        ("IN", EASTERN),
        ("KY", EASTERN),
        ("MI", EASTERN),
        ("TX", CENTRAL),  # El Paso is Mountain, most Texans Central
        ("TN", CENTRAL),
        ("ND", CENTRAL),
        ("SD", CENTRAL),
        ("NE", CENTRAL),
        ("KS", CENTRAL),
        ("ID", MOUNTAIN),  # the northern panhandle is Pacific
        ("NM", MOUNTAIN),
        ("AZ", ARIZONA),
        ("OR", PACIFIC),
        ("NV", PACIFIC),
        ("AK", ALASKA),
        ("HI", HAWAII),
    ],
)
def test_state_zone_takes_where_most_people_live(state: str, zone: str) -> None:
    assert state_zone(state) == zone


def test_clinic_reads_its_first_states_zone() -> None:
    assert clinic_zone(["AZ", "TX"]) == ARIZONA
    assert clinic_zone(("NY",)) == EASTERN


def test_clinic_zone_of_states_no_one_knows_is_utc_not_an_error() -> None:
    # Given states intake would refuse, as an item written by another path might hold
    # Then the first known state's zone, else UTC: an email is never stopped by a zone
    assert clinic_zone(["XX", "TX"]) == CENTRAL
    assert clinic_zone(["<b>", ""]) == "UTC"
    assert director_zone(["XX"], ["YY"]) == "UTC"


@pytest.mark.parametrize(
    ("licensed", "clinic", "zone"),
    [
        (["NM"], ["TX", "NM"], MOUNTAIN),  # one license: home is there
        (["OK", "TX"], ["OK"], CENTRAL),  # licenses all in one zone
        (["CA", "NV", "OR", "WA"], ["CA"], PACIFIC),
        (["AZ", "TX"], ["AZ"], ARIZONA),  # licenses in two zones: home unknown, the clinic's
        (["AZ", "TX"], ["TX"], CENTRAL),
        ([], ["HI"], HAWAII),  # no licenses known: the clinic's
    ],
)
def test_director_zone_is_their_licenses_zone_else_the_clinics(
    licensed: list[str], clinic: list[str], zone: str
) -> None:
    assert director_zone(licensed, clinic) == zone


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        # Central: spring forward on Sun 8 Mar 2026 at 2 AM (08:00 UTC) ...
        ("2026-03-08T07:59:00+00:00", CENTRAL, "Sun, Mar 8, 1:59 AM CST"),
        ("2026-03-08T08:00:00+00:00", CENTRAL, "Sun, Mar 8, 3:00 AM CDT"),
        # ... fall back on Sun 1 Nov 2026 at 2 AM CDT (07:00 UTC): 1:30 AM happens twice
        ("2026-11-01T06:30:00+00:00", CENTRAL, "Sun, Nov 1, 1:30 AM CDT"),
        ("2026-11-01T07:30:00+00:00", CENTRAL, "Sun, Nov 1, 1:30 AM CST"),
        # Eastern the same Sundays, an hour earlier in UTC
        ("2026-03-08T06:59:59+00:00", EASTERN, "Sun, Mar 8, 1:59 AM EST"),
        ("2026-03-08T07:00:00+00:00", EASTERN, "Sun, Mar 8, 3:00 AM EDT"),
        # Arizona and Hawaii keep standard time all year
        ("2026-07-01T19:00:00+00:00", ARIZONA, "Wed, Jul 1, 12:00 PM MST"),
        ("2026-07-01T19:00:00+00:00", MOUNTAIN, "Wed, Jul 1, 1:00 PM MDT"),
        ("2026-07-01T10:00:00+00:00", HAWAII, "Wed, Jul 1, 12:00 AM HST"),
        ("2026-07-01T10:00:00+00:00", ALASKA, "Wed, Jul 1, 2:00 AM AKDT"),
        # A moment near midnight UTC is the day before in the Americas; stored milliseconds are dropped
        ("2026-12-09T02:30:15.123+00:00", PACIFIC, "Tue, Dec 8, 6:30 PM PST"),
        ("2026-12-09T02:30:15.123+00:00", "UTC", "Wed, Dec 9, 2:30 AM UTC"),
    ],
)
def test_local_time_names_the_zone_across_daylight_saving_changes(moment: str, zone: str, shown: str) -> None:
    assert local_time(moment, zone) == shown


def test_local_time_reads_datetimes_and_takes_a_moment_without_offset_as_utc() -> None:
    # Given the same moment as an aware datetime, a naive one, and an ISO string without offset
    aware = datetime(2027, 1, 5, 18, 5, tzinfo=UTC)

    # Then all three read alike
    assert local_time(aware, CENTRAL) == "Tue, Jan 5, 12:05 PM CST"
    assert local_time(aware.replace(tzinfo=None), CENTRAL) == "Tue, Jan 5, 12:05 PM CST"
    assert local_time("2027-01-05T18:05:00", CENTRAL) == "Tue, Jan 5, 12:05 PM CST"
