"""The match handler over a generated roster of 2,000 directors: what it stores, and why.

The roster is loaded once (DirectorStore.put_items), then single-state, controlled-substance and
multi-state requests go through intake and the match handler. Each stored OFFER's reasons are checked
against the director's own LICENSE and DEA items; each MATCH item's counts against an independent
reading of the roster.

On DynamoDB Local only (`make test` runs it there): moto answers each index Query by reading every
item of the table, about 36,000 here with the Available index's items, which took this test from
seconds to minutes; DynamoDB Local reads the index's key as DynamoDB does.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import date
from functools import cache
from itertools import combinations
from types import ModuleType
from typing import Any

import pytest

from directormatch import availability, keys
from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.matching.engine import CONTROLLED_MODALITIES, LICENSE_MARGIN, MAX_TEAM_SIZE, rules
from local.lambdas import LambdaContext
from ops.roster.synthetic import synthetic_roster
from tests import fee_oracle as oracle
from tests.events import quote_body, stream_event, stream_record
from tests.integration.conftest import Aws, Submit, on_dynamodb_local

pytestmark = pytest.mark.skipif(not on_dynamodb_local(), reason="DynamoDB Local only: see the docstring")


def dea_states(reasons: list[str]) -> set[str]:
    """The states the offer's DEA sentence names (none without one)."""
    return {state for reason in reasons if "DEA" in reason for state in re.findall(r"\b[A-Z]{2}\b", reason)}


ROSTER_SIZE = 2_000
BASIC = ["aesthetics", "weight_loss"]


@cache
def roster_items() -> tuple[dict[str, Any], ...]:
    """The Directors-table items of the synthetic roster (pure, so generated once per session)."""
    return tuple(synthetic_roster(ROSTER_SIZE, seed=7, today=date.today()))


def licenses_in(states: list[str]) -> list[dict[str, Any]]:
    """The roster's ByState index items (LICENSE#<state>) in the requested states."""
    return [i for i in roster_items() if i["sk"].startswith(keys.LICENSE) and i["license_state"] in states]


def read_by(request: dict[str, Any], offered: bool) -> list[dict[str, Any]]:
    """What a match reads: the Available index's items for the request's states, modalities and
    license horizon (as LICENSE records), or every license in its states when nobody was offered."""
    if not offered:
        return licenses_in(request["states"])
    until = (date.fromisoformat(request["start_by"]) + LICENSE_MARGIN).isoformat()
    wanted = availability.request_key(request["modalities"])
    return [
        {**item, "license_state": item["available_state"]}
        for item in availability.availability_items(licenses_in(request["states"]))
        if item["available_key"].rsplit("#", 1)[0] == f"{item['available_state']}#{wanted}"
        and item["license_expires_on"] >= until
    ]


def first_failure(item: dict[str, Any], request: dict[str, Any]) -> str | None:
    """The reason code a LICENSE item fails with, read from the rules (filter order as documented)."""
    start = date.fromisoformat(request["start_by"])
    valid_until = start + LICENSE_MARGIN
    modalities = set(request["modalities"])
    needs_dea = request["controlled_substances"] or bool(modalities & CONTROLLED_MODALITIES)
    expires = date.fromisoformat(item["license_expires_on"])
    dea = item.get("dea_expires_on")
    checks = (
        ("INACTIVE", not item["active"]),
        ("PAUSED", item["paused"]),
        ("EXCLUDED_OIG_SAM", item["excluded"]),
        ("MODALITY_NOT_OFFERED", not modalities <= set(item["modalities"])),
        ("NO_CAPACITY", item["active_clinics"] >= item["max_clinics"]),
        ("NO_ACTIVE_LICENSE", item["license_status"] != "ACTIVE" or expires < start),
        ("LICENSE_EXPIRING", expires < valid_until),
        ("NO_DEA_REGISTRATION", needs_dea and (dea is None or date.fromisoformat(dea) < valid_until)),
        (
            "SUPERVISION_LIMIT",
            not rules.supervision_room(
                rules.rule_for(item["license_state"]),
                item["supervising_np"],
                item["supervising_pa"],
                request["supervisees"]["np"],
                request["supervisees"]["pa"],
            )[0],
        ),
    )
    return next((code for code, failed in checks if failed), None)


def servable_states(body: dict[str, Any]) -> dict[str, set[str]]:
    """Per director, the requested states they may serve, by the rules above."""
    found: dict[str, set[str]] = {}
    for item in licenses_in(body["states"]):
        if first_failure(item, body) is None:
            found.setdefault(item["pk"], set()).add(item["license_state"])
    return found


def fee_by_hand(fees: dict[str, int], request: dict[str, Any], states: int) -> int:
    """A director's monthly fee for `states` of a request (docs/fees.md)."""
    needs_dea = request["controlled_substances"] or bool(set(request["modalities"]) & CONTROLLED_MODALITIES)
    supervisees = request["supervisees"]
    return oracle.fee_by_hand(
        fees, supervisees["np"], supervisees["pa"], states, request["locations"], needs_dea
    )


