"""RequestsByStatusDay: each request is listed under its status and creation day, and nowhere else,
after every transition; reads cover the days a request can still be in a status."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ulid import ULID

from directormatch import keys
from directormatch.aws.requests_table import REQUESTS_BY_STATUS
from directormatch.intake.contract import QuoteRequest
from directormatch.intake.submit import request_item
from directormatch.offers import lifecycle as offers
from directormatch.vocabulary import RequestStatus
from local.lambdas import LambdaContext
from tests.events import quote_body, stream_event, stream_record
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest, Submit
from tests.integration.test_sweep import run_sweep

README = (Path(__file__).parents[2] / "README.md").read_text()


def listed_under(aws: Aws, request: dict[str, Any]) -> list[str]:
    """Every index key of the request's creation day that lists it."""
    day = datetime.fromisoformat(request["created_at"]).date()
    store = aws.request_store()
    return [
        keys.status_day(status, day)
        for status in RequestStatus
        if any(s["request_id"] == request["request_id"] for s in store.requests_on(status, day))
    ]


def current(aws: Aws, request_id: str) -> dict[str, Any]:
    request = aws.request_store().get_request(request_id)
    assert request is not None
    return request


def test_status_day_follows_a_request_from_new_through_offered_to_matched(
    aws: Aws, load_directors: LoadDirectors, submit_quote: Submit, match_app: ModuleType,
    lambda_context: LambdaContext,
) -> None:  # fmt: skip
    # Given TX directors, and a TX quote just stored by intake
    load_directors(3)
    new = submit_quote()
    day = new["created_at"][:10]
    assert listed_under(aws, new) == [f"NEW#{day}"]

    # When it is matched, then a director accepts
    match_app.lambda_handler(stream_event(stream_record(new)), lambda_context)
    offered = current(aws, new["request_id"])
    offered_under = listed_under(aws, offered)
    offer = aws.request_store().offers(new["request_id"])[0]
    requests, directors = aws.request_store(), aws.director_store()
    assert offers.accept(requests, directors, new["request_id"], offer["director_id"], "link").changed

    # Then its one index entry moved with its status, written with it
    assert (offered["request_status"], offered_under) == ("OFFERED", [f"OFFERED#{day}"])
    matched = current(aws, new["request_id"])
    assert (matched["request_status"], listed_under(aws, matched)) == ("MATCHED", [f"MATCHED#{day}"])
    [item] = [i for i in aws.items() if (i["pk"], i["sk"]) == (new["request_id"], "REQUEST")]
    assert item["status_day"] == f"MATCHED#{day}"


def test_status_day_follows_a_request_from_offered_to_no_match_when_the_sweep_gives_up(
    aws: Aws, load_directors: LoadDirectors, offered_request: OfferedRequest, sweep_app: ModuleType,
    lambda_context: LambdaContext,
) -> None:  # fmt: skip
    # Given an OFFERED request whose first wave went to the only three directors
    load_directors(3)
    offered = offered_request()
    day = offered["created_at"][:10]
    assert listed_under(aws, offered) == [f"OFFERED#{day}"]
    aws.use_function("SweepFunction")

    # When the wave's schedule fires after the offers expired, with nobody left to offer
    expires = max(
        datetime.fromisoformat(o["expires_at"]) for o in aws.request_store().offers(offered["request_id"])
    )
    report = run_sweep(sweep_app, expires + timedelta(minutes=1), lambda_context)

    # Then the request is NO_MATCH and listed under NO_MATCH for its creation day only
    assert report["gave_up"] == 1
    gave_up = current(aws, offered["request_id"])
    assert (gave_up["request_status"], listed_under(aws, gave_up)) == ("NO_MATCH", [f"NO_MATCH#{day}"])


def stored(aws: Aws, status: RequestStatus, created: datetime, **fields: Any) -> str:
    """A request stored as intake stores it at `created`, but in `status` and with `fields`."""
    request_id = str(ULID.from_datetime(created))
    quote = QuoteRequest.model_validate(quote_body(**fields))
    item = request_item(request_id, quote, created, f"DM-{request_id[-8:-4]}-{request_id[-4:]}")
    item["request_status"] = status.value
    aws.request_store().create_request(item, None)
    return request_id


def test_status_day_follows_a_team_request_to_matched_when_its_states_are_covered(aws: Aws) -> None:
    # Given an OFFERED team request whose accepted offers cover both its states
    created = datetime.now(UTC) - timedelta(hours=1)
    request_id = stored(aws, RequestStatus.OFFERED, created, states=["TX", "OK"])
    store = aws.request_store()
    store.client.update_item(
        TableName=aws.requests_table,
        Key={"pk": {"S": request_id}, "sk": {"S": "REQUEST"}},
        UpdateExpression="ADD accepted_states :states",
        ExpressionAttributeValues={":states": {"SS": ["TX", "OK"]}},
    )

    # When the team is completed
    assert store.complete_team_if_covered(request_id, datetime.now(UTC))

    # Then the request is listed under MATCHED for its creation day, and no longer under OFFERED
    request = current(aws, request_id)
    assert (request["request_status"], listed_under(aws, request)) == (
        "MATCHED",
        [f"MATCHED#{created:%Y-%m-%d}"],
    )


