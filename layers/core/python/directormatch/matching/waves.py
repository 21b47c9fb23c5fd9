"""Waves of offers: the first (with the MATCH item) and each next one, or NO_MATCH and an ops alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from directormatch import keys
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.aws.schedules import SweepSchedules
from directormatch.matching.engine import LICENSE_MARGIN, Need, Pick, Shortlist, Weights, shortlist
from directormatch.records import Alert, Match, Offer, Request
from directormatch.vocabulary import AlertKind, OfferStatus, RequestStatus

# A request still OFFERED this long after it was made is escalated to ops.
ESCALATE_AFTER = timedelta(hours=20)


def need_of(request: Request) -> Need:
    return Need(
        request_id=request.request_id,
        states=tuple(request.states),
        modalities=frozenset(request.modalities),
        start_by=date.fromisoformat(request.start_by),
        np=request.supervisees.np,
        pa=request.supervisees.pa,
        controlled_substances=request.controlled_substances,
        malpractice=request.malpractice,
        locations=request.locations,
        budget_monthly=request.budget_monthly,
    )


@dataclass(frozen=True)
class Wave:
    """One wave of offers being made: its number, the directors offered before, and its times."""

    number: int
    offered: frozenset[str]
    now: datetime
    offer_hours: int

    @property
    def created_at(self) -> str:
        return self.now.isoformat(timespec="milliseconds")

    @property
    def expires_at(self) -> str:
        return (self.now + timedelta(hours=self.offer_hours)).isoformat(timespec="seconds")


def match_request(
    request: Request,
    requests: RequestStore,
    directors: DirectorStore,
    wave_size: int,
    offer_hours: int,
    weights: Weights | None = None,
    now: datetime | None = None,
    schedules: SweepSchedules | None = None,
) -> tuple[Shortlist, bool]:
    """The first wave, with the MATCH item (or NO_MATCH and its alert when nobody can serve).
    Returns the shortlist and whether this call recorded it (False: a redelivery, nothing written)."""
    wave = Wave(1, frozenset(), now or datetime.now(UTC), offer_hours)
    return _send_wave(request, wave, requests, directors, wave_size, weights, schedules)


def next_wave(
    request: Request,
    offered: set[str],
    requests: RequestStore,
    directors: DirectorStore,
    wave_size: int,
    offer_hours: int,
    weights: Weights | None,
    now: datetime,
    schedules: SweepSchedules | None = None,
) -> tuple[Shortlist, bool]:
    """Offers to the next best directors not offered yet, or NO_MATCH when none is left; True when
    this call wrote them."""
    wave = Wave(request.current_wave + 1, frozenset(offered), now, offer_hours)
    return _send_wave(request, wave, requests, directors, wave_size, weights, schedules)


def _send_wave(
    request: Request,
    wave: Wave,
    requests: RequestStore,
    directors: DirectorStore,
    wave_size: int,
    weights: Weights | None,
    schedules: SweepSchedules | None,
) -> tuple[Shortlist, bool]:
    need = need_of(request)
    valid_until = (need.start_by + LICENSE_MARGIN).isoformat()
    found = [c for state in need.states for c in directors.available_in(state, need.modalities, valid_until)]
    candidates = [c for c in found if c.director_id not in wave.offered]
    result = shortlist(need, candidates, wave_size, wave.now, weights)
    if not result.picks:
        # Nobody to offer (rare): every license in the states, so the MATCH and the alert say why.
        found = [c for state in need.states for c in directors.candidates_in(state)]
        candidates = [c for c in found if c.director_id not in wave.offered]
        result = shortlist(need, candidates, wave_size, wave.now, weights)
    offers = [
        offer_item(request, pick, wave.number, wave.created_at, wave.expires_at) for pick in result.picks
    ]
    alerts: list[Alert] = [] if offers else [no_match_alert(need.request_id, result, wave.created_at)]
    if wave.number == 1:
        match = match_item(need.request_id, result, len(found), wave.created_at)
        status = RequestStatus.OFFERED if offers else RequestStatus.NO_MATCH
        expires_at = wave.expires_at if offers else None
        recorded = requests.record_wave(
            need.request_id, [match, *offers, *alerts], status, 1, wave.created_at, expires_at
        )
    elif offers:
        recorded = requests.record_wave(
            need.request_id, offers, RequestStatus.OFFERED, wave.number, wave.created_at, wave.expires_at
        )
    else:
        return result, requests.give_up(need.request_id, alerts[0], wave.number - 1, wave.created_at)
    if recorded and offers and schedules is not None:
        _schedule(request, wave, schedules)
    if recorded:
        licensed = {c.director_id: c.licensed_states or [c.license_state] for c in candidates}
        for pick in result.picks:
            directors.stamp_offered(pick.director_id, list(licensed[pick.director_id]), wave.created_at)
    return result, recorded


def _schedule(request: Request, wave: Wave, schedules: SweepSchedules) -> None:
    """The sweep's call when the wave expires; with the first wave, its call at the 20-hour SLA."""
    schedules.wave_expiry(request.request_id, wave.number, wave.expires_at)
    if wave.number == 1:
        schedules.sla(request.request_id, datetime.fromisoformat(request.created_at) + ESCALATE_AFTER)


def match_item(request_id: str, result: Shortlist, items_read: int, created_at: str) -> Match:
    return Match(
        pk=request_id,
        sk=keys.MATCH_SK,
        created_at=created_at,
        candidates=result.candidates,
        eligible=result.eligible,
        items_read=items_read,
        excluded=result.excluded,
        team=result.team,
        shortlist=[
            {"director_id": p.director_id, "score": p.score, "states": list(p.states), "wave": 1}
            for p in result.picks
        ],
        strict_cpom_states=list(result.strict_cpom_states),
        states_without_rule=list(result.states_without_rule),
        uncovered_states=list(result.uncovered_states),
        quote=result.quote,
    )


def offer_item(request: Request, pick: Pick, wave: int, created_at: str, expires_at: str) -> Offer:
    return Offer(
        pk=request.request_id,
        sk=keys.OFFER(pick.director_id),
        request_id=request.request_id,
        director_id=pick.director_id,
        offer_status=OfferStatus.OPEN,
        wave=wave,
        score=pick.score,
        score_components=dict(pick.components),
        reasons=list(pick.reasons),
        covers_states=list(pick.states),
        team=pick.team,
        created_at=created_at,
        expires_at=expires_at,
        summary=request.needs(),
        correlation_id=request.correlation_id,
        fee_monthly=pick.fee.total if pick.fee else None,
        fee_lines=pick.fee.stored() if pick.fee else None,
        reference=request.reference,
    )


def no_match_alert(request_id: str, result: Shortlist, created_at: str, reason: str | None = None) -> Alert:
    return Alert.of(
        request_id,
        AlertKind.NO_MATCH,
        created_at,
        candidates=result.candidates,
        excluded=result.excluded,
        uncovered_states=list(result.uncovered_states),
        lowest_available=result.quote.lowest_available,
        reason=reason,
    )