def expected_quote(request: dict[str, Any], offers: list[dict[str, Any]], team: bool) -> dict[str, Any]:
    """The MATCH quote recomputed from the roster's schedules (docs/fees.md), budget aside."""
    schedules = {i["pk"]: i["fees"] for i in roster_items() if i["sk"] == keys.PROFILE_SK}
    servable = servable_states(request)
    fee = {d: fee_by_hand(schedules[d], request, len(states)) for d, states in servable.items()}
    offered = [fee_by_hand(schedules[o["director_id"]], request, len(o["covers_states"])) for o in offers]
    every_state = [d for d, states in servable.items() if len(states) == len(request["states"])]
    priced = [fee[d] for d in every_state or servable]
    return {
        "eligible": len(priced),
        "low": (sum(offered) if team else min(offered)) if offered else None,
        "high": (sum(offered) if team else max(offered)) if offered else None,
        "median": round(statistics.median(priced)) if priced else None,
    }


def partition(aws: Aws, request_id: str) -> dict[str, dict[str, Any]]:
    response = aws.dynamodb.query(
        TableName=aws.requests_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": request_id}},
        ConsistentRead=True,
    )
    return {item["sk"]: item for item in (from_attributes(raw) for raw in response["Items"])}


def director_item(aws: Aws, director_id: str, sk: str) -> dict[str, Any] | None:
    raw = aws.dynamodb.get_item(
        TableName=aws.directors_table, Key=to_attributes({"pk": director_id, "sk": sk}), ConsistentRead=True
    ).get("Item")
    return from_attributes(raw) if raw else None


