"""The fee formula of docs/fees.md written out on its own, for tests to check matching.fees against."""

from __future__ import annotations

from collections.abc import Mapping


def fee_by_hand(
    fees: Mapping[str, int], np: int, pa: int, states: int, locations: int, controlled: bool
) -> int:
    """A schedule's monthly fee (a stored `fees` map) for a director covering `states` of a request."""
    chart_review = fees.get("chart_review_fee", 0) if fees.get("chart_review_percent") else 0
    return (
        fees["base"]
        + fees.get("per_np", 0) * np
        + fees.get("per_pa", 0) * pa
        + fees.get("per_additional_state", 0) * (states - 1)
        + fees.get("per_additional_location", 0) * (locations - 1)
        + (fees.get("controlled_premium", 0) if controlled else 0)
        + chart_review
    )
