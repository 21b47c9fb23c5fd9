"""What a manage-page form post changes on a director's profile: pure, no I/O.

Each kind of change reads its form fields, checks them against the director's profile and gives a
`Change`: the profile fields it sets (None removes one), with their values before, and what ops
must look at (modalities outside the director's specialties are asked for, not applied).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from directormatch.matching.specialties import SPECIALTY_FIT
from directormatch.records import Profile, Record
from directormatch.timezones import home_zone, local_time, start_of_day
from directormatch.vocabulary import Modality

# The roster's bound on max_clinics (directormatch.directors.Director).
MAX_CLINICS = 50
# A pause ends within a year; longer is "until I resume".
LONGEST_PAUSE = timedelta(days=366)
DECLINE_PAUSE = timedelta(days=14)
FEE_FIELDS = (
    "base",
    "per_np",
    "per_pa",
    "per_additional_state",
    "per_additional_location",
    "controlled_premium",
    "chart_review_percent",
    "chart_review_fee",
)

Form = Mapping[str, Sequence[str]]


class ChangeKind(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CAPACITY = "capacity"
    MODALITIES = "modalities"
    FEES = "fees"


class ChangeInvalid(ValueError):
    """A form field that cannot be applied: which field, and why in words the director reads."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    after: dict[str, Any]  # profile field -> new value (None: removed)
    before: dict[str, Any]
    # Modalities the director asked for that their specialties do not fit: ops decide.
    asked_of_ops: tuple[str, ...] = ()
    # For a capacity change: it holds only while the director directs no more clinics than this.
    at_most_active: int | None = None
    summary: list[str] = field(default_factory=list)


def plan(kind: str, form: Form, profile: Profile, now: datetime) -> Change:
    """The change a form post of `kind` asks for; ChangeInvalid naming the field otherwise."""
    try:
        chosen = ChangeKind(kind)
    except ValueError:
        raise ChangeInvalid("change", "This is not a change we know.") from None
    if chosen is ChangeKind.PAUSE:
        return pause(profile, _pause_end(_one(form, "until"), now, home_zone(profile.licensed_states)))
    if chosen is ChangeKind.RESUME:
        return _change(
            ChangeKind.RESUME, profile, {"paused": False, "paused_until": None}, ["Offers resumed."]
        )
    if chosen is ChangeKind.CAPACITY:
        return _capacity(profile, _one(form, "max_clinics"))
    if chosen is ChangeKind.MODALITIES:
        return _modalities(profile, form.get("modalities", ()))
    return _fees(profile, form)


def pause(profile: Profile, until: datetime | None) -> Change:
    """Offers stop until `until` (stored in UTC), or until the director resumes (None). The words
    give the moment in the director's own zone, as their page does."""
    ends = None if until is None else until.astimezone(UTC).isoformat(timespec="seconds")
    if ends is None:
        words = "Offers paused until you resume."
    else:
        words = f"Offers paused until {local_time(ends, home_zone(profile.licensed_states))}."
    return _change(ChangeKind.PAUSE, profile, {"paused": True, "paused_until": ends}, [words])


def decline_pause(profile: Profile, now: datetime) -> Change:
    """The pause that "decline and pause" (a link or a PAUSE reply) sets."""
    return pause(profile, now + DECLINE_PAUSE)


def allowed_modalities(profile: Profile) -> list[str]:
    """What a director may take on themselves: what they offer now, and what their specialties fit."""
    fit = {m for m, specialties in SPECIALTY_FIT.items() if not specialties.isdisjoint(profile.specialties)}
    return sorted(fit | set(profile.modalities))


def _change(
    kind: ChangeKind, profile: Profile, after: dict[str, Any], summary: list[str], **extra: Any
) -> Change:
    before = {name: _plain(profile.get(name)) for name in after}
    return Change(kind, after, before, summary=summary, **extra)


def _plain(value: Any) -> Any:
    return value.to_item() if isinstance(value, Record) else value


def _one(form: Form, name: str) -> str:
    values = form.get(name) or [""]
    return values[-1].strip()


def _pause_end(cell: str, now: datetime, zone: str) -> datetime | None:
    """Blank: until resumed. A date: offers resume at its start where the director lives (`zone`),
    which must be ahead."""
    if not cell:
        return None
    try:
        day = date.fromisoformat(cell)
    except ValueError:
        raise ChangeInvalid(
            "until", "Give the date offers should resume as YYYY-MM-DD, or leave it blank."
        ) from None
    ends = start_of_day(day, zone)
    if ends <= now:
        raise ChangeInvalid("until", "The date offers resume must be after today.")
    if ends - now > LONGEST_PAUSE:
        raise ChangeInvalid(
            "until", "Pause for at most a year, or leave the date blank to pause until you resume."
        )
    return ends


def _capacity(profile: Profile, cell: str) -> Change:
    if not re.fullmatch(r"\d{1,3}", cell) or int(cell) > MAX_CLINICS:
        raise ChangeInvalid("max_clinics", f"Give a whole number from 0 to {MAX_CLINICS}.")
    wanted = int(cell)
    if wanted < profile.active_clinics:
        raise ChangeInvalid(
            "max_clinics",
            f"You direct {profile.active_clinics} clinics now: the most you take cannot be fewer.",
        )
    words = [f"You take at most {wanted} clinics."]
    if wanted == profile.active_clinics:
        words.append("That is the clinics you direct now, so new offers stop until you raise it.")
    return _change(ChangeKind.CAPACITY, profile, {"max_clinics": wanted}, words, at_most_active=wanted)


def _modalities(profile: Profile, chosen: Sequence[str]) -> Change:
    known = {m.value for m in Modality}
    wanted = sorted({m for m in chosen if m})
    if any(m not in known for m in wanted):
        raise ChangeInvalid("modalities", "Choose services from the list.")
    allowed = set(allowed_modalities(profile))
    applied = [m for m in wanted if m in allowed]
    asked = tuple(m for m in wanted if m not in allowed)
    if not applied:
        raise ChangeInvalid("modalities", "Choose at least one service your specialties fit.")
    words = [f"You take {', '.join(m.replace('_', ' ') for m in applied)}."]
    if asked:
        words.append(
            f"We passed your request for {', '.join(m.replace('_', ' ') for m in asked)} to our team, "
            "who check it with you before adding it."
        )
    return _change(ChangeKind.MODALITIES, profile, {"modalities": applied}, words, asked_of_ops=asked)


def _fees(profile: Profile, form: Form) -> Change:
    """The schedule, validated by the roster's model (directormatch.directors.Fees)."""
    from pydantic import ValidationError

    from directormatch.directors import Fees

    cells: dict[str, int] = {}
    for name in FEE_FIELDS:
        cell = _one(form, name)
        if not cell:
            continue
        if not re.fullmatch(r"\d{1,9}", cell):
            raise ChangeInvalid(
                name, "Give whole US dollars (or a whole percentage), digits only, or leave it blank."
            )
        cells[name] = int(cell)
    try:
        fees = Fees.model_validate(cells)
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        # The one check across fields is chart review's pair: its percentage names it.
        where = str(first["loc"][0]) if first["loc"] else "chart_review_percent"
        raise ChangeInvalid(where, str(first["msg"]).removeprefix("Value error, ")) from None
    schedule = fees.model_dump(exclude_none=True)
    return _change(
        ChangeKind.FEES, profile, {"fees": schedule}, [f"Your base fee is ${fees.base:,} a month."]
    )
