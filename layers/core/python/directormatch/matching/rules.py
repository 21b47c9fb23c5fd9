"""State supervision rules: how many NPs/PAs one physician may take on, and CPOM strictness.

The data lives in ``data/state_rules.json`` (one entry per USPS code incl. DC, each rule with its
source). This module only reads that file once and answers questions about it; it does no other I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, cast

DATA_FILE = Path(__file__).parent / "data" / "state_rules.json"

RULE_FIELDS: tuple[str, ...] = (
    "np_collaboration_required",
    "np_limit",
    "pa_limit",
    "combined_limit",
    "strict_cpom",
)


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: the fields it backs, a legal citation and a URL."""

    rules: tuple[str, ...]
    citation: str
    url: str
    confidence: str = "verified"


@dataclass(frozen=True)
class StateRule:
    """Supervision limits for one state. A limit of ``None`` means the state sets no numeric limit."""

    state: str
    np_collaboration_required: bool
    np_limit: int | None
    pa_limit: int | None
    combined_limit: int | None
    strict_cpom: bool
    known: bool
    notes: str
    sources: tuple[Source, ...] = ()
    checked_on: date | None = None


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"limit must be a non-negative integer or null, got {value!r}")
    return value


def _source(raw: dict[str, Any]) -> Source:
    return Source(
        rules=tuple(str(r) for r in raw["rules"]),
        citation=str(raw["citation"]),
        url=str(raw["url"]),
        confidence=str(raw.get("confidence", "verified")),
    )


def _rule(state: str, raw: dict[str, Any]) -> StateRule:
    checked = raw.get("checked_on")
    return StateRule(
        state=state,
        np_collaboration_required=bool(raw["np_collaboration_required"]),
        np_limit=_opt_int(raw.get("np_limit")),
        pa_limit=_opt_int(raw.get("pa_limit")),
        combined_limit=_opt_int(raw.get("combined_limit")),
        strict_cpom=bool(raw["strict_cpom"]),
        known=bool(raw.get("known", False)),
        notes=str(raw.get("notes", "")),
        sources=tuple(_source(s) for s in raw.get("sources", ())),
        checked_on=date.fromisoformat(checked) if checked else None,
    )


@cache
def _load() -> tuple[dict[str, Any], dict[str, StateRule]]:
    doc = cast(dict[str, Any], json.loads(DATA_FILE.read_text(encoding="utf-8")))
    states = cast(dict[str, dict[str, Any]], doc["states"])
    return cast(dict[str, Any], doc["default"]), {code: _rule(code, raw) for code, raw in states.items()}


def all_rules() -> dict[str, StateRule]:
    """Every state on file, keyed by USPS code (a fresh dict; the rules themselves are immutable)."""
    return dict(_load()[1])


def rule_for(state: str) -> StateRule:
    """The rule for ``state``, or the conservative default (``known=False``) when none is on file."""
    code = state.strip().upper()
    default, rules = _load()
    found = rules.get(code)
    if found is not None:
        return found
    return _rule(code, {**default, "known": False, "sources": [], "checked_on": None})


def _check(rule: StateRule, kind: str, current: int, add: int, limit: int | None) -> tuple[bool, str]:
    """One limit: whether current + add fits, and why."""
    total = current + add
    if limit is None:
        return True, f"{rule.state} sets no {kind} limit"
    if total > limit:
        return False, f"would supervise {total} {kind}s; {rule.state} allows {limit}"
    return True, f"supervises {total} of {limit} {kind}s allowed in {rule.state}"


def supervision_room(
    rule: StateRule, current_np: int, current_pa: int, add_np: int, add_pa: int
) -> tuple[bool, str]:
    """Whether a physician with ``current_np``/``current_pa`` supervisees may take ``add_np``/``add_pa`` more.

    NPs count only where the state requires NPs to have a collaborating/supervising physician; in
    full-practice states they need no physician, so no NP limit applies. ``combined_limit`` caps NPs and
    PAs together (counting only NPs that need a physician). The reason is written for ops and physicians.
    """
    for name, value in (
        ("current_np", current_np),
        ("current_pa", current_pa),
        ("add_np", add_np),
        ("add_pa", add_pa),
    ):
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")

    if not rule.known:
        return True, f"no rule on file for {rule.state}: ops must check before introducing"

    reasons: list[str] = []
    ok = True

    counted_np_current, counted_np_add = current_np, add_np
    if not rule.np_collaboration_required:
        counted_np_current = counted_np_add = 0
        if current_np or add_np:
            reasons.append(f"NPs need no physician in {rule.state} (full practice), so no NP limit applies")
    elif current_np or add_np:
        np_ok, np_reason = _check(rule, "NP", current_np, add_np, rule.np_limit)
        reasons.append(np_reason)
        ok = ok and np_ok

    if current_pa or add_pa:
        pa_ok, pa_reason = _check(rule, "PA", current_pa, add_pa, rule.pa_limit)
        reasons.append(pa_reason)
        ok = ok and pa_ok

    if rule.combined_limit is not None and (counted_np_current or counted_np_add or current_pa or add_pa):
        total = counted_np_current + counted_np_add + current_pa + add_pa
        if total > rule.combined_limit:
            ok = False
            reasons.append(
                f"would supervise {total} NPs and PAs combined; {rule.state} allows {rule.combined_limit}"
            )
        else:
            reasons.append(
                f"supervises {total} of {rule.combined_limit} NPs and PAs combined allowed in {rule.state}"
            )

    if not reasons:
        reasons.append(f"no NPs or PAs to supervise in {rule.state}")
    return ok, "; ".join(reasons)
