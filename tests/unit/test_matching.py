"""The matching engine, table-driven: each hard filter with its reason code, each score component, teams.

Pure: candidates are built with `make_candidate` (one director's license in one state), no AWS.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from directormatch.matching.engine import (
    LICENSE_MARGIN,
    MAX_TEAM_SIZE,
    Exclusion,
    Need,
    Shortlist,
    Weights,
    rules,
    shortlist,
)
from directormatch.records import FeeSchedule, License
from tests.conftest import make_candidate

START = date.today() + timedelta(days=30)
NOW = datetime.now(UTC)
# Far enough ahead that a license or DEA registration with this date never fails a filter.
FAR = date(2099, 8, 31)
BASIC = frozenset({"aesthetics", "weight_loss"})
TX = rules.rule_for("TX")
# A state where NPs need no physician, so no NP limit applies there.
FULL_PRACTICE = next(r for r in rules.all_rules().values() if r.known and not r.np_collaboration_required)


def need(**overrides: Any) -> Need:
    fields_: dict[str, Any] = {
        "request_id": "R-1",
        "states": ("TX",),
        "modalities": BASIC,
        "start_by": START,
        "np": 0,
        "pa": 0,
        "controlled_substances": False,
    }
    fields_.update(overrides)
    return Need(**fields_)


def director(director_id: str, states: tuple[str, ...] = ("TX",), **overrides: Any) -> list[License]:
    """One director's candidates, one per state, sharing every profile field (as the ByState items do)."""
    base: dict[str, Any] = {
        "license_expires_on": FAR,
        "dea_expires_on": FAR,
        "licensed_states": states,
    }
    base.update(overrides)
    return [make_candidate(director_id=director_id, state=state, **base) for state in states]


def run(request: Need, candidates: list[License], size: int = 3, weights: Weights | None = None) -> Shortlist:
    return shortlist(request, candidates, size, NOW, weights)


def offered(result: Shortlist) -> list[str]:
    return [pick.director_id for pick in result.picks]


def component(result: Shortlist, director_id: str, name: str) -> float:
    pick = next(p for p in result.picks if p.director_id == director_id)
    return dict(pick.components)[name]


# --- hard filters -----------------------------------------------------------------------------------

