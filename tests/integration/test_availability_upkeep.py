"""The Available index's items follow every write of a director's filters, and a refresh that read
before another writer's change does not leave its older picture behind."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from directormatch import availability, keys
from directormatch.aws import clients
from directormatch.aws.attributes import to_attributes
from directormatch.aws.directors_table import DirectorStore
from directormatch.records import Profile
from ops.roster.cli import main
from tests.integration.conftest import Aws, LoadDirectors, roster_director

VALID_UNTIL = (date.today() + timedelta(days=60)).isoformat()


def avail_items(aws: Aws, director_id: str) -> dict[str, dict[str, Any]]:
    return {item["sk"]: item for item in aws.items(aws.availability_table) if item["pk"] == director_id}


def available_ids(store: DirectorStore, state: str = "TX") -> set[str]:
    return {c.director_id for c in store.available_in(state, ["aesthetics"], VALID_UNTIL)}


def test_a_stamp_reaches_every_avail_item_of_the_director(aws: Aws, load_directors: LoadDirectors) -> None:
    # Given a director licensed in TX and OK, offering aesthetics and weight loss
    director_id = load_directors(1, states=("TX", "OK"))[0]["pk"]
    assert len(avail_items(aws, director_id)) == 2 * 3

    # When a match offers them work
    aws.director_store().stamp_offered(director_id, ["TX", "OK"], "2026-12-06T10:00:00.000+00:00")

    # Then each AVAIL item carries the new stamp, so the next match's fairness score reads it
    stamps = {item.get("last_offered_at") for item in avail_items(aws, director_id).values()}
    assert stamps == {"2026-12-06T10:00:00.000+00:00"}


def test_a_director_who_stops_taking_work_leaves_the_index_and_comes_back(
    aws: Aws, load_directors: LoadDirectors
) -> None:
    # Given two available directors in TX
    first, second = (items[0]["pk"] for items in (load_directors(1), load_directors(1, first=2)))
    store = aws.director_store()
    assert available_ids(store) == {first, second}

    # When the first turns themselves inactive through their own change
    profile = Profile.from_item(store.item(first, keys.PROFILE_SK, consistent=True) or {})
    store.change_profile(profile, {"active": False}, _audit(first, "inactive"))

    # Then a match no longer reads them, and none of their AVAIL items is left
    assert available_ids(store) == {second}
    assert avail_items(aws, first) == {}

    # And when they turn active again, they are back
    profile = Profile.from_item(store.item(first, keys.PROFILE_SK, consistent=True) or {})
    store.change_profile(profile, {"active": True}, _audit(first, "active"))
    assert available_ids(store) == {first, second}


Store = TypeVar("Store", bound=DirectorStore)


def store_of(kind: type[Store], aws: Aws) -> Store:
    """A DirectorStore of another kind over the test's tables."""
    base = aws.director_store()
    return kind(base.table, base.by_state_index, base.availability.table)


class RacedStore(DirectorStore):
    """Another writer fills the director's last clinic slot (and refreshes) right after this refresh
    read their LICENSE items, before it writes: its picture is then older than the other writer's."""

    raced = False

    def _write_availability(self, director_id: str, held: list[dict[str, Any]]) -> None:
        if not self.raced:
            self.raced = True
            other = DirectorStore(self.table, self.by_state_index, self.availability.table)
            for item in other.director_items(director_id):
                if item["sk"].startswith((keys.LICENSE, keys.PROFILE_SK)):
                    other.client.update_item(
                        TableName=self.table,
                        Key={"pk": {"S": director_id}, "sk": {"S": item["sk"]}},
                        UpdateExpression="SET active_clinics = max_clinics",
                    )
            other.refresh_availability(director_id)
            assert list(other.availability.query("pk = :pk", {":pk": director_id})) == []
        super()._write_availability(director_id, held)


def test_a_refresh_that_read_before_another_writer_does_not_leave_its_older_picture(
    aws: Aws, load_directors: LoadDirectors
) -> None:
    # Given an available director
    director_id = load_directors(1)[0]["pk"]
    base, raced = aws.director_store(), store_of(RacedStore, aws)

    # When a refresh reads them as available, then another writer fills their last slot and
    # refreshes (no AVAIL items) before the first refresh writes its older picture
    raced.refresh_availability(director_id)

    # Then the first refresh saw the LICENSE items move after its read, and wrote again: no AVAIL
    # item says they can take work, so no match reads them
    assert raced.raced
    assert avail_items(aws, director_id) == {}
    assert available_ids(base) == set()


class ThrottledStore(DirectorStore):
    def _write_availability(self, director_id: str, held: list[dict[str, Any]]) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "BatchWriteItem"
        )


def test_a_refresh_that_fails_leaves_the_write_before_it_done(
    aws: Aws, load_directors: LoadDirectors
) -> None:
    # Given a director, and a store whose availability writes are throttled
    director_id = load_directors(1)[0]["pk"]
    base, throttled = aws.director_store(), store_of(ThrottledStore, aws)

    # When a match stamps them: the stamp is written, and the failed refresh raises nothing
    throttled.stamp_offered(director_id, ["TX"], "2026-12-06T10:00:00.000+00:00")
    licenses = [i for i in base.director_items(director_id) if i["sk"].startswith(keys.LICENSE)]
    assert {i["last_offered_at"] for i in licenses} == {"2026-12-06T10:00:00.000+00:00"}
    # Then the AVAIL items keep the older picture until the director's next write refreshes them
    assert {i.get("last_offered_at") for i in avail_items(aws, director_id).values()} == {None}
    base.stamp_offered(director_id, ["TX"], "2026-12-06T11:00:00.000+00:00")
    assert {i.get("last_offered_at") for i in avail_items(aws, director_id).values()} == {
        "2026-12-06T11:00:00.000+00:00"
    }


def test_the_backfill_writes_what_the_licenses_call_for_and_nothing_when_run_again(aws: Aws) -> None:
    # Given directors stored before the index existed: their items, no AVAIL items
    items = [i for n in (1, 2, 3) for i in roster_director(n, ("TX", "OK"))]
    for item in items:
        aws.dynamodb.put_item(TableName=aws.directors_table, Item=to_attributes(item))

    # When ops runs the backfill, then runs it again
    first, first_calls = _backfill()
    second, second_calls = _backfill()

    # Then each director gets the AVAIL items their licenses call for, found through ByState (no Scan)
    assert first == (0, "availability items refreshed for 3 director(s)\n")
    stored = [(i["pk"], i["sk"]) for i in aws.items(aws.availability_table)]
    licenses = [i for i in items if i["sk"].startswith(keys.LICENSE)]
    assert sorted(stored) == sorted((i["pk"], i["sk"]) for i in availability.availability_items(licenses))
    assert first_calls["BatchWriteItem"] == 3
    assert first_calls["Scan"] == 0
    # And the second run finds nothing to write
    assert second == first
    assert second_calls["BatchWriteItem"] == 0


def _backfill() -> tuple[tuple[int, str], Counter[str]]:
    """`python -m ops.roster availability` on a client that counts its calls."""
    client, calls = clients.dynamodb(), Counter[str]()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    client.meta.events.register("before-call.dynamodb.*", count)
    out = io.StringIO()
    try:
        code = main(["availability"], client=client, stdout=out, stderr=out)
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", count)
    return (code, out.getvalue()), calls


def _audit(director_id: str, change: str) -> dict[str, Any]:
    at = "2026-12-06T10:00:00.000+00:00"
    return {"pk": director_id, "sk": keys.AUDIT(at, change), "at": at, "who": "director", "change": change}
