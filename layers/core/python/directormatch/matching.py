"""Which directors fit a request, and why: pure functions, no I/O."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

# A license must stay valid this long after the clinic's start date.
LICENSE_MARGIN = timedelta(days=30)


class Exclusion(StrEnum):
    INACTIVE = "INACTIVE"
    PAUSED = "PAUSED"
    NO_ACTIVE_LICENSE = "NO_ACTIVE_LICENSE"
    LICENSE_EXPIRING = "LICENSE_EXPIRING"
    MODALITY_NOT_OFFERED = "MODALITY_NOT_OFFERED"
    NO_CAPACITY = "NO_CAPACITY"


@dataclass(frozen=True)
class License:
    """One director's license in one state, with the profile fields the state index carries."""

    director_id: str
    state: str
    status: str
    expires_on: date
    modalities: frozenset[str]
    active: bool
    paused: bool
    max_clinics: int
    active_clinics: int


@dataclass(frozen=True)
class Need:
    request_id: str
    states: tuple[str, ...]
    modalities: frozenset[str]
    start_by: date


@dataclass(frozen=True)
class Pick:
    director_id: str
    states: tuple[str, ...]
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Shortlist:
    picks: tuple[Pick, ...]
    candidates: int
    excluded: dict[str, int] = field(default_factory=dict)


def shortlist(need: Need, licenses: Iterable[License], size: int) -> Shortlist:
    """Rank every director holding a license in a requested state; keep the best `size`."""
    by_director: dict[str, list[License]] = defaultdict(list)
    for lic in licenses:
        if lic.state in need.states:
            by_director[lic.director_id].append(lic)

    excluded: Counter[str] = Counter()
    picks: list[Pick] = []
    for director_id, held in by_director.items():
        usable, reason = _usable_licenses(need, held)
        if reason:
            excluded[reason] += 1
            continue
        picks.append(_pick(need, director_id, usable))

    picks.sort(key=lambda p: (-p.score, _rotation(need.request_id, p.director_id)))
    return Shortlist(picks=tuple(picks[:size]), candidates=len(by_director), excluded=dict(excluded))


def _usable_licenses(need: Need, held: list[License]) -> tuple[list[License], Exclusion | None]:
    profile = held[0]
    if not profile.active:
        return [], Exclusion.INACTIVE
    if profile.paused:
        return [], Exclusion.PAUSED
    if not need.modalities <= profile.modalities:
        return [], Exclusion.MODALITY_NOT_OFFERED
    if profile.active_clinics >= profile.max_clinics:
        return [], Exclusion.NO_CAPACITY
    active = [lic for lic in held if lic.status == "ACTIVE"]
    if not active:
        return [], Exclusion.NO_ACTIVE_LICENSE
    lasting = [lic for lic in active if lic.expires_on >= need.start_by + LICENSE_MARGIN]
    if not lasting:
        return [], Exclusion.LICENSE_EXPIRING
    return sorted(lasting, key=lambda lic: need.states.index(lic.state)), None


def _pick(need: Need, director_id: str, usable: list[License]) -> Pick:
    profile = usable[0]
    room = profile.max_clinics - profile.active_clinics
    coverage = len(usable) / len(need.states)
    score = round(100 * coverage + 5 * min(room, 4), 2)
    reasons = [f"Licensed in {lic.state} until {lic.expires_on:%Y-%m}" for lic in usable]
    reasons.append("Offers " + ", ".join(sorted(m.replace("_", " ") for m in need.modalities)))
    reasons.append(f"Has room for {room} more clinic{'s' if room != 1 else ''}")
    return Pick(director_id, tuple(lic.state for lic in usable), score, tuple(reasons))


def _rotation(request_id: str, director_id: str) -> str:
    """Stable tie-break that differs per request, so equal scores do not always favour one director."""
    return hashlib.sha256(f"{request_id}:{director_id}".encode()).hexdigest()