FILTER_CASES: list[Any] = [
    pytest.param({"active": False}, {}, Exclusion.INACTIVE, id="inactive"),
    pytest.param({"paused": True}, {}, Exclusion.PAUSED, id="paused"),
    pytest.param(
        {"paused": True, "paused_until": NOW + timedelta(minutes=1)},
        {},
        Exclusion.PAUSED,
        id="paused-until-later",
    ),
    pytest.param({"excluded": True}, {}, Exclusion.EXCLUDED_OIG_SAM, id="oig-sam-excluded"),
    pytest.param(
        {"modalities": frozenset({"aesthetics"})},
        {},
        Exclusion.MODALITY_NOT_OFFERED,
        id="one-modality-missing",
    ),
    pytest.param(
        {"modalities": frozenset({"ketamine"})},
        {},
        Exclusion.MODALITY_NOT_OFFERED,
        id="other-modalities-only",
    ),
    pytest.param({"max_clinics": 5, "active_clinics": 5}, {}, Exclusion.NO_CAPACITY, id="full"),
    pytest.param({"max_clinics": 3, "active_clinics": 4}, {}, Exclusion.NO_CAPACITY, id="over-full"),
    pytest.param({"max_clinics": 0, "active_clinics": 0}, {}, Exclusion.NO_CAPACITY, id="takes-no-clinics"),
    pytest.param(
        {"malpractice_per_claim": 1_000_000, "malpractice_aggregate": 2_000_000},
        {"malpractice": "director_policy"},
        Exclusion.MALPRACTICE_BELOW_FLOOR,
        id="clinic-needs-director-coverage-below-floor",
    ),
    pytest.param({"license_status": "EXPIRED"}, {}, Exclusion.NO_ACTIVE_LICENSE, id="status-expired"),
    pytest.param({"license_status": "SUSPENDED"}, {}, Exclusion.NO_ACTIVE_LICENSE, id="status-suspended"),
    pytest.param({"license_status": "INACTIVE"}, {}, Exclusion.NO_ACTIVE_LICENSE, id="status-inactive"),
    pytest.param({"license_status": "REVOKED"}, {}, Exclusion.NO_ACTIVE_LICENSE, id="status-revoked"),
    pytest.param(
        {"license_expires_on": date.today() - timedelta(days=10)},
        {},
        Exclusion.NO_ACTIVE_LICENSE,
        id="active-status-but-date-passed",
    ),
    pytest.param(
        {"license_expires_on": START - timedelta(days=1)},
        {},
        Exclusion.NO_ACTIVE_LICENSE,
        id="expires-before-start",
    ),
    pytest.param({"license_expires_on": START}, {}, Exclusion.LICENSE_EXPIRING, id="expires-on-start"),
    pytest.param(
        {"license_expires_on": START + LICENSE_MARGIN - timedelta(days=1)},
        {},
        Exclusion.LICENSE_EXPIRING,
        id="expires-day-before-margin",
    ),
    pytest.param(
        {"dea_expires_on": None},
        {"controlled_substances": True},
        Exclusion.NO_DEA_REGISTRATION,
        id="controlled-no-dea",
    ),
    pytest.param(
        {"dea_expires_on": START + LICENSE_MARGIN - timedelta(days=1)},
        {"controlled_substances": True},
        Exclusion.NO_DEA_REGISTRATION,
        id="controlled-dea-expiring",
    ),
    pytest.param(
        {"dea_expires_on": date.today() - timedelta(days=1)},
        {"controlled_substances": True},
        Exclusion.NO_DEA_REGISTRATION,
        id="controlled-dea-expired",
    ),
    pytest.param(
        {"dea_expires_on": None, "modalities": frozenset({"ketamine"})},
        {"modalities": frozenset({"ketamine"})},
        Exclusion.NO_DEA_REGISTRATION,
        id="ketamine-no-dea",
    ),
    pytest.param(
        {"dea_expires_on": None, "modalities": frozenset({"addiction_medicine"})},
        {"modalities": frozenset({"addiction_medicine"})},
        Exclusion.NO_DEA_REGISTRATION,
        id="addiction-medicine-no-dea",
    ),
    pytest.param(
        {"supervising_np": TX.np_limit},
        {"np": 1},
        Exclusion.SUPERVISION_LIMIT,
        id="np-one-over-state-limit",
    ),
    pytest.param(
        {"supervising_pa": TX.pa_limit},
        {"pa": 1},
        Exclusion.SUPERVISION_LIMIT,
        id="pa-one-over-state-limit",
    ),
    pytest.param(
        {"supervising_np": 1, "supervising_pa": (TX.combined_limit or 0) - 1},
        {"np": 1},
        Exclusion.SUPERVISION_LIMIT,
        id="nps-and-pas-combined-over-state-limit",
    ),
]


@pytest.mark.parametrize(("bad", "request_overrides", "reason"), FILTER_CASES)
def test_shortlist_director_failing_one_filter_is_excluded_with_its_reason_code_and_good_one_offered(
    bad: dict[str, Any], request_overrides: dict[str, Any], reason: Exclusion
) -> None:
    # Given a request, a director failing exactly one filter and a good director beside them
    assert None not in (TX.np_limit, TX.pa_limit, TX.combined_limit)
    request = need(**request_overrides)
    shared = {
        "modalities": request.modalities,
        "malpractice_per_claim": 1_000_000,
        "malpractice_aggregate": 3_000_000,
    }
    candidates = director("D-BAD", **{**shared, **bad}) + director("D-GOOD", **shared)

    # When the shortlist is made
    result = run(request, candidates)

    # Then the bad director is counted once under the filter's reason code, and only the good one is offered
    assert result.excluded == {reason.value: 1}
    assert offered(result) == ["D-GOOD"]
    assert (result.candidates, result.eligible) == (2, 1)


PASSING_EDGES: list[Any] = [
    pytest.param(
        {"license_expires_on": START + LICENSE_MARGIN}, {}, id="license-expires-exactly-start-plus-30"
    ),
    pytest.param(
        {"dea_expires_on": START + LICENSE_MARGIN},
        {"controlled_substances": True},
        id="dea-expires-exactly-start-plus-30",
    ),
    pytest.param({"dea_expires_on": None}, {}, id="no-dea-when-nothing-controlled"),
    pytest.param({"max_clinics": 5, "active_clinics": 4}, {}, id="one-clinic-of-room"),
    pytest.param({"paused": True, "paused_until": NOW}, {}, id="pause-ended-just-now"),
    pytest.param(
        {"paused": False, "paused_until": NOW + timedelta(days=3)}, {}, id="resumed-before-the-date"
    ),
    pytest.param(
        {"modalities": frozenset({"aesthetics", "weight_loss", "ketamine"})}, {}, id="offers-more-than-asked"
    ),
    pytest.param({"supervising_np": (TX.np_limit or 0) - 1}, {"np": 1}, id="np-exactly-at-state-limit"),
    pytest.param({"supervising_pa": (TX.pa_limit or 0) - 1}, {"pa": 1}, id="pa-exactly-at-state-limit"),
    pytest.param(
        {"state": FULL_PRACTICE.state, "supervising_np": 100},
        {"states": (FULL_PRACTICE.state,), "np": 5},
        id="nps-uncounted-in-full-practice-state",
    ),
]


