"""Which directors may serve a request, how well they fit, and why: pure functions, no I/O.

Input is what the Directors ByState index holds: one LICENSE record per director per requested
state, the director's filters copied onto it. Hard filters exclude (each with a reason code,
counted once per director); the score ranks the rest; every pick carries reasons in plain words.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property

from directormatch.matching import rules
from directormatch.matching.fees import Fee, Scope, median_dollars, monthly_fee, monthly_total
from directormatch.matching.specialties import SPECIALTY_FIT
from directormatch.records import DirectorFilters, License, Quote

# A license or DEA registration must stay valid this long after the clinic's start date.
LICENSE_MARGIN = timedelta(days=30)
MALPRACTICE_FLOOR = (1_000_000, 3_000_000)
FAIRNESS_WINDOW = timedelta(days=7)
FAST_RESPONSE_HOURS = 2.0
SLOW_RESPONSE_HOURS = 24.0
EXPERIENCE_CAP_YEARS = 5
MAX_TEAM_SIZE = 3

# Modalities whose usual treatments need a DEA registration in the clinic's state.
CONTROLLED_MODALITIES = frozenset({"ketamine", "addiction_medicine"})


class Exclusion(StrEnum):
    """Why a director was not offered, in the order the filters run."""

    INACTIVE = "INACTIVE"
    PAUSED = "PAUSED"
    EXCLUDED_OIG_SAM = "EXCLUDED_OIG_SAM"
    MODALITY_NOT_OFFERED = "MODALITY_NOT_OFFERED"
    NO_CAPACITY = "NO_CAPACITY"
    MALPRACTICE_BELOW_FLOOR = "MALPRACTICE_BELOW_FLOOR"
    NO_ACTIVE_LICENSE = "NO_ACTIVE_LICENSE"
    LICENSE_EXPIRING = "LICENSE_EXPIRING"
    NO_DEA_REGISTRATION = "NO_DEA_REGISTRATION"
    SUPERVISION_LIMIT = "SUPERVISION_LIMIT"
    OVER_BUDGET = "OVER_BUDGET"


@dataclass(frozen=True)
class Weights:
    specialty_fit: float = 20.0
    experience: float = 15.0
    covers_all_states: float = 25.0
    capacity: float = 10.0
    responsiveness: float = 15.0
    fairness: float = 10.0
    malpractice: float = 5.0
    price: float = 10.0


@dataclass(frozen=True)
class Need:
    request_id: str
    states: tuple[str, ...]
    modalities: frozenset[str]
    start_by: date
    np: int = 0
    pa: int = 0
    controlled_substances: bool = False
    # "director_policy": the clinic needs the director to bring coverage meeting $1M/$3M.
    malpractice: str = "no_preference"
    locations: int = 1
    budget_monthly: int | None = None

    @property
    def needs_dea(self) -> bool:
        return self.controlled_substances or bool(self.modalities & CONTROLLED_MODALITIES)

    def fee(self, profile: DirectorFilters, states: int) -> Fee | None:
        """A director's itemised monthly fee for serving `states` of this request; None without a schedule."""
        return None if profile.fees is None else monthly_fee(profile.fees, self._scope(states))

    def fee_total(self, profile: DirectorFilters, states: int) -> int | None:
        """The same fee's total alone."""
        return None if profile.fees is None else monthly_total(profile.fees, self._scope(states))

    def _scope(self, states: int) -> Scope:
        # One Scope per number of states: the matcher prices every eligible director of a request.
        scope = self._scopes.get(states)
        if scope is None:
            scope = self._scopes[states] = Scope(states, self.np, self.pa, self.locations, self.needs_dea)
        return scope

    @cached_property
    def _scopes(self) -> dict[int, Scope]:
        return {}


@dataclass(frozen=True)
class Pick:
    director_id: str
    states: tuple[str, ...]
    score: float
    components: tuple[tuple[str, float], ...]
    reasons: tuple[str, ...]
    team: bool = False
    fee: Fee | None = None