def check_match(aws: Aws, request: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The MATCH item and offers of a request, with the checks every match must pass."""
    items = partition(aws, request["request_id"])
    match = items["MATCH"]
    offers = [item for sk, item in items.items() if sk.startswith(keys.OFFER)]
    index_items = read_by(request, bool(offers))
    # The MATCH item counts every director the match read, and read only their index items
    assert match["candidates"] == len({item["pk"] for item in index_items})
    assert match["items_read"] == len(index_items)
    assert sum(match.get("excluded", {}).values()) + match["eligible"] == match["candidates"]
    # Its shortlist names exactly the offered directors, with the states each covers
    assert {s["director_id"]: s["states"] for s in match["shortlist"]} == {
        o["director_id"]: o["covers_states"] for o in offers
    }
    assert items["REQUEST"]["request_status"] == ("OFFERED" if offers else "NO_MATCH")
    # The quote is what the roster's fee schedules give for this request, recomputed here
    if "budget_monthly" not in request:
        quote = {name: match["quote"].get(name) for name in ("eligible", "low", "high", "median")}
        assert quote == expected_quote(request, offers, match["team"])
    start = date.fromisoformat(request["start_by"])
    needs_dea = request["controlled_substances"] or bool(set(request["modalities"]) & CONTROLLED_MODALITIES)
    for offer in offers:
        director_id = offer["director_id"]
        profile = director_item(aws, director_id, keys.PROFILE_SK)
        assert profile is not None
        # Each offer carries the director's own fee for their states, itemised
        assert offer["fee_monthly"] == fee_by_hand(profile["fees"], request, len(offer["covers_states"]))
        assert sum(line["amount"] for line in offer["fee_lines"]) == offer["fee_monthly"]
        assert profile["active"]
        assert not profile["paused"]
        assert not profile["excluded"]
        assert profile["active_clinics"] < profile["max_clinics"]
        assert set(request["modalities"]) <= set(profile["modalities"])
        assert profile["last_offered_at"] == match["created_at"]
        for state in offer["covers_states"]:
            # Each state's license, as stored, is what the offer says
            license_ = director_item(aws, director_id, keys.LICENSE(state))
            assert license_ is not None
            assert license_["license_status"] == "ACTIVE"
            assert date.fromisoformat(license_["license_expires_on"]) >= start + LICENSE_MARGIN
            said = " ".join(offer["reasons"])
            month = license_["license_expires_on"][:7]
            assert re.search(rf"licensed in .*\b{state} \(?until {month}\b", said), said
            _, supervision = rules.supervision_room(
                rules.rule_for(state),
                license_["supervising_np"],
                license_["supervising_pa"],
                request["supervisees"]["np"],
                request["supervisees"]["pa"],
            )
            assert supervision in said
            # And a DEA registration in that state, stored and lasting, backs the DEA reason
            dea = director_item(aws, director_id, keys.DEA(state))
            if needs_dea:
                assert dea is not None
                assert date.fromisoformat(dea["dea_expires_on"]) >= start + LICENSE_MARGIN
                assert state in dea_states(offer["reasons"])
            else:
                assert dea_states(offer["reasons"]) == set()
    return match, offers


@pytest.fixture
def roster(aws: Aws) -> tuple[dict[str, Any], ...]:
    items = roster_items()
    aws.director_store().put_items(list(items))
    return items


def test_match_roster_of_2000_offers_licensed_directors_with_stored_reasons(
    aws: Aws,
    roster: tuple[dict[str, Any], ...],
    submit_quote: Submit,
    match_app: ModuleType,
    lambda_context: LambdaContext,
    subtests: pytest.Subtests,
) -> None:
    # Given 2,000 generated directors in the Directors table (loaded once for every request below)
    assert sum(1 for item in roster if item["sk"] == keys.PROFILE_SK) == ROSTER_SIZE

    def matched(**overrides: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        request = submit_quote(**overrides)
        response = match_app.lambda_handler(stream_event(stream_record(request)), lambda_context)
        assert response == {"batchItemFailures": []}
        match, offers = check_match(aws, request)
        return request, match, offers

    for state, supervisees in (
        ("TX", {"np": 2, "pa": 0}),
        ("CA", {"np": 1, "pa": 1}),
        ("WY", {"np": 3, "pa": 0}),
    ):
        with subtests.test(msg="single state", state=state):
            # When a clinic in one state asks
            request, match, offers = matched(states=[state], modalities=BASIC, supervisees=supervisees)

            # Then a first wave of 3 directors is offered, none as a team
            assert len(offers) == 3
            assert not match["team"]
            assert all(o["covers_states"] == [state] and not o["team"] for o in offers)
            # And each filter removed exactly the directors the rules say it should
            expected = Counter(
                code for item in read_by(request, True) if (code := first_failure(item, request))
            )
            assert match.get("excluded", {}) == dict(expected)
            assert match["eligible"] == match["candidates"] - expected.total()

    with subtests.test(msg="budget", state="TX"):
        # When a TX clinic gives a budget at the median fee of the directors who can serve it
        body = quote_body(states=["TX"], modalities=BASIC, supervisees={"np": 2, "pa": 0})
        median = expected_quote(body, [], team=False)["median"]
        request, match, offers = matched(
            states=["TX"], modalities=BASIC, supervisees={"np": 2, "pa": 0}, budget_monthly=median
        )

        # Then directors above it are excluded as OVER_BUDGET, and every offer is within it
        schedules = {d: director_item(aws, d, keys.PROFILE_SK) for d in servable_states(request)}
        above = [d for d, p in schedules.items() if p and fee_by_hand(p["fees"], request, 1) > median]
        assert match.get("excluded", {})["OVER_BUDGET"] == len(above) > 0
        assert offers
        assert all(o["fee_monthly"] <= median for o in offers)
        assert match["quote"]["budget_monthly"] == median

    with subtests.test(msg="budget below everyone", state="TX"):
        # When the budget is below every fee
        request, match, offers = matched(states=["TX"], modalities=BASIC, budget_monthly=1)

        # Then nobody is offered, and the lowest fee available is kept for the clinic
        priced = {
            d: fee_by_hand(p["fees"], request, 1)
            for d in servable_states(request)
            if (p := director_item(aws, d, keys.PROFILE_SK))
        }
        assert offers == []
        assert match["quote"]["lowest_available"] == min(priced.values())

    with subtests.test(msg="controlled substances", state="FL"):
        # When a FL clinic prescribing controlled substances asks
        request, match, offers = matched(
            states=["FL"], modalities=["weight_loss"], controlled_substances=True
        )

        # Then every offer rests on a stored FL DEA registration, and missing ones were counted
        assert offers
        expected = Counter(code for item in read_by(request, True) if (code := first_failure(item, request)))
        assert match.get("excluded", {}) == dict(expected)
        assert expected["NO_DEA_REGISTRATION"] > 0

    everywhere = {**quote_body(modalities=BASIC), "states": sorted(rules.all_rules())}
    pair = next(
        sorted(states)[:2] for _, states in sorted(servable_states(everywhere).items()) if len(states) >= 2
    )
    with subtests.test(msg="one director for two states", states=pair):
        # When a clinic in two states that one director can serve asks
        request, match, offers = matched(states=pair, modalities=BASIC)

        # Then only directors covering both states alone are offered
        assert offers
        assert not match["team"]
        for offer in offers:
            assert sorted(offer["covers_states"]) == sorted(pair)
            assert "You cover all 2 requested states alone." in offer["reasons"]

    holders: dict[str, set[str]] = {}
    for item in roster:
        if item["sk"].startswith(keys.LICENSE):
            holders.setdefault(item["pk"], set()).add(item["license_state"])
    triple = next(
        list(states)
        for states in combinations(("WY", "VT", "AK", "ND", "SD", "DE", "RI"), 3)
        if not any(set(states) <= held for held in holders.values())
    )
    with subtests.test(msg="team for three states", states=triple):
        # When a clinic in three states nobody is licensed in together asks
        request, match, offers = matched(states=triple, modalities=BASIC, controlled_substances=True)

        # Then a team of at most 3 covers every state once, each member marked and explained as such
        assert match["team"]
        assert 2 <= len(offers) <= MAX_TEAM_SIZE
        assigned = [state for offer in offers for state in offer["covers_states"]]
        assert sorted(assigned) == sorted(triple)
        for offer in offers:
            assert offer["team"]
            *others, last = offer["covers_states"]
            covered = f"{', '.join(others)} and {last}" if others else last
            assert f"You would cover {covered}, as part of a team." in offer["reasons"]
        assert match["uncovered_states"] == []