@pytest.mark.parametrize(("edge", "request_overrides"), PASSING_EDGES)
def test_shortlist_director_on_the_passing_side_of_a_filter_is_offered(
    edge: dict[str, Any], request_overrides: dict[str, Any]
) -> None:
    # Given a director exactly on the passing side of one filter
    request = need(**request_overrides)
    overrides = dict(edge)
    states = (overrides.pop("state"),) if "state" in overrides else ("TX",)

    # When the shortlist is made
    result = run(request, director("D-EDGE", states, **overrides))

    # Then nobody is excluded and the director is offered
    assert result.excluded == {}
    assert offered(result) == ["D-EDGE"]


def test_shortlist_director_failing_several_filters_is_counted_once_under_the_first() -> None:
    # Given an inactive, paused, excluded director without capacity or an active license
    candidates = director(
        "D-BAD", active=False, paused=True, excluded=True, active_clinics=5, license_status="EXPIRED"
    )

    # When the shortlist is made
    result = run(need(), candidates)

    # Then the director is counted once, under INACTIVE, and nobody is offered
    assert result.excluded == {"INACTIVE": 1}
    assert result.picks == ()
    assert result.candidates == 1


def test_shortlist_license_in_a_state_not_requested_is_ignored() -> None:
    # Given a director licensed only in OK, and a TX request
    candidates = director("D-OK", ("OK",))

    # When the shortlist is made
    result = run(need(), candidates)

    # Then the director is neither a candidate nor excluded
    assert (result.candidates, result.excluded, result.picks) == (0, {}, ())


def test_shortlist_director_failing_in_one_state_still_serves_the_other_in_a_team() -> None:
    # Given a TX+OK request; D-TX has an expired OK license, D-OK holds OK only
    candidates = director("D-TX", ("TX", "OK"))
    candidates[1] = make_candidate(
        director_id="D-TX",
        state="OK",
        license_expires_on=START - timedelta(days=1),
        licensed_states=("TX", "OK"),
    )
    candidates += director("D-OK", ("OK",))

    # When the shortlist is made
    result = run(need(states=("TX", "OK")), candidates)

    # Then nobody is excluded (each serves a state) and the two form a team with one state each
    assert result.excluded == {}
    assert result.team
    assert {p.director_id: p.states for p in result.picks} == {"D-TX": ("TX",), "D-OK": ("OK",)}


# --- score ------------------------------------------------------------------------------------------

SCORE_CASES: list[Any] = [
    pytest.param(
        "specialty_fit",
        {"specialties": frozenset({"dermatology"})},
        {"specialties": frozenset({"urology"})},
        id="specialty-fits-aesthetics",
    ),
    pytest.param(
        "experience",
        {"modality_years": {"aesthetics": 5, "weight_loss": 4}},
        {"modality_years": {"aesthetics": 1}},
        id="more-years-with-modality",
    ),
    pytest.param(
        "capacity",
        {"max_clinics": 5, "active_clinics": 0},
        {"max_clinics": 5, "active_clinics": 4},
        id="more-room-left",
    ),
    pytest.param(
        "responsiveness",
        {"response_rate": 0.95, "median_response_hours": 3.0},
        {"response_rate": 0.40, "median_response_hours": 3.0},
        id="answers-more-offers",
    ),
    pytest.param(
        "responsiveness",
        {"response_rate": 0.9, "median_response_hours": 1.0},
        {"response_rate": 0.9, "median_response_hours": 20.0},
        id="answers-faster",
    ),
    pytest.param(
        "fairness",
        {"last_offered_at": NOW - timedelta(days=30)},
        {"last_offered_at": NOW - timedelta(hours=1)},
        id="offered-long-ago-vs-just-now",
    ),
    pytest.param(
        "fairness",
        {"last_offered_at": None},
        {"last_offered_at": NOW - timedelta(days=2)},
        id="never-offered-vs-this-week",
    ),
    pytest.param(
        "malpractice",
        {"malpractice_per_claim": 1_000_000, "malpractice_aggregate": 3_000_000},
        {"malpractice_per_claim": 1_000_000, "malpractice_aggregate": 2_000_000},
        id="meets-1m-3m-vs-short-aggregate",
    ),
    pytest.param(
        "malpractice",
        {"malpractice_per_claim": 2_000_000, "malpractice_aggregate": 6_000_000},
        {"malpractice_per_claim": 500_000, "malpractice_aggregate": 1_500_000},
        id="above-floor-vs-below",
    ),
    pytest.param(
        "price",
        {"fees": FeeSchedule(base=800, per_np=200)},
        {"fees": FeeSchedule(base=1_500, per_np=200)},
        id="lower-fee",
    ),
]