@dataclass(frozen=True)
class Shortlist:
    picks: tuple[Pick, ...]
    candidates: int
    excluded: dict[str, int] = field(default_factory=dict)
    team: bool = False
    eligible: int = 0
    strict_cpom_states: tuple[str, ...] = ()
    states_without_rule: tuple[str, ...] = ()
    uncovered_states: tuple[str, ...] = ()
    quote: Quote = field(default_factory=Quote)


@dataclass(frozen=True)
class _Eligible:
    """A director who passed every filter in at least one requested state."""

    director_id: str
    profile: DirectorFilters
    usable: tuple[License, ...]
    state_reasons: tuple[str, ...]
    # The monthly fee for every usable state (None: no fee schedule on file).
    fee: int | None = None


def shortlist(
    need: Need, candidates: Iterable[License], size: int, now: datetime, weights: Weights | None = None
) -> Shortlist:
    """Best `size` directors covering every requested state alone, else a team of up to 3 that does."""
    weights = weights or Weights()
    by_director: dict[str, list[License]] = defaultdict(list)
    for candidate in candidates:
        if candidate.license_state in need.states:
            by_director[candidate.director_id].append(candidate)

    excluded: Counter[str] = Counter()
    eligible: list[_Eligible] = []
    over_budget: list[int] = []
    for director_id in sorted(by_director):
        outcome = _evaluate(need, director_id, by_director[director_id], now)
        if isinstance(outcome, Exclusion):
            excluded[outcome] += 1
        elif _over_budget(need, outcome.fee):
            excluded[Exclusion.OVER_BUDGET] += 1
            if outcome.fee is not None and len(outcome.usable) == len(need.states):
                over_budget.append(outcome.fee)
        else:
            eligible.append(outcome)

    prices = _price_range(eligible)
    scores = {e.director_id: _score(need, e, now, weights, prices) for e in eligible}
    ranked = sorted(
        eligible, key=lambda e: (-scores[e.director_id][0], _rotation(need.request_id, e.director_id))
    )
    singles = [e for e in ranked if len(e.usable) == len(need.states)]
    if singles:
        assignments = [(e, tuple(c.license_state for c in e.usable)) for e in singles[:size]]
    else:
        assignments = _team(need, ranked)
    team = len(need.states) > 1 and not singles
    covered = {state for _, states in assignments for state in states}
    complete = covered >= set(need.states)
    picks = tuple(_pick(need, e, states, scores[e.director_id], team) for e, states in assignments)
    if complete and team and _over_budget(need, _team_total(picks)):
        excluded[Exclusion.OVER_BUDGET] += len(picks)
        over_budget.append(_team_total(picks) or 0)
        picks, complete = (), False
    state_rules = [rules.rule_for(state) for state in need.states]
    return Shortlist(
        picks=picks if complete else (),
        candidates=len(by_director),
        excluded=dict(sorted(excluded.items())),
        team=team and complete,
        eligible=len(eligible),
        strict_cpom_states=tuple(r.state for r in state_rules if r.strict_cpom),
        states_without_rule=tuple(r.state for r in state_rules if not r.known),
        uncovered_states=tuple(s for s in need.states if s not in covered),
        quote=_quote(need, picks if complete else (), team, singles or ranked, over_budget),
    )


def _over_budget(need: Need, total: int | None) -> bool:
    return need.budget_monthly is not None and total is not None and total > need.budget_monthly


def _team_total(picks: tuple[Pick, ...]) -> int | None:
    """A team's fee, the sum of its members'; None when a member has no fee schedule."""
    fees = [p.fee for p in picks]
    return sum(fee.total for fee in fees if fee) if all(fees) else None


def _quote(
    need: Need, picks: tuple[Pick, ...], team: bool, priced: list[_Eligible], over_budget: list[int]
) -> Quote:
    """The range over the options offered (a team is one option), the median over `priced`."""
    if team:
        offered = [total] if (total := _team_total(picks)) is not None else []
    else:
        offered = [p.fee.total for p in picks if p.fee]
    totals = [e.fee for e in priced if e.fee is not None]
    return Quote(
        eligible=len(totals),
        low=min(offered, default=None),
        high=max(offered, default=None),
        median=median_dollars(totals),
        budget_monthly=need.budget_monthly,
        lowest_available=min(over_budget) if over_budget and not picks else None,
    )


