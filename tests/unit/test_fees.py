"""A director's monthly fee for a request, from their schedule (pure)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from directormatch.matching.fees import Fee, Scope, median_dollars, monthly_fee, monthly_total, team_fee
from directormatch.records import FeeSchedule
from tests.fee_oracle import fee_by_hand

dollars = st.integers(min_value=0, max_value=15_000)
RATES = ("base", "per_np", "per_pa", "per_additional_state", "per_additional_location", "controlled_premium")
schedules = st.builds(
    FeeSchedule,
    **dict.fromkeys(RATES, dollars),
    chart_review_percent=st.one_of(st.none(), st.integers(1, 100)),
    chart_review_fee=st.one_of(st.none(), dollars),
)
scopes = st.builds(
    Scope,
    states=st.integers(1, 51),
    np=st.integers(0, 20),
    pa=st.integers(0, 20),
    locations=st.integers(1, 30),
    controlled=st.booleans(),
)
GROWTH = ("states", "np", "pa", "locations")
# Every component set (the offer tests price it too).
FULL_SCHEDULE = FeeSchedule(
    base=900,
    per_np=250,
    per_pa=200,
    per_additional_state=600,
    per_additional_location=300,
    controlled_premium=350,
    chart_review_percent=20,
    chart_review_fee=250,
)


@given(schedules, scopes)
def test_monthly_fee_is_non_negative_and_the_sum_of_its_lines(schedule: FeeSchedule, scope: Scope) -> None:
    # When a schedule prices a scope
    fee = monthly_fee(schedule, scope)

    # Then every line and the total are whole, non-negative dollars, the total their sum
    assert all(isinstance(amount, int) and amount >= 0 for _, amount in fee.lines)
    assert fee.total == sum(amount for _, amount in fee.lines) >= schedule.base
    # And the total the matcher computes without writing the lines is the same
    assert monthly_total(schedule, scope) == fee.total


@given(schedules, scopes, st.sampled_from(GROWTH), st.integers(1, 5))
def test_monthly_fee_never_falls_when_the_request_grows(
    schedule: FeeSchedule, scope: Scope, what: str, more: int
) -> None:
    # Given a bigger request: more states, NPs, PAs or locations, or controlled substances
    bigger = replace(scope, **{what: getattr(scope, what) + more})

    # Then it costs at least as much, and exactly the component's rate more per unit
    rate = {
        "states": schedule.per_additional_state,
        "np": schedule.per_np,
        "pa": schedule.per_pa,
        "locations": schedule.per_additional_location,
    }[what]
    assert monthly_fee(schedule, bigger).total == monthly_fee(schedule, scope).total + rate * more
    controlled = replace(scope, controlled=True)
    assert monthly_fee(schedule, controlled).total >= monthly_fee(schedule, scope).total


@given(st.lists(st.tuples(schedules, scopes), min_size=1, max_size=3))
def test_team_fee_equals_the_sum_of_its_members_fees(members: list[tuple[FeeSchedule, Scope]]) -> None:
    # Given each member's fee for the states they cover
    fees = [monthly_fee(schedule, scope) for schedule, scope in members]

    # Then the team costs their sum, recomputed from the schedules by hand
    by_hand = sum(
        fee_by_hand(s.to_item(), c.np, c.pa, c.states, c.locations, c.controlled) for s, c in members
    )
    assert team_fee(fees) == by_hand


def test_monthly_fee_itemises_each_component_the_request_uses() -> None:
    # Given a full schedule, when it prices 2 states, 3 NPs, no PA, 2 locations, controlled substances
    fee = monthly_fee(FULL_SCHEDULE, Scope(states=2, np=3, pa=0, locations=2, controlled=True))

    # Then each used component is a line in words, unused ones (PAs) are left out
    assert fee.lines == (
        ("Base fee (one state, one location)", 900),
        ("3 supervised NPs at $250", 750),
        ("1 additional state at $600", 600),
        ("1 additional location at $300", 300),
        ("Controlled substances", 350),
        ("Chart review (20% of charts)", 250),
    )
    assert fee.total == 3_150
    assert fee.stored()[1] == {"label": "3 supervised NPs at $250", "amount": 750}


def test_monthly_fee_of_a_zero_base_still_shows_the_base_line() -> None:
    # Given a director who charges nothing for the base
    fee = monthly_fee(FeeSchedule(base=0), Scope(states=1, np=0, pa=0, locations=1, controlled=False))

    # Then the fee reads as one $0 line, not an empty list
    assert fee == Fee((("Base fee (one state, one location)", 0),))


def test_median_dollars_rounds_to_a_dollar_and_is_none_without_fees() -> None:
    assert median_dollars([1_000, 1_201]) == 1_100
    assert median_dollars([900, 1_500, 1_000]) == 1_000
    assert median_dollars([]) is None
