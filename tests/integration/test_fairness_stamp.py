"""The fairness stamp: last_offered_at on a director's PROFILE and every LICENSE item, in one call
per offered director, never moving a newer stamp back, and never recreating a removed license."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from directormatch import keys
from directormatch.aws import clients as aws_clients
from tests.integration.conftest import Aws, LoadDirectors

STATES = ["TX", "OK", "LA", "NM"]
EARLIER, LATER, NEWEST = "2026-11-20T10:00:00+00:00", "2026-11-25T10:00:00+00:00", "2026-11-26T10:00:00+00:00"


@pytest.fixture
def operations(aws: Aws) -> Iterator[list[str]]:
    names: list[str] = []
    client = aws_clients.dynamodb()

    def record(event_name: str, **_: Any) -> None:
        names.append(event_name.rsplit(".", 1)[-1])

    client.meta.events.register("before-call.dynamodb.*", record)
    yield names
    client.meta.events.unregister("before-call.dynamodb.*", record)


# The Available index's items rewritten after the stamp: LICENSE and AVAIL items read, the changed
# ones written, the LICENSE items read again to check nobody changed them meanwhile.
REFRESH = ["Query", "Query", "BatchWriteItem", "Query"]


def stamps(aws: Aws, director_id: str) -> dict[str, str | None]:
    mine = [i for i in aws.items(aws.directors_table) if i["pk"] == director_id]
    stamped = [i for i in mine if i["sk"] == keys.PROFILE_SK or i["sk"].startswith(keys.LICENSE)]
    return {i["sk"]: i.get("last_offered_at") for i in stamped}


def test_one_call_stamps_the_profile_and_every_license(
    aws: Aws, load_directors: LoadDirectors, operations: list[str]
) -> None:
    director_id = load_directors(1, tuple(STATES))[0]["pk"]
    operations.clear()

    aws.director_store().stamp_offered(director_id, STATES, LATER)

    assert operations == ["TransactWriteItems", *REFRESH]
    assert set(stamps(aws, director_id).values()) == {LATER}
    assert len(stamps(aws, director_id)) == 1 + len(STATES)


def test_a_newer_stamp_is_kept_and_the_other_items_are_still_stamped(
    aws: Aws, load_directors: LoadDirectors, operations: list[str]
) -> None:
    # Given one license already stamped by a later match (a redelivered older match arrives now)
    director_id = load_directors(1, tuple(STATES))[0]["pk"]
    store = aws.director_store()
    store.stamp_offered(director_id, ["OK"], NEWEST)
    operations.clear()

    store.stamp_offered(director_id, STATES, LATER)

    # Then the transaction is refused and each item is stamped on its own condition
    assert operations == ["TransactWriteItems"] + ["UpdateItem"] * (1 + len(STATES)) + REFRESH
    found = stamps(aws, director_id)
    assert found[keys.LICENSE("OK")] == NEWEST
    assert found[keys.PROFILE_SK] == NEWEST
    assert {found[keys.LICENSE(s)] for s in ("TX", "LA", "NM")} == {LATER}


def test_a_license_removed_meanwhile_is_not_recreated(aws: Aws, load_directors: LoadDirectors) -> None:
    director_id = load_directors(1, tuple(STATES))[0]["pk"]
    store = aws.director_store()
    aws.dynamodb.delete_item(
        TableName=aws.directors_table, Key={"pk": {"S": director_id}, "sk": {"S": keys.LICENSE("LA")}}
    )

    store.stamp_offered(director_id, STATES, EARLIER)

    found = stamps(aws, director_id)
    assert keys.LICENSE("LA") not in found
    assert {found[keys.LICENSE(s)] for s in ("TX", "OK", "NM")} == {EARLIER}
    assert found[keys.PROFILE_SK] == EARLIER
