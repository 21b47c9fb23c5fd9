"""State supervision rules: the data file is complete and sourced; supervision_room counts correctly."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from directormatch.matching.rules import (
    DATA_FILE,
    RULE_FIELDS,
    StateRule,
    all_rules,
    rule_for,
    supervision_room,
)
from directormatch.vocabulary import US_STATES

# Written out here, apart from vocabulary.US_STATES, so a state missing from both still fails.
USPS_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM"
    " NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
USPS_51 = frozenset(USPS_CODES.split())


def raw_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return doc


def make_rule(state: str = "XX", **overrides: Any) -> StateRule:
    """A known rule for `state` (NPs need a physician; no limit, no strict CPOM) with `overrides`."""
    no_limits = dict.fromkeys(("np_limit", "pa_limit", "combined_limit"))
    usual = {"np_collaboration_required": True, "strict_cpom": False, "known": True, "notes": ""}
    return StateRule(state=state, **(usual | no_limits | overrides))


def test_data_file_all_jurisdictions_present() -> None:
    # Given the state rules data file
    doc = raw_doc()

    # When its state keys are read
    keys = set(doc["states"])

    # Then exactly the 50 states and DC are present, matching the API's state list
    assert len(keys) == 51
    assert keys == USPS_51
    assert keys == set(US_STATES)


def test_data_file_every_field_sourced_with_citation_and_url() -> None:
    # Given every known state in the raw file
    states = raw_doc()["states"]

    # When the fields covered by its sources are collected
    problems: list[str] = []
    for code, rule in states.items():
        assert rule["known"] is True, code
        covered: set[str] = set()
        for source in rule["sources"]:
            if not str(source.get("citation", "")).strip():
                problems.append(f"{code}: source without citation")
            if not str(source.get("url", "")).startswith(("https://", "http://")):
                problems.append(f"{code}: source without url")
            if source.get("confidence", "verified") not in {"verified", "unverified"}:
                problems.append(f"{code}: bad confidence {source['confidence']!r}")
            unknown_fields = set(source["rules"]) - set(RULE_FIELDS)
            if unknown_fields:
                problems.append(f"{code}: source names unknown fields {sorted(unknown_fields)}")
            covered.update(source["rules"])
        missing = set(RULE_FIELDS) - covered
        if missing:
            problems.append(f"{code}: no source for {sorted(missing)}")

    # Then every rule field of every state is backed by a cited source
    assert problems == []


def test_data_file_checked_on_parses_as_date() -> None:
    # Given all rules loaded through the module
    rules = all_rules()

    # When their checked_on dates are read
    dates = {code: rule.checked_on for code, rule in rules.items()}

    # Then every state has a real date (today's research date)
    assert all(isinstance(d, date) for d in dates.values())
    assert set(dates.values()) == {date(2026, 11, 25)}


def test_data_file_field_types_consistent() -> None:
    # Given all rules loaded through the module
    rules = all_rules()

    # When the limits and flags are inspected
    for code, rule in rules.items():
        # Then limits are positive integers or None, and full-practice states carry no NP limit
        for limit in (rule.np_limit, rule.pa_limit, rule.combined_limit):
            assert limit is None or (isinstance(limit, int) and limit > 0), code
        if not rule.np_collaboration_required:
            assert rule.np_limit is None, code
        assert rule.state == code
        assert rule.known is True


def test_rule_for_texas_known_combined_limit_seven() -> None:
    # Given Texas, which counts APRNs and PAs together
    # When its rule is looked up with a lower-case code
    rule = rule_for("tx")

    # Then the combined limit of 7 and strict CPOM come back, with sources
    assert rule.state == "TX"
    assert (rule.np_limit, rule.pa_limit, rule.combined_limit) == (7, 7, 7)
    assert rule.strict_cpom is True
    assert rule.known is True
    assert any("157.0512" in s.citation for s in rule.sources)


def test_rule_for_unknown_code_returns_default_not_known() -> None:
    # Given a code that is not a US jurisdiction
    # When its rule is looked up
    rule = rule_for("ZZ")

    # Then the conservative default comes back, marked unknown, for the asked state
    assert rule.state == "ZZ"
    assert rule.known is False
    assert rule.np_collaboration_required is True
    assert (rule.np_limit, rule.pa_limit, rule.combined_limit) == (None, None, None)
    assert rule.strict_cpom is False
    assert rule.sources == ()
    assert rule.checked_on is None
    assert "ops must check" in rule.notes


def test_all_rules_copy_mutation_not_shared() -> None:
    # Given the dict of all rules
    first = all_rules()

    # When a caller removes an entry from its copy
    del first["TX"]

    # Then the next caller still sees all 51
    assert len(all_rules()) == 51


TX_7 = make_rule("TX", np_limit=7, pa_limit=7, combined_limit=7)
# id: (rule, (current NPs, current PAs, NPs added, PAs added), expected ok, expected reason)
SUPERVISION_CASES = {
    "under_limit": (TX_7, (2, 0, 1, 0), True, "supervises 3 of 7 NPs allowed in TX"),
    "at_limit": (make_rule("OH", np_limit=5), (4, 0, 1, 0), True, "supervises 5 of 5 NPs allowed in OH"),
    "over_limit": (TX_7, (7, 0, 2, 0), False, "would supervise 9 NPs; TX allows 7"),
    "over_pa_limit": (
        make_rule("FL", pa_limit=10),
        (0, 9, 0, 2),
        False,
        "would supervise 11 PAs; FL allows 10",
    ),
    "combined_over_while_each_under": (
        TX_7,
        (4, 3, 1, 0),
        False,
        "would supervise 8 NPs and PAs combined; TX allows 7",
    ),
    "combined_at_limit": (
        make_rule("MO", np_limit=6, pa_limit=6, combined_limit=6),
        (3, 2, 0, 1),
        True,
        "supervises 6 of 6 NPs and PAs combined allowed in MO",
    ),
    "full_practice_np": (
        make_rule("CO", np_collaboration_required=False),
        (30, 0, 5, 0),
        True,
        "NPs need no physician in CO (full practice), so no NP limit applies",
    ),
    "full_practice_np_not_in_combined": (
        make_rule("IA", np_collaboration_required=False, pa_limit=5, combined_limit=5),
        (10, 4, 5, 1),
        True,
        "supervises 5 of 5 NPs and PAs combined allowed in IA",
    ),
    "null_limit": (make_rule("TX", pa_limit=None), (0, 40, 0, 5), True, "TX sets no PA limit"),
    "nothing_to_count": (make_rule("MI"), (0, 0, 0, 0), True, "no NPs or PAs to supervise in MI"),
    "unknown_state": (
        make_rule("ZZ", known=False, np_limit=None),
        (3, 3, 1, 1),
        True,
        "no rule on file for ZZ: ops must check before introducing",
    ),
}


@pytest.mark.parametrize(
    ("rule", "counts", "expected_ok", "expected_reason"), SUPERVISION_CASES.values(), ids=SUPERVISION_CASES
)
def test_supervision_room_table_returns_expected_verdict(
    rule: StateRule, counts: tuple[int, int, int, int], expected_ok: bool, expected_reason: str
) -> None:
    # Given a state rule and a physician's current and proposed supervisees
    current_np, current_pa, add_np, add_pa = counts

    # When the room is checked
    ok, reason = supervision_room(rule, current_np, current_pa, add_np, add_pa)

    # Then the verdict and the plain-words reason match
    assert ok is expected_ok
    assert expected_reason in reason


def test_supervision_room_real_texas_over_limit_refuses() -> None:
    # Given the real Texas rule from the data file
    rule = rule_for("TX")

    # When a physician with 6 NPs and 1 PA is offered one more NP
    ok, reason = supervision_room(rule, current_np=6, current_pa=1, add_np=1, add_pa=0)

    # Then the combined limit of 7 refuses it
    assert ok is False
    assert "would supervise 8 NPs and PAs combined; TX allows 7" in reason


def test_supervision_room_negative_count_raises_value_error() -> None:
    # Given any rule
    rule = make_rule()

    # When a negative count is passed
    # Then it is rejected
    with pytest.raises(ValueError, match="add_pa"):
        supervision_room(rule, 0, 0, 0, -1)