def test_requests_in_status_reads_the_days_a_request_can_still_be_in_it_oldest_first(aws: Aws) -> None:
    # Given OFFERED requests created today, one and two days ago, and three days ago (past any wave)
    today = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    ids = [stored(aws, RequestStatus.OFFERED, today - timedelta(days=n)) for n in (3, 2, 1, 0)]
    store = aws.request_store()

    # When the sweep's read of OFFERED runs today, with the default window and with a wider one
    swept = [s["request_id"] for s in store.requests_in_status(RequestStatus.OFFERED, today=today.date())]
    wider = store.requests_in_status(RequestStatus.OFFERED, days_back=3, today=today.date())

    # Then the default reads today and two days back, oldest first; the wider read all four
    assert swept == ids[1:]
    assert [s["request_id"] for s in wider] == ids


def test_requests_in_status_before_a_moment_reads_no_later_day(aws: Aws) -> None:
    # Given NEW requests stored yesterday late, today early and today now
    now = datetime(2026, 12, 6, 0, 10, tzinfo=UTC)
    late, early, fresh = (
        stored(aws, RequestStatus.NEW, now - timedelta(minutes=m)) for m in (30, 9, 0)
    )  # fmt: skip
    stuck_since = (now - timedelta(minutes=5)).isoformat(timespec="milliseconds")

    # When the sweep asks for NEW requests created more than 5 minutes ago
    found = aws.request_store().requests_in_status(
        RequestStatus.NEW, created_before=stuck_since, today=now.date()
    )

    # Then both days are read (the stuck request of yesterday evening is found), not the fresh one
    assert [s["request_id"] for s in found] == [late, early]
    assert fresh


def test_readme_ops_query_lists_a_status_on_a_day(aws: Aws) -> None:
    # Given a request OFFERED today, and the README's query for requests waiting for an accept
    created = datetime.now(UTC)
    request_id = stored(aws, RequestStatus.OFFERED, created)
    row = next(
        line for line in README.splitlines() if line.startswith("| Requests still waiting for an accept")
    )
    index = re.search(r"index \*\*(\w+)\*\*", row)
    key = re.search(r"`(\w+)` = `OFFERED#(\d{4}-\d{2}-\d{2})`", row)
    assert index
    assert key

    # When ops run it in the console for today's date (Query on the index, the key's value typed in)
    found = aws.dynamodb.query(
        TableName=aws.requests_table,
        IndexName=index.group(1),
        KeyConditionExpression="#k = :v",
        ExpressionAttributeNames={"#k": key.group(1)},
        ExpressionAttributeValues={":v": {"S": f"OFFERED#{created.date().isoformat()}"}},
    )["Items"]

    # Then it lists that request, the index the functions read
    assert index.group(1) == REQUESTS_BY_STATUS
    assert [item["request_id"]["S"] for item in found] == [request_id]


def test_backfill_gives_requests_stored_before_the_index_their_key_once(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    from ops.status_day import backfill, main

    # Given requests stored before the index: one NEW and one OFFERED without a key, one with a stale
    # key (its status changed by a write that did not set it), and one already keyed
    now = datetime.now(UTC)
    unkeyed, offered, stale, keyed = (
        stored(aws, RequestStatus.NEW, now - timedelta(minutes=m)) for m in (4, 3, 2, 1)
    )  # fmt: skip
    table = aws.dynamodb
    for request_id, status in ((unkeyed, "NEW"), (offered, "OFFERED"), (stale, "OFFERED")):
        remove = "REMOVE status_day" if request_id != stale else ""
        table.update_item(
            TableName=aws.requests_table,
            Key={"pk": {"S": request_id}, "sk": {"S": "REQUEST"}},
            UpdateExpression=f"SET request_status = :s {remove}",
            ExpressionAttributeValues={":s": {"S": status}},
        )
    stray = {"pk": {"S": "not-a-ulid"}, "sk": {"S": "REQUEST"}, "request_status": {"S": "NEW"}}
    table.put_item(TableName=aws.requests_table, Item=stray)
    store = aws.request_store()
    dry = backfill(store, dry_run=True)
    assert [s["request_id"] for s in store.requests_in_status(RequestStatus.OFFERED)] == []

    # When the backfill runs, then runs again
    assert main([]) == 1
    printed = capsys.readouterr()
    first, second = json.loads(printed.out), backfill(store)

    # Then each request is listed under its status, written once, and the stray item named (exit 1);
    # the dry run only counted
    assert (dry, first, second) == (
        {"to_write": 3, "already": 1, "not_keyed": 1},
        {"written": 3, "already": 1, "not_keyed": 1},
        {"already": 4, "not_keyed": 1},
    )
    assert [s["request_id"] for s in store.requests_in_status(RequestStatus.NEW)] == [unkeyed, keyed]
    assert [s["request_id"] for s in store.requests_in_status(RequestStatus.OFFERED)] == [offered, stale]
    assert set(printed.err.splitlines()) == {"not a request id: not-a-ulid"}


def test_offered_requests_are_read_as_far_back_as_the_configured_waves_last(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from directormatch.aws import tables
    from directormatch.settings import get_settings

    # Given the longest waves the settings allow (10 of 72 hours: 30 days), and a request OFFERED
    # 20 days ago
    aws.use_function("SweepFunction")
    monkeypatch.setenv("OFFER_HOURS", "72")
    monkeypatch.setenv("MAX_WAVES", "10")
    get_settings.cache_clear()
    today = datetime.now(UTC)
    request_id = stored(aws, RequestStatus.OFFERED, today - timedelta(days=20))

    # When the functions' store and a store with the default waves read OFFERED requests
    configured = tables.requests().requests_in_status(RequestStatus.OFFERED)
    default = aws.request_store().requests_in_status(RequestStatus.OFFERED)

    # Then only the configured one reaches back to it (31 days: the waves' 30 and one more)
    assert [s["request_id"] for s in configured] == [request_id]
    assert list(default) == []
    assert tables.requests().days_in_status(RequestStatus.OFFERED) == 31
