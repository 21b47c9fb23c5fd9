"""A director's monthly fee for one request, itemised from their fee schedule: pure, no I/O.

The fee covers the states the director would serve, the clinic's NPs, PAs and locations, a premium
where controlled substances are involved, and the director's standard chart review. A team's fee is
the sum of its members' fees, each for the states that member covers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from directormatch.records import FeeSchedule


@dataclass(frozen=True)
class Fee:
    """One director's monthly fee: (label, whole dollars) lines, and their sum."""

    lines: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.lines)

    def stored(self) -> list[dict[str, object]]:
        """The lines as stored on an OFFER item (a list of maps)."""
        return [{"label": label, "amount": amount} for label, amount in self.lines]


@dataclass(frozen=True)
class Scope:
    """What a fee is for: the counts a schedule multiplies, every one given (a count left to a
    default would price a request for fewer supervisees or places than it has)."""

    states: int
    np: int
    pa: int
    locations: int
    controlled: bool


def monthly_total(schedule: FeeSchedule, scope: Scope) -> int:
    """The sum of monthly_fee's lines, without writing them (the matcher prices every eligible director)."""
    return (
        schedule.base
        + scope.np * schedule.per_np
        + scope.pa * schedule.per_pa
        + max(scope.states - 1, 0) * schedule.per_additional_state
        + max(scope.locations - 1, 0) * schedule.per_additional_location
        + (schedule.controlled_premium if scope.controlled else 0)
        + (schedule.chart_review_fee or 0 if schedule.chart_review_percent else 0)
    )


def monthly_fee(schedule: FeeSchedule, scope: Scope) -> Fee:
    """The itemised monthly fee of `schedule` for `scope`; zero lines are left out."""
    extra_states = max(scope.states - 1, 0)
    extra_locations = max(scope.locations - 1, 0)
    lines: list[tuple[str, int]] = [("Base fee (one state, one location)", schedule.base)]
    lines += [
        (f"{scope.np} supervised NP{_s(scope.np)} at ${schedule.per_np:,}", scope.np * schedule.per_np),
        (f"{scope.pa} supervised PA{_s(scope.pa)} at ${schedule.per_pa:,}", scope.pa * schedule.per_pa),
        (
            f"{extra_states} additional state{_s(extra_states)} at ${schedule.per_additional_state:,}",
            extra_states * schedule.per_additional_state,
        ),
        (
            f"{extra_locations} additional location{_s(extra_locations)} "
            f"at ${schedule.per_additional_location:,}",
            extra_locations * schedule.per_additional_location,
        ),
        ("Controlled substances", schedule.controlled_premium if scope.controlled else 0),
    ]
    if schedule.chart_review_percent and schedule.chart_review_fee:
        lines.append(
            (f"Chart review ({schedule.chart_review_percent}% of charts)", schedule.chart_review_fee)
        )
    return Fee(tuple(line for n, line in enumerate(lines) if n == 0 or line[1] > 0))


def team_fee(members: Iterable[Fee]) -> int:
    """A team's monthly fee: the sum of its members' fees."""
    return sum(fee.total for fee in members)


def median_dollars(totals: Sequence[int]) -> int | None:
    """The median of whole-dollar fees, rounded to a dollar; None when there are none.

    The arithmetic of `statistics.median`, without its import: match and sweep would otherwise load
    `statistics` and `fractions` at every cold start for this one median."""
    if not totals:
        return None
    ordered = sorted(totals)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else round((ordered[middle - 1] + ordered[middle]) / 2)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