@pytest.mark.parametrize(("name", "better", "worse"), SCORE_CASES)
@pytest.mark.parametrize("better_id", ["D-A", "D-Z"])
def test_shortlist_candidate_better_in_one_component_ranks_first(
    name: str, better: dict[str, Any], worse: dict[str, Any], better_id: str
) -> None:
    # Given two directors identical but for one attribute (ids swapped, so the tie-break cannot decide)
    worse_id = "D-Z" if better_id == "D-A" else "D-A"
    candidates = director(worse_id, **worse) + director(better_id, **better)

    # When the shortlist is made
    result = run(need(), candidates)

    # Then the better one ranks first, on that component alone
    assert offered(result) == [better_id, worse_id]
    assert component(result, better_id, name) > component(result, worse_id, name)
    differing = [
        n
        for n, _ in result.picks[0].components
        if component(result, better_id, n) != component(result, worse_id, n)
    ]
    assert differing == [name]


@pytest.mark.parametrize(("name", "better", "worse"), SCORE_CASES)
def test_shortlist_component_weighted_zero_no_longer_separates_candidates(
    name: str, better: dict[str, Any], worse: dict[str, Any]
) -> None:
    # Given the same two directors, and that component's weight set to 0
    candidates = director("D-WORSE", **worse) + director("D-BETTER", **better)
    weights = Weights(**{name: 0.0})

    # When the shortlist is made
    result = run(need(), candidates, weights=weights)

    # Then both score the same, the component counting 0 for each
    scores = {p.director_id: p.score for p in result.picks}
    assert scores["D-BETTER"] == scores["D-WORSE"]
    assert component(result, "D-BETTER", name) == component(result, "D-WORSE", name) == 0


def test_shortlist_weights_cover_every_component_the_score_reports() -> None:
    # Given a default shortlist
    result = run(need(), director("D-1"))

    # When its components are listed
    names = [name for name, _ in result.picks[0].components]

    # Then each one has a weight in Weights (so settings can tune every one)
    assert names == [f.name for f in fields(Weights)]


def test_shortlist_covering_all_states_scores_its_weight_and_zero_weight_removes_it() -> None:
    # Given a director covering both requested states
    request = need(states=("TX", "OK"))
    candidates = director("D-BOTH", ("TX", "OK"))

    # When the shortlist is made with default weights and with covers_all_states weighted 0
    default = run(request, candidates)
    unweighted = run(request, candidates, weights=Weights(covers_all_states=0.0))

    # Then the component counts its full weight, then nothing, and the score drops by exactly that
    assert component(default, "D-BOTH", "covers_all_states") == Weights().covers_all_states
    assert component(unweighted, "D-BOTH", "covers_all_states") == 0
    assert default.picks[0].score - unweighted.picks[0].score == pytest.approx(Weights().covers_all_states)


def test_shortlist_picks_at_most_size_best_first() -> None:
    # Given five eligible directors with decreasing room left
    candidates = [c for n in range(5) for c in director(f"D-{n}", max_clinics=5, active_clinics=n)]

    # When a shortlist of 3 is made
    result = run(need(), candidates, size=3)

    # Then the three with the most room are offered, best first, and all five counted eligible
    assert offered(result) == ["D-0", "D-1", "D-2"]
    assert result.eligible == 5
    assert [p.score for p in result.picks] == sorted((p.score for p in result.picks), reverse=True)


# --- several states: one director, else a team --------------------------------------------------------


