"""Times as their reader reads them: each state's time zone, and one way of writing a moment.

A state that spans two zones takes the zone most of its people live in (the other part is named
beside it):

    AK  Alaska (the Aleutians west of 169°30'W keep Hawaii-Aleutian time)
    AZ  Arizona, no daylight saving (the Navajo Nation observes it)
    FL  Eastern (the panhandle west of the Apalachicola River is Central)
    ID  Mountain (the northern panhandle is Pacific)
    IN  Eastern (the Chicago and Evansville corners are Central)
    KS  Central (four western counties are Mountain)
    KY  Eastern (the western half is Central, fewer people)
    MI  Eastern (four Upper Peninsula counties are Central)
    NE  Central (the western panhandle is Mountain)
    NV  Pacific (West Wendover is Mountain)
    ND  Central (the southwest is Mountain)
    OR  Pacific (most of Malheur County is Mountain)
    SD  Central (the western half is Mountain, fewer people)
    TN  Central (East Tennessee is Eastern, fewer people)
    TX  Central (El Paso and Hudspeth counties are Mountain)

Zones are the IANA names zoneinfo reads: from the OS where it has them, else from the `tzdata`
package the layer ships.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

EASTERN = "America/New_York"
CENTRAL = "America/Chicago"
MOUNTAIN = "America/Denver"
ARIZONA = "America/Phoenix"
PACIFIC = "America/Los_Angeles"
ALASKA = "America/Anchorage"
HAWAII = "Pacific/Honolulu"
OPS_ZONE = "UTC"  # ops read the console, where every time is stored in UTC

# English names whatever the process locale (strftime's %a and %b follow it).
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

STATE_ZONES: dict[str, str] = {
    **dict.fromkeys(
        ["CT", "DC", "DE", "FL", "GA", "IN", "KY", "MA", "MD", "ME", "MI", "NC", "NH", "NJ", "NY"],
        EASTERN,
    ),
    **dict.fromkeys(["OH", "PA", "RI", "SC", "VA", "VT", "WV"], EASTERN),
    **dict.fromkeys(
        ["AL", "AR", "IA", "IL", "KS", "LA", "MN", "MO", "MS", "ND", "NE", "OK", "SD", "TN", "TX", "WI"],
        CENTRAL,
    ),
    **dict.fromkeys(["CO", "ID", "MT", "NM", "UT", "WY"], MOUNTAIN),
    "AZ": ARIZONA,
    **dict.fromkeys(["CA", "NV", "OR", "WA"], PACIFIC),
    "AK": ALASKA,
    "HI": HAWAII,
}


def state_zone(state: str) -> str:
    """The zone of a USPS state code (KeyError for anything else: the contract admits only these)."""
    return STATE_ZONES[state]


def clinic_zone(states: Iterable[str]) -> str:
    """A clinic reads times in the zone of the first state it listed. Intake admits USPS codes only,
    but an item written by another path must not stop an email: with no known state, UTC (named)."""
    return next((STATE_ZONES[state] for state in states if state in STATE_ZONES), OPS_ZONE)


def director_zone(licensed_states: Iterable[str], clinic_states: Iterable[str]) -> str:
    """The zone a director reads times in. The roster records no home state, only licenses (sorted,
    so the first says nothing): a director whose licenses all lie in one zone lives there, as
    physicians hold a license where they practise; licenses in several zones leave home unknown,
    and the director reads the clinic's zone, the one the offer is about."""
    zones = {STATE_ZONES[state] for state in licensed_states if state in STATE_ZONES}
    if len(zones) == 1:
        return zones.pop()
    return clinic_zone(clinic_states)


def home_zone(licensed_states: Iterable[str]) -> str:
    """The zone a director reads their own page and notices in, about no clinic in particular: their
    licenses' zone, or the first license's when they span several (UTC, named, with none)."""
    return director_zone(licensed_states, licensed_states)


def start_of_day(day: date, zone: str) -> datetime:
    """Midnight at the start of `day` where the reader lives (an aware datetime)."""
    return datetime.combine(day, time(), _zone(zone))


def local_date(moment: datetime, zone: str) -> date:
    """The day it is at `moment` for a reader in `zone`."""
    return moment.astimezone(_zone(zone)).date()


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(moment: str | datetime, zone: str) -> str:
    """A stored moment (ISO 8601 in UTC, or an aware datetime) as a reader in `zone` reads it, the
    zone named: "Tue, Dec 8, 2:30 PM CST". A moment without an offset is taken as UTC."""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(_zone(zone))
    hour = local.hour % 12 or 12
    noon = "AM" if local.hour < 12 else "PM"
    day, month = DAYS[local.weekday()], MONTHS[local.month - 1]
    return f"{day}, {month} {local.day}, {hour}:{local.minute:02d} {noon} {local.tzname()}"
