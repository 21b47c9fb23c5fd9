"""Properties of the matching engine over generated rosters and requests (hypothesis).

Rosters mix every way a director can fail: statuses, expiries around the start date, DEA present,
absent or expiring, capacity, supervision counts near the state limits, modalities, paused, inactive
and excluded directors. The oracle below re-checks each offer from the candidates' own fields.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from directormatch.matching.engine import (
    LICENSE_MARGIN,
    MAX_TEAM_SIZE,
    Need,
    Shortlist,
    rules,
    shortlist,
)
from directormatch.records import License
from tests.conftest import make_candidate

START = date(2027, 3, 1)
NOW = datetime(2027, 1, 15, 12, tzinfo=UTC)
VALID_UNTIL = START + LICENSE_MARGIN
# TX/AL count NPs and PAs together, CA/GA have tight NP limits, WY is full practice, FL has only a PA
# limit, PR has no rule on file (the conservative default applies).
STATES = ("TX", "CA", "WY", "GA", "AL", "FL", "NY", "PR")
MODALITIES = ("aesthetics", "weight_loss", "ketamine", "iv_therapy", "addiction_medicine", "hormone_therapy")
# Days from start + 30: long lapsed, around the start (-30), around the margin (0), comfortably valid.
DAY_OFFSETS = (-430, -31, -30, -29, -1, 0, 1, 45, 600)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class Scenario:
    need: Need
    candidates: list[License]
    size: int


def _offset_date(offset: int) -> date:
    return VALID_UNTIL + timedelta(days=offset)


# Score-only profiles (specialty, experience, insurance, responsiveness, last offer): one draw picks one.
SCORE_PROFILES: tuple[dict[str, Any], ...] = (
    {},
    {
        "specialties": frozenset({"dermatology"}),
        "modality_years": {"aesthetics": 6, "weight_loss": 2},
        "malpractice_per_claim": 1_000_000,
        "malpractice_aggregate": 3_000_000,
        "response_rate": 0.9,
        "median_response_hours": 1.5,
    },
    {
        "specialties": frozenset({"psychiatry", "anesthesiology"}),
        "modality_years": {"ketamine": 4},
        "malpractice_per_claim": 2_000_000,
        "malpractice_aggregate": 6_000_000,
        "response_rate": 0.5,
        "median_response_hours": 30.0,
        "last_offered_at": NOW - timedelta(hours=5),
    },
    {
        "specialties": frozenset({"family_medicine"}),
        "modality_years": {"weight_loss": 12, "addiction_medicine": 1},
        "malpractice_per_claim": 500_000,
        "malpractice_aggregate": 1_500_000,
        "last_offered_at": NOW - timedelta(days=20),
    },
)


# A director is drawn fit for the request, then given flaws: each flaw
# breaks one filter, sometimes only just. Flaws combine, so directors failing several filters occur too.
PROFILE_FLAWS: dict[str, dict[str, Any]] = {
    "inactive": {"active": False},
    "paused": {"paused": True},
    "excluded": {"excluded": True},
    "full": {"max_clinics": 3, "active_clinics": 3},
    "over_full": {"max_clinics": 2, "active_clinics": 4},
    "takes_none": {"max_clinics": 0, "active_clinics": 0},
    "other_modalities": {"modalities": frozenset({"hormone_therapy"})},
    "one_modality_short": {},  # the first requested modality dropped (below)
}
LICENSE_FLAWS: dict[str, dict[str, Any]] = {
    "expired_status": {"license_status": "EXPIRED"},
    "suspended": {"license_status": "SUSPENDED"},
    "lapsed": {"license_expires_on": _offset_date(-430)},
    "expires_before_start": {"license_expires_on": _offset_date(-31)},
    "expires_on_start": {"license_expires_on": _offset_date(-30)},
    "expires_within_margin": {"license_expires_on": _offset_date(-1)},
    "no_dea": {"dea_expires_on": None},
    "dea_within_margin": {"dea_expires_on": _offset_date(-1)},
    "dea_lapsed": {"dea_expires_on": _offset_date(-430)},
    "nps_near_limit": {"supervising_np": 3},
    "pas_near_limit": {"supervising_pa": 3},
    "many_supervisees": {"supervising_np": 6, "supervising_pa": 6},
}
# How many flaws a director (then each license) gets: mostly none, so offers and teams are common.
FLAW_COUNTS = (0, 0, 0, 0, 1, 1, 2)
PASSING_DAYS = tuple(offset for offset in DAY_OFFSETS if offset >= 0)
# (max_clinics, active_clinics) with room left, the last with exactly one place.
ROOM = ((3, 0), (5, 1), (1, 0), (4, 3))


@st.composite
def directors(draw: st.DrawFn, director_id: str, need: Need) -> list[License]:
    """One director: profile fields shared by all their licenses, per-state license/DEA/supervision.

    States and modalities lean towards the request's (a roster's ByState query returns such directors).
    """
    states = draw(st.lists(st.sampled_from(need.states * 3 + STATES), min_size=1, max_size=4, unique=True))
    max_clinics, active_clinics = draw(st.sampled_from(ROOM))
    modalities = need.modalities | draw(st.sampled_from((frozenset(), frozenset({"iv_therapy"}))))
    profile: dict[str, Any] = {
        "director_id": director_id,
        "modalities": modalities,
        "max_clinics": max_clinics,
        "active_clinics": active_clinics,
        "licensed_states": tuple(sorted(states)),
        **draw(st.sampled_from(SCORE_PROFILES)),
    }
    for _ in range(draw(st.sampled_from(FLAW_COUNTS))):
        flaw = draw(st.sampled_from(sorted(PROFILE_FLAWS)))
        profile.update(PROFILE_FLAWS[flaw])
        if flaw == "one_modality_short":
            profile["modalities"] = modalities - {min(need.modalities)}
    candidates = []
    for state in states:
        license_: dict[str, Any] = {
            "license_status": "ACTIVE",
            "license_expires_on": _offset_date(draw(st.sampled_from(PASSING_DAYS))),
            "dea_expires_on": _offset_date(draw(st.sampled_from(PASSING_DAYS))),
        }
        for _ in range(draw(st.sampled_from(FLAW_COUNTS))):
            license_.update(LICENSE_FLAWS[draw(st.sampled_from(sorted(LICENSE_FLAWS)))])
        candidates.append(make_candidate(state=state, **{**profile, **license_}))
    return candidates


@st.composite
def scenarios(draw: st.DrawFn, max_states: int = 4) -> Scenario:
    need = Need(
        request_id=draw(st.sampled_from(("R-1", "R-2", "R-3"))),
        states=tuple(draw(st.lists(st.sampled_from(STATES), min_size=1, max_size=max_states, unique=True))),
        modalities=frozenset(draw(st.lists(st.sampled_from(MODALITIES), min_size=1, max_size=2))),
        start_by=START,
        np=draw(st.sampled_from((0, 0, 1, 2, 4))),
        pa=draw(st.sampled_from((0, 0, 1, 2, 4))),
        controlled_substances=draw(st.booleans()),
    )
    count = draw(st.integers(0, 10))
    candidates = [c for n in range(count) for c in draw(directors(f"D{n:03d}", need))]
    return Scenario(need, candidates, draw(st.integers(1, 5)))


def run(s: Scenario, candidates: Iterable[License] | None = None) -> Shortlist:
    return shortlist(s.need, s.candidates if candidates is None else candidates, s.size, NOW)


def held(s: Scenario, director_id: str, state: str) -> License:
    [candidate] = [c for c in s.candidates if c.director_id == director_id and c.license_state == state]
    return candidate


def day(iso: str | None) -> date | None:
    return date.fromisoformat(iso) if iso else None


def serves(need: Need, c: License) -> bool:
    """The oracle: may this director serve this state of this request? From the rules, not the engine."""
    needs_dea = need.controlled_substances or bool(need.modalities & {"ketamine", "addiction_medicine"})
    dea_until = day(c.dea_expires_on)
    return (
        c.active
        and not c.paused
        and not c.excluded
        and need.modalities <= set(c.modalities)
        and c.active_clinics < c.max_clinics
        and c.license_status == "ACTIVE"
        and date.fromisoformat(c.license_expires_on) >= VALID_UNTIL
        and (not needs_dea or (dea_until is not None and dea_until >= VALID_UNTIL))
        and rules.supervision_room(
            rules.rule_for(c.license_state), c.supervising_np, c.supervising_pa, need.np, need.pa
        )[0]
    )


def team_of_three_covers(states_by_director: dict[str, set[str]], wanted: Iterable[str]) -> bool:
    """Whether one director, or a team of at most MAX_TEAM_SIZE, together holds every wanted state."""
    return any(
        set().union(*team) == set(wanted)
        for size in range(1, MAX_TEAM_SIZE + 1)
        for team in itertools.combinations(states_by_director.values(), size)
    )


def offered_states(result: Shortlist) -> list[tuple[str, str]]:
    return [(pick.director_id, state) for pick in result.picks for state in pick.states]


@PROPERTY_SETTINGS
@given(scenarios())
def test_shortlist_any_roster_offers_only_active_licenses_lasting_start_plus_30_days(s: Scenario) -> None:
    # Given any roster and request
    # When the shortlist is made
    result = run(s)

    # Then each offered director holds an ACTIVE license lasting to start + 30 days in each state offered for
    for director_id, state in offered_states(result):
        assert state in s.need.states
        license_ = held(s, director_id, state)
        assert license_.license_status == "ACTIVE"
        assert date.fromisoformat(license_.license_expires_on) >= s.need.start_by + LICENSE_MARGIN


@PROPERTY_SETTINGS
@given(scenarios())
def test_shortlist_any_roster_never_exceeds_capacity_or_state_supervision_limits(s: Scenario) -> None:
    # Given any roster and request
    # When the shortlist is made
    result = run(s)

    # Then offered directors have room, and the clinic's NPs/PAs keep them within each state's limits
    for director_id, state in offered_states(result):
        c = held(s, director_id, state)
        assert c.active_clinics < c.max_clinics
        allowed, _ = rules.supervision_room(
            rules.rule_for(state), c.supervising_np, c.supervising_pa, s.need.np, s.need.pa
        )
        assert allowed
        # And they are available and offer every requested modality
        assert c.active
        assert not c.paused
        assert not c.excluded
        assert s.need.modalities <= set(c.modalities)


@PROPERTY_SETTINGS
@given(scenarios())
def test_shortlist_controlled_substances_reach_only_dea_registered_directors(s: Scenario) -> None:
    # Given any roster and request
    # When the shortlist is made
    result = run(s)

    # Then with controlled substances, each offered state has a DEA registration lasting the margin
    if s.need.controlled_substances or s.need.modalities & {"ketamine", "addiction_medicine"}:
        for director_id, state in offered_states(result):
            dea = day(held(s, director_id, state).dea_expires_on)
            assert dea is not None
            assert dea >= s.need.start_by + LICENSE_MARGIN
        for pick in result.picks:
            [dea] = [reason for reason in pick.reasons if "DEA" in reason]
            assert set(pick.states) <= set(re.findall(r"\b[A-Z]{2}\b", dea))


@PROPERTY_SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_shortlist_same_input_in_any_order_gives_the_same_shortlist(s: Scenario, rng: Any) -> None:
    # Given any roster and request, and the same candidates shuffled
    shuffled = list(s.candidates)
    rng.shuffle(shuffled)

    # When the shortlist is made twice, and from the shuffled list
    first, again, reordered = run(s), run(s), run(s, shuffled)

    # Then all three are identical
    assert first == again == reordered


@PROPERTY_SETTINGS
@given(scenarios())
def test_shortlist_team_covers_every_state_with_at_most_three_disjoint_members(s: Scenario) -> None:
    # Given any roster and request
    # When the shortlist is made
    result = run(s)

    # Then a team covers every requested state, has at most 3 members, each with their own states
    if result.team:
        assigned = [state for pick in result.picks for state in pick.states]
        assert sorted(assigned) == sorted(s.need.states)
        assert len(assigned) == len(set(assigned))
        assert 2 <= len(result.picks) <= MAX_TEAM_SIZE
        assert all(pick.team and pick.states for pick in result.picks)
    else:
        # And any other offer covers every requested state alone
        assert all(pick.states == s.need.states and not pick.team for pick in result.picks)
    # And offers exist exactly when no state is left uncovered
    assert bool(result.picks) == (not result.uncovered_states)


@PROPERTY_SETTINGS
@given(scenarios(max_states=6))
def test_shortlist_offers_someone_whenever_one_director_or_a_team_of_three_could_serve(s: Scenario) -> None:
    # Given any roster and request, and the states each director may serve by the oracle
    usable: dict[str, set[str]] = {}
    for c in s.candidates:
        if c.license_state in s.need.states and serves(s.need, c):
            usable.setdefault(c.director_id, set()).add(c.license_state)
    single = any(states == set(s.need.states) for states in usable.values())
    coverable = team_of_three_covers(usable, s.need.states)

    # When the shortlist is made
    result = run(s)

    # Then one director alone is preferred when one exists, else a team when one exists, else nothing
    assert bool(result.picks) == coverable
    assert result.team == (coverable and not single)
    # And every offered state is one the oracle says that director may serve
    for director_id, state in offered_states(result):
        assert state in usable[director_id]


@st.composite
def license_maps(draw: st.DrawFn) -> Scenario:
    """Only fit directors, each licensed in a few of 2 to 6 requested states: the cover is all that varies."""
    states = tuple(draw(st.lists(st.sampled_from(STATES), min_size=2, max_size=6, unique=True)))
    need = Need("R-1", states, frozenset({"aesthetics"}), START)
    candidates = []
    for n in range(draw(st.integers(1, 8))):
        held = draw(st.lists(st.sampled_from(states), min_size=1, max_size=3, unique=True))
        for state in held:
            candidates.append(
                make_candidate(
                    director_id=f"D{n:03d}",
                    state=state,
                    license_expires_on=_offset_date(600),
                    modalities=need.modalities,
                    max_clinics=3,
                    active_clinics=0,
                    licensed_states=sorted(held),
                    **draw(st.sampled_from(SCORE_PROFILES)),
                )
            )
    return Scenario(need, candidates, 3)


@PROPERTY_SETTINGS
@given(license_maps())
def test_shortlist_finds_a_team_of_three_whenever_the_licenses_allow_one(s: Scenario) -> None:
    # Given fit directors each licensed in some of the requested states
    held: dict[str, set[str]] = {}
    for c in s.candidates:
        held.setdefault(c.director_id, set()).add(c.license_state)
    coverable = team_of_three_covers(held, s.need.states)

    # When the shortlist is made
    result = run(s)

    # Then someone is offered exactly when one director or a team of at most 3 covers every state
    assert bool(result.picks) == coverable
    if result.team:
        assert sorted(state for pick in result.picks for state in pick.states) == sorted(s.need.states)


@PROPERTY_SETTINGS
@given(scenarios())
def test_shortlist_counts_add_up_and_picks_respect_the_wave_size(s: Scenario) -> None:
    # Given any roster and request
    # When the shortlist is made
    result = run(s)

    # Then every director with a license in a requested state is either excluded once or eligible
    directors = {c.director_id for c in s.candidates if c.license_state in s.need.states}
    assert result.candidates == len(directors)
    assert sum(result.excluded.values()) + result.eligible == result.candidates
    # And single directors are offered up to the wave size; a team is one offer of at most 3
    assert len(result.picks) <= (MAX_TEAM_SIZE if result.team else s.size)
    assert len({pick.director_id for pick in result.picks}) == len(result.picks)
    # And the picks are ranked best first
    if not result.team:
        assert [p.score for p in result.picks] == sorted((p.score for p in result.picks), reverse=True)