def test_shortlist_one_director_covering_all_states_beats_better_scored_partial_ones() -> None:
    # Given a plain director covering TX, OK and LA, and excellent directors covering one state each
    excellent: dict[str, Any] = {
        "specialties": frozenset({"dermatology", "obesity_medicine"}),
        "modality_years": {"aesthetics": 9, "weight_loss": 9},
        "max_clinics": 10,
        "active_clinics": 0,
        "response_rate": 1.0,
        "median_response_hours": 1.0,
        "malpractice_per_claim": 1_000_000,
        "malpractice_aggregate": 3_000_000,
    }
    candidates = director("D-ALL", ("TX", "OK", "LA"))
    for state in ("TX", "OK", "LA"):
        candidates += director(f"D-{state}", (state,), **excellent)

    # When the shortlist is made, even with covering all states weighted 0
    results = [
        run(need(states=("TX", "OK", "LA")), candidates, weights=w)
        for w in (None, Weights(covers_all_states=0))
    ]

    # Then only the director covering all states is offered, alone
    for result in results:
        assert offered(result) == ["D-ALL"]
        assert not result.team
        assert result.picks[0].states == ("TX", "OK", "LA")
        assert "You cover all 3 requested states alone." in result.picks[0].reasons


def test_shortlist_nobody_covering_all_states_gives_a_team_with_states_assigned() -> None:
    # Given a TX+OK+LA request: D-TXOK holds TX and OK, D-LA holds LA, D-OK holds OK
    candidates = director("D-TXOK", ("TX", "OK")) + director("D-LA", ("LA",)) + director("D-OK", ("OK",))

    # When the shortlist is made
    result = run(need(states=("TX", "OK", "LA")), candidates)

    # Then a team covers every state once: D-TXOK for TX and OK, D-LA for LA
    assert result.team
    assert {p.director_id: p.states for p in result.picks} == {"D-TXOK": ("TX", "OK"), "D-LA": ("LA",)}
    assert all(p.team for p in result.picks)
    assert result.uncovered_states == ()
    assert "You would cover TX and OK, as part of a team." in result.picks[0].reasons
    # And only the states a member serves are explained on its offer
    assert not any("LA" in reason for reason in result.picks[0].reasons)


def test_shortlist_team_found_where_greedy_first_pick_would_need_four() -> None:
    # Given six states: D-WIDE holds one of each pair (greedy takes it first, then needs 3 more),
    # while three pair-holders cover everything between them
    wide = director("D-WIDE", ("TX", "OK", "LA"), specialties=frozenset({"dermatology"}))
    pairs = director("D-P1", ("TX", "NM")) + director("D-P2", ("OK", "AR")) + director("D-P3", ("LA", "MS"))
    states = ("TX", "NM", "OK", "AR", "LA", "MS")

    # When the shortlist is made
    result = run(need(states=states), wide + pairs)

    # Then the three pair-holders are offered as a team covering all six states
    assert result.team
    assert {p.director_id: p.states for p in result.picks} == {
        "D-P1": ("TX", "NM"),
        "D-P2": ("OK", "AR"),
        "D-P3": ("LA", "MS"),
    }
    assert result.uncovered_states == ()


def test_shortlist_team_never_exceeds_three_members() -> None:
    # Given four states, each held by a different director only
    states = ("TX", "OK", "LA", "NM")
    candidates = [c for state in states for c in director(f"D-{state}", (state,))]

    # When the shortlist is made
    result = run(need(states=states), candidates)

    # Then no team is offered (it would need four), and one state is reported uncovered
    assert MAX_TEAM_SIZE == 3
    assert result.picks == ()
    assert not result.team
    assert len(result.uncovered_states) == 1
    assert set(result.uncovered_states) <= set(states)


def test_shortlist_state_nobody_can_serve_gives_no_picks_and_lists_it_uncovered() -> None:
    # Given TX and OK covered, but the only WY director is paused
    candidates = (
        director("D-TX", ("TX",)) + director("D-OK", ("OK",)) + director("D-WY", ("WY",), paused=True)
    )

    # When a TX+OK+WY shortlist is made
    result = run(need(states=("TX", "OK", "WY")), candidates)

    # Then nobody is offered, WY is uncovered, and the paused director is counted
    assert result.picks == ()
    assert not result.team
    assert result.uncovered_states == ("WY",)
    assert result.excluded == {"PAUSED": 1}