def _price_range(eligible: list[_Eligible]) -> tuple[int, int] | None:
    totals = [e.fee for e in eligible if e.fee is not None]
    return (min(totals), max(totals)) if totals else None


def _evaluate(need: Need, director_id: str, held: list[License], now: datetime) -> _Eligible | Exclusion:
    profile = held[0]
    director_level = _director_exclusion(need, profile, now)
    if director_level is not None:
        return director_level
    usable: list[License] = []
    reasons: list[str] = []
    first_failure: Exclusion | None = None
    for candidate in sorted(held, key=lambda c: need.states.index(c.license_state)):
        failure, reason = _state_check(need, candidate)
        if failure is None:
            usable.append(candidate)
            reasons.append(reason)
        elif first_failure is None:
            first_failure = failure
    if not usable:
        return first_failure or Exclusion.NO_ACTIVE_LICENSE
    return _Eligible(
        director_id, profile, tuple(usable), tuple(reasons), need.fee_total(profile, len(usable))
    )


def _director_exclusion(need: Need, profile: DirectorFilters, now: datetime) -> Exclusion | None:
    if not profile.active:
        return Exclusion.INACTIVE
    if profile.paused_at(now):
        return Exclusion.PAUSED
    if profile.excluded:
        return Exclusion.EXCLUDED_OIG_SAM
    if not need.modalities.issubset(profile.modalities):
        return Exclusion.MODALITY_NOT_OFFERED
    if profile.active_clinics >= profile.max_clinics:
        return Exclusion.NO_CAPACITY
    if need.malpractice == "director_policy" and not _meets_malpractice_floor(profile):
        return Exclusion.MALPRACTICE_BELOW_FLOOR
    return None


def _state_check(need: Need, c: License) -> tuple[Exclusion | None, str]:
    """Filters that hold per state; on success, the supervision reason for the explanation."""
    expires_on = date.fromisoformat(c.license_expires_on)
    if c.license_status != "ACTIVE" or expires_on < need.start_by:
        return Exclusion.NO_ACTIVE_LICENSE, ""
    valid_until = need.start_by + LICENSE_MARGIN
    if expires_on < valid_until:
        return Exclusion.LICENSE_EXPIRING, ""
    if need.needs_dea and (not c.dea_expires_on or date.fromisoformat(c.dea_expires_on) < valid_until):
        return Exclusion.NO_DEA_REGISTRATION, ""
    allowed, reason = rules.supervision_room(
        rules.rule_for(c.license_state), c.supervising_np, c.supervising_pa, need.np, need.pa
    )
    if not allowed:
        return Exclusion.SUPERVISION_LIMIT, reason
    return None, reason


def _team(need: Need, ranked: list[_Eligible]) -> list[tuple[_Eligible, tuple[str, ...]]]:
    """A team of at most MAX_TEAM_SIZE covering every state: greedy, else a search for any such cover.

    Greedy can miss a cover that exists (it takes a director covering many states whose leftovers then
    need one director each), so when it fails the search decides. Returns each member with the states
    assigned to them; an incomplete team when no cover exists.
    """
    greedy = _greedy_team(need, ranked)
    if {state for _, states in greedy for state in states} >= set(need.states):
        return greedy
    return _searched_team(need, ranked) or greedy


