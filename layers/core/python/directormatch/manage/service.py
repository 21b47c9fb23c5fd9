"""A director's own changes: read what the manage page shows, apply one change atomically with its
audit item, and tell the director (and ops, when a change needs them)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from directormatch import keys
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.errors import EmailNotSent, ProfileChanged
from directormatch.mail.render import Email, Mailer
from directormatch.manage.changes import DECLINE_PAUSE, Change, ChangeInvalid, Form, decline_pause, plan
from directormatch.observability import logger
from directormatch.offers import lifecycle
from directormatch.records import Offer, Profile

PAUSE_ATTEMPTS = 3
# A pause ending no sooner than this before the one "decline and pause" would set is kept: a repeated
# click, or a reply after the click, changes nothing twice, and a longer pause is never shortened.
PAUSE_SLACK = timedelta(days=1)


class Outcome(StrEnum):
    CHANGED = "CHANGED"
    STALE = "STALE"  # the form was shown from an older version of the profile: nothing changed
    INVALID = "INVALID"  # a field cannot be applied: nothing changed
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class Director:
    """What the manage page shows: the profile, its licenses and DEA registrations, the clinics directed."""

    profile: Profile
    licenses: list[dict[str, Any]]
    registrations: list[dict[str, Any]]
    directed: list[Offer]


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    change: Change | None = None
    problem: ChangeInvalid | None = None


@dataclass(frozen=True)
class Via:
    """Which link (or reply) a change came through, for the audit item: ids only."""

    channel: str  # "manage_link", "offer_link", "reply"
    source: str  # the request the link's email was about, or the notice kind
    details: dict[str, Any] = field(default_factory=dict)

    def to_item(self) -> dict[str, Any]:
        return {"channel": self.channel, "source": self.source, **self.details}


def read_director(directors: DirectorStore, requests: RequestStore, director_id: str) -> Director | None:
    items = directors.director_items(director_id)
    profile = next((item for item in items if item["sk"] == keys.PROFILE_SK), None)
    if profile is None:
        return None
    return Director(
        Profile.from_item(profile),
        [item for item in items if item["sk"].startswith(keys.LICENSE)],
        [item for item in items if item["sk"].startswith(keys.DEA)],
        requests.accepted_offers(director_id),
    )


def submit(
    directors: DirectorStore, director_id: str, kind: str, form: Form, via: Via, now: datetime
) -> Result:
    """One form post: nothing changes unless the profile is still at the version the form was shown
    from and every field can be applied."""
    profile = directors.get_profile(director_id, consistent=True)
    if profile is None:
        return Result(Outcome.NOT_FOUND)
    shown = (form.get("version") or [""])[-1]
    if not re.fullmatch(r"\d{1,9}", shown) or int(shown) != profile.current_version:
        return Result(Outcome.STALE)
    try:
        change = plan(kind, form, profile, now)
    except ChangeInvalid as problem:
        return Result(Outcome.INVALID, problem=problem)
    return apply(directors, profile, change, via, now)


def apply(directors: DirectorStore, profile: Profile, change: Change, via: Via, now: datetime) -> Result:
    """Write `change` on condition that `profile` is what is stored, with its audit item."""
    at = now.isoformat(timespec="milliseconds")
    audit = {
        "pk": profile.director_id,
        "sk": keys.AUDIT(at, change.kind.value),
        "director_id": profile.director_id,
        "at": at,
        "who": "director",
        "change": change.kind.value,
        "via": via.to_item(),
        "before": change.before,
        "after": change.after,
        "asked_of_ops": list(change.asked_of_ops) or None,
        "version": profile.current_version + 1,
    }
    try:
        directors.change_profile(profile, change.after, audit, change.at_most_active)
    except ProfileChanged:
        logger.info("self-service change refused: profile changed", extra={"change": change.kind.value})
        return Result(Outcome.STALE, change)
    logger.info("self-service change applied", extra={"change": change.kind.value, "via": via.channel})
    return Result(Outcome.CHANGED, change)


def send_quietly(mailer: Mailer, email: Email) -> None:
    """A confirmation after the change is stored: a failed send is logged, and the change stands."""
    try:
        mailer.send(email)
    except EmailNotSent as error:
        logger.warning("self-service email not sent", extra={"kind": email.kind, "code": str(error)})


def decline_and_pause(
    requests: RequestStore,
    directors: DirectorStore,
    request_id: str,
    director_id: str,
    via: Via,
    now: datetime,
) -> tuple[lifecycle.Answer, Profile | None]:
    """Decline this offer and pause new offers for 14 days (a link or a PAUSE reply). The pause is
    written first, so the decline's acknowledgement reads it; it holds even when the offer can no
    longer be declined (filled, expired): the director asked for no more offers. Returns the answer
    to the offer and the profile as it stands."""
    profile = pause_new_offers(directors, director_id, via, now)
    answer = lifecycle.decline(requests, request_id, director_id, via=via.channel, now=now)
    return answer, profile


def pause_new_offers(directors: DirectorStore, director_id: str, via: Via, now: datetime) -> Profile | None:
    """Pause a director's offers for DECLINE_PAUSE, unless a pause as long (or longer) holds already."""
    for _ in range(PAUSE_ATTEMPTS):
        profile = directors.get_profile(director_id, consistent=True)
        if profile is None or _paused_long_enough(profile, now):
            return profile
        result = apply(directors, profile, decline_pause(profile, now), via, now)
        if result.outcome is Outcome.CHANGED:
            return directors.get_profile(director_id, consistent=True)
    return directors.get_profile(director_id, consistent=True)


def _paused_long_enough(profile: Profile, now: datetime) -> bool:
    if not profile.paused_at(now):
        return False
    ends = profile.paused_until
    return ends is None or datetime.fromisoformat(ends) >= now + DECLINE_PAUSE - PAUSE_SLACK