def test_shortlist_empty_roster_gives_no_picks_and_every_state_uncovered() -> None:
    # Given nobody at all
    # When a TX+OK shortlist is made
    result = run(need(states=("TX", "OK")), [])

    # Then nothing is offered and both states are uncovered
    assert (result.picks, result.candidates, result.eligible) == ((), 0, 0)
    assert result.uncovered_states == ("TX", "OK")


# --- reasons ----------------------------------------------------------------------------------------


def test_shortlist_reasons_say_license_state_and_month_in_plain_words() -> None:
    # Given a director licensed in TX until 2099-08-31
    candidates = director("D-1", license_expires_on=FAR)

    # When the shortlist is made
    result = run(need(), candidates)

    # Then the offer says so
    assert result.picks[0].reasons[0] == "You are licensed in TX until 2099-08."


def test_shortlist_reasons_name_dea_registration_per_state_when_controlled_substances_needed() -> None:
    # Given a TX+OK director registered with the DEA in both, and a controlled-substances request
    candidates = director("D-1", ("TX", "OK"))

    # When the shortlist is made with and without controlled substances
    controlled = run(need(states=("TX", "OK"), controlled_substances=True), candidates)
    plain = run(need(states=("TX", "OK")), candidates)

    # Then the DEA registrations are explained only where they were needed
    assert "You hold DEA registrations in TX and OK." in controlled.picks[0].reasons
    assert not any("DEA" in reason for reason in plain.picks[0].reasons)


def test_shortlist_reasons_count_supervision_against_the_state_limit() -> None:
    # Given a TX director supervising 1 NP, and a clinic bringing 2 NPs
    assert TX.np_limit is not None
    candidates = director("D-1", supervising_np=1)

    # When the shortlist is made
    result = run(need(np=2), candidates)

    # Then the offer carries the state rule's own explanation: 3 of the TX limit
    _, expected = rules.supervision_room(TX, 1, 0, 2, 0)
    assert f"Supervision with this clinic: {expected}." in result.picks[0].reasons
    assert f"supervises 3 of {TX.np_limit} NPs allowed in TX" in expected


def test_shortlist_reasons_explain_fit_experience_capacity_response_and_cover() -> None:
    # Given a well-suited director
    candidates = director(
        "D-1",
        specialties=frozenset({"dermatology"}),
        modality_years={"aesthetics": 5},
        max_clinics=5,
        active_clinics=1,
        response_rate=0.9,
        median_response_hours=2.0,
        malpractice_per_claim=1_000_000,
        malpractice_aggregate=3_000_000,
    )

    # When the shortlist is made
    reasons = run(need(), candidates).picks[0].reasons

    # Then each strength is stated in plain words
    for expected in (
        "Your specialty (dermatology) fits aesthetics.",
        "You have 5 years of aesthetics experience.",
        "You direct 1 of the 5 clinics you take: room for 4 more.",
        "You answer 90% of offers, typically within 2 hours.",
        "Your malpractice coverage meets $1M/$3M.",
    ):
        assert expected in reasons


def test_shortlist_reasons_warn_when_malpractice_below_floor() -> None:
    # Given an under-insured director
    candidates = director("D-1", malpractice_per_claim=500_000, malpractice_aggregate=1_500_000)

    # When the shortlist is made
    reasons = run(need(), candidates).picks[0].reasons

    # Then the offer warns the clinic
    assert (
        "Your malpractice coverage is below $1M/$3M, so the clinic may need to provide a policy." in reasons
    )


# --- state flags for ops ------------------------------------------------------------------------------


def test_shortlist_strict_cpom_states_are_flagged_for_ops() -> None:
    # Given a request for a strict-CPOM state and one that is not
    relaxed = next(r.state for r in rules.all_rules().values() if not r.strict_cpom)
    assert TX.strict_cpom

    # When the shortlist is made
    result = run(need(states=("TX", relaxed)), director("D-1", ("TX", relaxed)))

    # Then only the strict one is flagged
    assert result.strict_cpom_states == ("TX",)


def test_shortlist_state_without_rule_is_reported_and_explained_on_the_offer() -> None:
    # Given a territory with no rule on file
    assert not rules.rule_for("PR").known

    # When a PR shortlist is made
    result = run(need(states=("PR",), np=2), director("D-PR", ("PR",)))

    # Then PR is reported for ops, and the offer says ops must check the rule
    assert result.states_without_rule == ("PR",)
    assert "Supervision with this clinic: no rule on file for PR: ops must check before introducing." in (
        result.picks[0].reasons
    )
    assert run(need(), director("D-1")).states_without_rule == ()
