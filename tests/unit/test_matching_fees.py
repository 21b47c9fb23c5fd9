"""The engine's prices: each eligible director's fee, the budget filter, the price score and the quote.

Pure: candidates from `make_candidate`. Expected fees come from tests.fee_oracle (the formula
of docs/fees.md written out on its own), not from matching.fees.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime
from typing import Any

from directormatch.matching.engine import Exclusion, Need, Shortlist, Weights, shortlist
from directormatch.records import FeeSchedule, License
from tests.conftest import make_candidate
from tests.fee_oracle import fee_by_hand

NOW = datetime(2027, 1, 15, 12, tzinfo=UTC)
START = date(2027, 3, 1)
FAR = date(2099, 8, 31)


def need(**overrides: Any) -> Need:
    fields: dict[str, Any] = {
        "request_id": "R-1",
        "states": ("TX",),
        "modalities": frozenset({"aesthetics"}),
        "start_by": START,
        "np": 3,
        "pa": 1,
        "locations": 2,
    }
    return Need(**{**fields, **overrides})


def director(
    director_id: str, fees: FeeSchedule | None, states: tuple[str, ...] = ("TX",), **more: Any
) -> list[License]:
    profile = {
        "license_expires_on": FAR,
        "dea_expires_on": FAR,
        "licensed_states": states,
        "fees": fees,
        **more,
    }
    return [make_candidate(director_id=director_id, state=state, **profile) for state in states]


def schedule(base: int, **more: int) -> FeeSchedule:
    rates = {"per_np": 200, "per_pa": 250, "per_additional_state": 500, "per_additional_location": 300}
    return FeeSchedule(base=base, **{**rates, **more})


def by_hand(s: FeeSchedule, request: Need, states: int) -> int:
    controlled = request.controlled_substances or "ketamine" in request.modalities
    return fee_by_hand(s.to_item(), request.np, request.pa, states, request.locations, controlled)


def run(request: Need, candidates: list[License], size: int = 3, weights: Weights | None = None) -> Shortlist:
    return shortlist(request, candidates, size, NOW, weights)


def test_shortlist_prices_each_pick_itemised_for_the_exact_request() -> None:
    # Given a director with a schedule and a request for 3 NPs, 1 PA, 2 locations, controlled
    fees = schedule(900, controlled_premium=400, chart_review_percent=10, chart_review_fee=150)
    request = need(controlled_substances=True)

    # When it is matched
    result = run(request, director("D-1", fees))

    # Then the pick's fee is the schedule applied to the request, line by line
    fee = result.picks[0].fee
    assert fee is not None
    assert fee.total == by_hand(fees, request, 1) == 900 + 600 + 250 + 300 + 400 + 150
    assert [label for label, _ in fee.lines] == [
        "Base fee (one state, one location)",
        "3 supervised NPs at $200",
        "1 supervised PA at $250",
        "1 additional location at $300",
        "Controlled substances",
        "Chart review (10% of charts)",
    ]


def test_shortlist_director_over_the_budget_is_excluded_as_over_budget() -> None:
    # Given a budget between two directors' fees for this request
    cheap, dear = schedule(700), schedule(1_500)
    request = need(budget_monthly=by_hand(cheap, need(), 1))

    # When matched
    result = run(request, [*director("D-CHEAP", cheap), *director("D-DEAR", dear)])

    # Then the one at the budget exactly is offered, the other counted under OVER_BUDGET
    assert [p.director_id for p in result.picks] == ["D-CHEAP"]
    assert result.excluded == {Exclusion.OVER_BUDGET: 1}
    assert result.quote.lowest_available is None
    assert result.quote.budget_monthly == request.budget_monthly


def test_shortlist_budget_below_everyone_records_the_lowest_fee_available() -> None:
    # Given a budget below every director's fee
    schedules = {"D-1": schedule(1_100), "D-2": schedule(950), "D-3": schedule(2_000)}
    candidates = [c for d, s in schedules.items() for c in director(d, s)]

    # When matched
    result = run(need(budget_monthly=500), candidates)

    # Then nobody is offered, all are OVER_BUDGET, and the lowest fee is kept for the clinic
    assert result.picks == ()
    assert result.excluded == {Exclusion.OVER_BUDGET: 3}
    assert result.quote.lowest_available == by_hand(schedules["D-2"], need(), 1)


def test_shortlist_director_without_schedule_is_not_excluded_by_budget_nor_quoted() -> None:
    # Given a priced director and one without a fee schedule
    candidates = [*director("D-PRICED", schedule(800)), *director("D-UNPRICED", None)]

    # When matched with a budget
    result = run(need(budget_monthly=100_000), candidates)

    # Then both are offered, and the quote counts only the priced one
    assert {p.director_id for p in result.picks} == {"D-PRICED", "D-UNPRICED"}
    assert result.quote.eligible == 1
    assert result.quote.low == result.quote.high == by_hand(schedule(800), need(), 1)


def test_shortlist_lower_fee_ranks_first_and_zero_price_weight_removes_the_effect() -> None:
    # Given two directors equal in everything but fees, the cheaper one with the later id
    candidates = [*director("D-A", schedule(1_800)), *director("D-Z", schedule(900))]

    # When matched with the default weights, and with the price weight at zero
    priced = run(need(), candidates)
    unpriced = run(need(), candidates, weights=Weights(price=0))

    # Then the cheaper leads by exactly the price weight, which zero takes away
    scores = {p.director_id: p.score for p in priced.picks}
    assert next(p.director_id for p in priced.picks) == "D-Z"
    assert scores["D-Z"] - scores["D-A"] == Weights().price
    assert len({p.score for p in unpriced.picks}) == 1


def test_shortlist_quote_range_is_over_the_offered_and_median_over_the_eligible() -> None:
    # Given seven priced directors, three offered per wave
    bases = [600, 750, 900, 1_100, 1_400, 1_800, 2_500]
    schedules = {f"D-{n}": schedule(base) for n, base in enumerate(bases)}
    candidates = [c for d, s in schedules.items() for c in director(d, s)]
    request = need()

    # When matched
    result = run(request, candidates, size=3)

    # Then low/high are over the three offered, the median over all seven, recomputed by hand
    offered = [by_hand(schedules[p.director_id], request, 1) for p in result.picks]
    everyone = [by_hand(s, request, 1) for s in schedules.values()]
    assert len(result.picks) == 3
    assert (result.quote.low, result.quote.high) == (min(offered), max(offered))
    assert result.quote.median == statistics.median(everyone)
    assert result.quote.eligible == 7


def test_shortlist_team_quote_is_the_sum_of_members_fees_for_their_states() -> None:
    # Given a TX/OK/NM request nobody covers alone: one director for TX+OK, one for NM
    request = need(states=("TX", "OK", "NM"), np=1, pa=0, locations=1)
    two_states, one_state = schedule(1_000), schedule(800)
    candidates = [*director("D-TXOK", two_states, ("TX", "OK")), *director("D-NM", one_state, ("NM",))]

    # When matched
    result = run(request, candidates)

    # Then each member is priced for their own states, and the quote is their sum
    fees = {p.director_id: p.fee.total for p in result.picks if p.fee}
    assert result.team
    assert fees == {"D-TXOK": by_hand(two_states, request, 2), "D-NM": by_hand(one_state, request, 1)}
    assert result.quote.low == result.quote.high == sum(fees.values())


def test_shortlist_team_over_budget_in_total_is_not_offered() -> None:
    # Given a team whose members are each under the budget but not together
    request = need(states=("TX", "NM"), np=0, pa=0, locations=1, budget_monthly=1_500)
    candidates = [*director("D-TX", schedule(1_000)), *director("D-NM", schedule(900), ("NM",))]

    # When matched
    result = run(request, candidates)

    # Then no offer goes out, both count as OVER_BUDGET, and the team's total is kept
    assert result.picks == ()
    assert result.excluded == {Exclusion.OVER_BUDGET: 2}
    assert result.quote.lowest_available == 1_900
