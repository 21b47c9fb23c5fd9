"""The scale bench's measuring parts: the consumed capacity it adds up per table, index and partition
key, and the quotes and rate of its burst (its send queue is measured, tests/integration)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from bench.scale import (
    UPKEEP,
    CapacityMeter,
    Sizes,
    burst_rate,
    partition_keys,
    quote_mix,
    sizes_from,
)
from directormatch.vocabulary import US_STATES


def capacity(table: str, table_units: float, index: str, index_units: float) -> dict[str, object]:
    """A ConsumedCapacity answer for ReturnConsumedCapacity=INDEXES."""
    return {
        "TableName": table,
        "CapacityUnits": table_units + index_units,
        "Table": {"CapacityUnits": table_units},
        "GlobalSecondaryIndexes": {index: {"CapacityUnits": index_units}},
    }


def test_capacity_meter_asks_for_capacity_and_credits_a_query_to_its_index_key() -> None:
    # Given a client whose Query answers with the units of the table and of the ByState index
    client = boto3.client("dynamodb", region_name="us-east-1")
    meter = CapacityMeter(client)
    sent: list[dict[str, object]] = []
    client.meta.events.register_last(
        "before-parameter-build.dynamodb.Query", lambda params, **_: sent.append(params)
    )
    params = {
        "TableName": "DirectorsTable",
        "IndexName": "ByState",
        "KeyConditionExpression": "license_state = :state",
        "ExpressionAttributeValues": {":state": {"S": "CA"}},
    }
    consumed = capacity("DirectorsTable", 0.0, "ByState", 12.5)

    # When a match queries it twice
    with Stubber(client) as stub, meter.phase("match"):
        for _ in range(2):
            stub.add_response("query", {"Items": [], "ConsumedCapacity": consumed})
            client.query(**params)

    # Then each call asked for the units by index, the index's units are the CA key's, and the
    # summary names it the hottest
    assert [p["ReturnConsumedCapacity"] for p in sent] == ["INDEXES", "INDEXES"]
    assert meter.units[("match", "DirectorsTable/ByState", "CA")] == 25.0
    [index] = [row for row in meter.summary() if row["where"] == "DirectorsTable/ByState"]
    assert (index["hottest_key"], index["hottest_units"], index["upkeep"]) == ("CA", 25.0, 0.0)


def test_capacity_meter_puts_a_writes_index_units_under_upkeep() -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    meter = CapacityMeter(client)
    consumed = capacity("RequestsTable", 2.0, "RequestsByStatusDay", 1.0)
    with Stubber(client) as stub, meter.phase("sweep"):
        stub.add_response("put_item", {"ConsumedCapacity": consumed})
        client.put_item(TableName="RequestsTable", Item={"pk": {"S": "01J"}, "sk": {"S": "REQUEST"}})

    assert meter.units[("sweep", "RequestsTable", "01J")] == 2.0
    assert meter.units[("sweep", "RequestsTable/RequestsByStatusDay", UPKEEP)] == 1.0


def test_capacity_meter_puts_a_writes_index_units_under_the_index_keys_it_writes() -> None:
    # Given a meter that knows RequestsByStatusDay's partition key
    client = boto3.client("dynamodb", region_name="us-east-1")
    meter = CapacityMeter(client, {"RequestsByStatusDay": "status_day"})
    update = {
        "TableName": "RequestsTable",
        "Key": {"pk": {"S": "r1"}, "sk": {"S": "REQUEST"}},
        "UpdateExpression": "SET request_status = :status, status_day = :status_day, wave = :wave",
        "ExpressionAttributeValues": {
            ":status": {"S": "OFFERED"},
            ":status_day": {"S": "OFFERED#2026-12-06"},
            ":wave": {"N": "1"},
        },
    }
    offer = {"TableName": "RequestsTable", "Item": {"pk": {"S": "r1"}, "sk": {"S": "OFFER#d1"}}}
    item = {"pk": {"S": "r2"}, "sk": {"S": "REQUEST"}, "status_day": {"S": "NEW#2026-12-06"}}

    # When intake puts a request, and a match's transaction moves another to OFFERED
    with Stubber(client) as stub, meter.phase("match"):
        stub.add_response(
            "put_item", {"ConsumedCapacity": capacity("RequestsTable", 1.0, "RequestsByStatusDay", 1.0)}
        )
        client.put_item(TableName="RequestsTable", Item=item)
        consumed = [capacity("RequestsTable", 4.0, "RequestsByStatusDay", 2.0)]
        stub.add_response("transact_write_items", {"ConsumedCapacity": consumed})
        client.transact_write_items(TransactItems=[{"Put": offer}, {"Update": update}])

    # Then the index's units are the keys' written, none left as upkeep
    assert meter.units[("match", "RequestsTable/RequestsByStatusDay", "NEW#2026-12-06")] == 1.0
    assert meter.units[("match", "RequestsTable/RequestsByStatusDay", "OFFERED#2026-12-06")] == 2.0
    assert meter.units[("match", "RequestsTable/RequestsByStatusDay", UPKEEP)] == 0.0


def test_a_transactions_units_are_shared_by_the_partitions_it_writes() -> None:
    items = [
        {"Put": {"TableName": "RequestsTable", "Item": {"pk": {"S": "r1"}, "sk": {"S": "MATCH"}}}},
        {"Update": {"TableName": "RequestsTable", "Key": {"pk": {"S": "r1"}, "sk": {"S": "REQUEST"}}}},
        {"Update": {"TableName": "DirectorsTable", "Key": {"pk": {"S": "d1"}, "sk": {"S": "PROFILE"}}}},
    ]

    keys = partition_keys("TransactWriteItems", {"TransactItems": items})

    assert keys == {"RequestsTable": ["r1", "r1"], "DirectorsTable": ["d1"]}


def test_burst_rate_is_the_issues_ca_figure_over_cas_share() -> None:
    today, at_100x = burst_rate()

    assert at_100x == pytest.approx(100 * today)
    # CA holds about 11% of the physicians: 100 CA matches a minute is about 15 quotes a second
    assert 14 < at_100x < 16


def test_quote_mix_is_reproducible_with_one_to_three_distinct_states() -> None:
    mix = quote_mix(400)

    assert mix == quote_mix(400)
    assert all(1 <= len(q["states"]) == len(set(q["states"])) <= 3 for q in mix)
    assert {s for q in mix for s in q["states"]} <= set(US_STATES)
    one_state = sum(len(q["states"]) == 1 for q in mix) / len(mix)
    assert 0.78 < one_state < 0.92
    assert sum(q["states"] == ["CA"] for q in mix) > sum(q["states"] == ["WY"] for q in mix)


def test_sizes_come_from_the_variable_when_it_is_set() -> None:
    default = Sizes(10, 2, 3)

    assert sizes_from(None, default) == default
    assert sizes_from("500,40,90", default) == Sizes(500, 40, 90)