def _searched_team(need: Need, ranked: list[_Eligible]) -> list[tuple[_Eligible, tuple[str, ...]]]:
    """Smallest cover of at most MAX_TEAM_SIZE members, preferring better-ranked members; [] if none.

    Only the best-ranked director per distinct set of usable states is tried, and sets inside another
    set are dropped: neither changes whether a cover exists, and both keep the search small.
    """
    best: dict[frozenset[str], _Eligible] = {}
    for e in ranked:
        best.setdefault(frozenset(c.license_state for c in e.usable), e)
    options = [(states, e) for states, e in best.items() if not any(states < other for other in best)]
    order = {e.director_id: i for i, e in enumerate(ranked)}
    options.sort(key=lambda option: order[option[1].director_id])

    def cover(uncovered: frozenset[str], slots: int) -> list[_Eligible] | None:
        if not uncovered:
            return []
        if slots == 0:
            return None
        # Someone must cover the state with the fewest options: branch on those only.
        rarest = min(
            uncovered, key=lambda s: (sum(s in states for states, _ in options), need.states.index(s))
        )
        for states, e in options:
            if rarest in states:
                rest = cover(uncovered - states, slots - 1)
                if rest is not None:
                    return [e, *rest]
        return None

    for size in range(2, MAX_TEAM_SIZE + 1):
        members = cover(frozenset(need.states), size)
        if members is not None:
            uncovered = list(need.states)
            team: list[tuple[_Eligible, tuple[str, ...]]] = []
            for e in members:
                usable = {c.license_state for c in e.usable}
                team.append((e, tuple(s for s in uncovered if s in usable)))
                uncovered = [s for s in uncovered if s not in usable]
            return team
    return []


def _greedy_team(need: Need, ranked: list[_Eligible]) -> list[tuple[_Eligible, tuple[str, ...]]]:
    """Greedy cover: each step takes the director adding the most uncovered states, best score first."""
    uncovered = list(need.states)
    team: list[tuple[_Eligible, tuple[str, ...]]] = []
    remaining = list(ranked)
    while uncovered and len(team) < MAX_TEAM_SIZE and remaining:
        # max() keeps the first of equal gains, and `remaining` is in score order.
        best = max(remaining, key=lambda e: len(set(uncovered) & {c.license_state for c in e.usable}))
        gained = tuple(s for s in uncovered if s in {c.license_state for c in best.usable})
        if not gained:
            break
        team.append((best, gained))
        remaining.remove(best)
        uncovered = [s for s in uncovered if s not in gained]
    return team


def _score(
    need: Need, e: _Eligible, now: datetime, weights: Weights, prices: tuple[int, int] | None
) -> tuple[float, tuple[tuple[str, float], ...]]:
    p = e.profile
    fits = [m for m in need.modalities if _fits(m, p)]
    years = p.modality_years
    experience = sum(min(years.get(m, 0), EXPERIENCE_CAP_YEARS) for m in need.modalities)
    components = {
        "specialty_fit": weights.specialty_fit * len(fits) / len(need.modalities),
        "experience": weights.experience * experience / (EXPERIENCE_CAP_YEARS * len(need.modalities)),
        "covers_all_states": weights.covers_all_states * (len(e.usable) == len(need.states)),
        "capacity": weights.capacity * (p.max_clinics - p.active_clinics) / max(p.max_clinics, 1),
        "responsiveness": weights.responsiveness * _responsiveness(p),
        "fairness": -weights.fairness * _recently_offered(p, now),
        "malpractice": weights.malpractice * _meets_malpractice_floor(p),
        "price": weights.price * _cheapness(e.fee, prices),
    }
    rounded = tuple((name, round(value, 2)) for name, value in components.items())
    return round(sum(components.values()), 2), rounded


def _cheapness(fee: int | None, prices: tuple[int, int] | None) -> float:
    """1.0 for the lowest fee among the eligible, 0 for the highest; unknown fee counts as middling."""
    if fee is None or prices is None:
        return 0.5
    low, high = prices
    return 1.0 if high == low else (high - fee) / (high - low)


def _responsiveness(p: DirectorFilters) -> float:
    """1.0 answers everything within 2 hours; unknown (new director) counts as middling."""
    if p.response_rate is None:
        return 0.5
    hours = p.median_response_hours if p.median_response_hours is not None else SLOW_RESPONSE_HOURS
    speed = 1 - min(max(hours - FAST_RESPONSE_HOURS, 0) / (SLOW_RESPONSE_HOURS - FAST_RESPONSE_HOURS), 1)
    return p.response_rate * (0.5 + 0.5 * speed)


def _recently_offered(p: DirectorFilters, now: datetime) -> float:
    """1.0 when offered just now, fading to 0 over the fairness window."""
    if not p.last_offered_at:
        return 0.0
    age = now - datetime.fromisoformat(p.last_offered_at)
    return max(0.0, 1 - age / FAIRNESS_WINDOW)


def _fits(modality: str, p: DirectorFilters) -> bool:
    return not SPECIALTY_FIT.get(modality, frozenset()).isdisjoint(p.specialties)


def _meets_malpractice_floor(p: DirectorFilters) -> bool:
    per_claim, aggregate = MALPRACTICE_FLOOR
    return p.malpractice_per_claim >= per_claim and p.malpractice_aggregate >= aggregate


def _pick(
    need: Need,
    e: _Eligible,
    states: tuple[str, ...],
    scored: tuple[float, tuple[tuple[str, float], ...]],
    team: bool,
) -> Pick:
    score, components = scored
    return Pick(
        director_id=e.director_id,
        states=states,
        score=score,
        components=components,
        reasons=tuple(_reasons(need, e, states, team)),
        team=team,
        fee=need.fee(e.profile, len(states)),
    )


def _reasons(need: Need, e: _Eligible, states: tuple[str, ...], team: bool) -> list[str]:
    """Why this director, in sentences addressed to them: one per kind of reason, states grouped."""
    p = e.profile
    serving = [
        (c, reason) for c, reason in zip(e.usable, e.state_reasons, strict=True) if c.license_state in states
    ]
    until = [(c.license_state, f"{date.fromisoformat(c.license_expires_on):%Y-%m}") for c, _ in serving]
    if len(until) == 1:
        reasons = [f"You are licensed in {until[0][0]} until {until[0][1]}."]
    else:
        reasons = [f"You are licensed in {_and([f'{s} (until {month})' for s, month in until])}."]
    if need.needs_dea:
        registrations = "a DEA registration" if len(serving) == 1 else "DEA registrations"
        reasons.append(f"You hold {registrations} in {_and([c.license_state for c, _ in serving])}.")
    supervision = [reason for _, reason in serving if reason]
    if supervision:
        reasons.append(f"Supervision with this clinic: {'; '.join(supervision)}.")
    fits = sorted(m for m in need.modalities if _fits(m, p))
    if fits:
        specialties = _and(sorted(s.replace("_", " ") for s in p.specialties))
        reasons.append(f"Your specialty ({specialties}) fits {_and([m.replace('_', ' ') for m in fits])}.")
    years = [
        f"{count} year{'s' if count != 1 else ''} of {modality.replace('_', ' ')} experience"
        for modality in sorted(need.modalities)
        if (count := p.modality_years.get(modality))
    ]
    if years:
        reasons.append(f"You have {_and(years)}.")
    if len(need.states) > 1:
        if team:
            reasons.append(f"You would cover {_and(list(states))}, as part of a team.")
        else:
            reasons.append(f"You cover all {len(need.states)} requested states alone.")
    room = p.max_clinics - p.active_clinics
    reasons.append(
        f"You direct {p.active_clinics} of the {p.max_clinics} clinics you take: room for {room} more."
    )
    if p.response_rate is not None:
        hours = p.median_response_hours
        speed = f", typically within {hours:g} hours" if hours is not None else ""
        reasons.append(f"You answer {p.response_rate:.0%} of offers{speed}.")
    if _meets_malpractice_floor(p):
        reasons.append("Your malpractice coverage meets $1M/$3M.")
    else:
        reasons.append(
            "Your malpractice coverage is below $1M/$3M, so the clinic may need to provide a policy."
        )
    return reasons


def _and(words: list[str]) -> str:
    """'TX', 'TX and OK', 'TX, OK and NM'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _rotation(request_id: str, director_id: str) -> str:
    """Stable tie-break that differs per request, so equal scores do not always favour one director."""
    return hashlib.sha256(f"{request_id}:{director_id}".encode()).hexdigest()
