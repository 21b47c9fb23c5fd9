"""The match handler on DynamoDB stream batches: offers, NO_MATCH, redelivery, partial batch failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from directormatch.matching.engine import LICENSE_MARGIN
from local.lambdas import LambdaContext
from ops.roster.synthetic import synthetic_roster
from tests.events import (
    MATCH_NEW_REQUEST,
    load_stream_event,
    stream_event,
    stream_record,
)
from tests.integration.conftest import Aws, Handler, LoadDirectors, Submit, call_with


@pytest.fixture
def match(match_app: ModuleType, lambda_context: LambdaContext) -> Handler:
    """The match handler, called with the test's Lambda context."""
    return call_with(match_app, lambda_context)


def partition(aws: Aws, request_id: str) -> list[dict[str, Any]]:
    return [item for item in aws.items() if item["pk"] == request_id]


def director_items_by_key(aws: Aws) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["pk"], item["sk"]): item for item in aws.items(aws.directors_table)}


@pytest.fixture
def roster(load_roster: LoadDirectors) -> list[dict[str, Any]]:
    """Three directors per state (each block of 51 covers every state), loaded by DirectorStore.put_items."""
    return load_roster(count=153)


def test_match_new_request_offers_up_to_three_directors_licensed_for_it(
    aws: Aws, roster: list[dict[str, Any]], submit_quote: Submit, match: Handler
) -> None:
    # Given a TX aesthetics + weight-loss request written by the intake handler, and its stream record
    request = submit_quote()
    event = stream_event(stream_record(request))

    # When the match handler receives the batch
    response = match(event)

    # Then no record failed
    assert response == {"batchItemFailures": []}
    items = {item["sk"]: item for item in partition(aws, request["request_id"])}
    offers = [item for sk, item in items.items() if sk.startswith("OFFER#")]
    # And a MATCH item lists the first wave of up to 3 open offers
    assert 1 <= len(offers) <= 3
    assert sorted(s["director_id"] for s in items["MATCH"]["shortlist"]) == sorted(
        o["director_id"] for o in offers
    )
    assert items["REQUEST"]["request_status"] == "OFFERED"
    start_by = date.fromisoformat(request["start_by"])
    directors = director_items_by_key(aws)
    for offer in offers:
        assert offer["sk"] == f"OFFER#{offer['director_id']}"
        assert (offer["offer_status"], offer["wave"], offer["request_id"]) == (
            "OPEN",
            1,
            request["request_id"],
        )
        # And every offered director holds an ACTIVE TX license lasting past the start + 30 days
        license_item = directors[(offer["director_id"], "LICENSE#TX")]
        assert license_item["license_status"] == "ACTIVE"
        assert date.fromisoformat(license_item["license_expires_on"]) >= start_by + LICENSE_MARGIN
        # And offers every requested modality, is active, not paused and has room
        profile = directors[(offer["director_id"], "PROFILE")]
        assert {"aesthetics", "weight_loss"} <= set(profile["modalities"])
        assert profile["active"]
        assert not profile["paused"]
        assert profile["active_clinics"] < profile["max_clinics"]
        assert offer["reasons"][0].startswith("You are licensed in TX until ")
        # And the offer carries the request summary, not the clinic's contact details
        assert offer["summary"]["states"] == ["TX"]
        assert "contact" not in offer
        assert "clinic" not in offer


def test_match_exact_shortlist_order_is_recorded(
    aws: Aws, roster: list[dict[str, Any]], submit_quote: Submit, match: Handler
) -> None:
    # Given a matched request
    request = submit_quote()
    match(stream_event(stream_record(request)))

    # When its MATCH and OFFER items are read
    items = {item["sk"]: item for item in partition(aws, request["request_id"])}
    offers = {sk.removeprefix("OFFER#"): item for sk, item in items.items() if sk.startswith("OFFER#")}

    # Then the shortlist is ranked by score and names exactly the offered directors
    shortlist = [s["director_id"] for s in items["MATCH"]["shortlist"]]
    assert sorted(shortlist) == sorted(offers)
    assert [offers[d]["score"] for d in shortlist] == sorted(
        (o["score"] for o in offers.values()), reverse=True
    )
    assert items["MATCH"]["candidates"] >= len(shortlist)


def test_match_redelivered_record_writes_nothing_new(
    aws: Aws, roster: list[dict[str, Any]], submit_quote: Submit, match: Handler
) -> None:
    # Given a request already matched from its stream record
    request = submit_quote()
    event = stream_event(stream_record(request))
    match(event)
    before = aws.items()

    # When the same record is delivered again
    response = match(event)

    # Then it succeeds and the table is exactly as it was
    assert response == {"batchItemFailures": []}
    assert aws.items() == before


def test_match_request_nobody_can_serve_is_no_match_without_offers(
    aws: Aws,
    load_roster: LoadDirectors,
    director_factory: Callable[..., list[dict[str, Any]]],
    submit_quote: Submit,
    match: Handler,
) -> None:
    # Given directors everywhere except Wyoming, plus one inactive director licensed there
    without_wy = [item for item in synthetic_roster(count=102) if item["sk"] != "LICENSE#WY"]
    load_roster(without_wy + director_factory("D-WY-INACTIVE", ["WY"], active=False))
    request = submit_quote(states=["WY"])

    # When the match handler receives its stream record
    response = match(stream_event(stream_record(request)))

    # Then the request is NO_MATCH, with no offers and the exclusion counted
    assert response == {"batchItemFailures": []}
    items = {item["sk"]: item for item in partition(aws, request["request_id"])}
    assert set(items) == {"REQUEST", "MATCH", "ALERT#NO_MATCH"}
    assert items["REQUEST"]["request_status"] == "NO_MATCH"
    assert items["MATCH"]["shortlist"] == []
    assert items["MATCH"]["candidates"] == 1
    assert items["MATCH"]["excluded"] == {"INACTIVE": 1}


def test_match_garbage_record_fails_alone_while_the_others_are_matched(
    aws: Aws, roster: list[dict[str, Any]], submit_quote: Submit, match: Handler
) -> None:
    # Given a batch of two real requests around a REQUEST image missing its required fields
    first = submit_quote()
    second = submit_quote(states=["OK"], modalities=["aesthetics"])
    garbage = stream_record({"pk": "01JGARBAGE0000000000000000", "sk": "REQUEST", "request_status": "NEW"})
    event = stream_event(stream_record(first), garbage, stream_record(second))

    # When the match handler receives the batch
    response = match(event)

    # Then exactly the garbage record is reported, by its sequence number
    assert response == {"batchItemFailures": [{"itemIdentifier": garbage["dynamodb"]["SequenceNumber"]}]}
    # And both real requests were matched
    for request in (first, second):
        skus = {item["sk"] for item in partition(aws, request["request_id"])}
        assert "MATCH" in skus
    # And nothing was written for the garbage record
    assert partition(aws, "01JGARBAGE0000000000000000") == []


def test_match_records_other_than_new_requests_are_ignored(
    aws: Aws, roster: list[dict[str, Any]], submit_quote: Submit, match: Handler
) -> None:
    # Given a MODIFY of a REQUEST, an INSERT of an OFFER and an INSERT of an EMAIL marker
    request = submit_quote()
    offered = {**request, "request_status": "OFFERED"}
    offer = {"pk": request["request_id"], "sk": "OFFER#D000001", "request_id": request["request_id"]}
    marker = {"pk": request["request_id"], "sk": "EMAIL#receipt#clinic", "email_status": "SENDING"}
    event = stream_event(
        stream_record(offered, event_name="MODIFY", old_item=request),
        stream_record(offer),
        stream_record(marker),
    )
    before = aws.items()

    # When the match handler receives them
    response = match(event)

    # Then none fails and nothing is written
    assert response == {"batchItemFailures": []}
    assert aws.items() == before


def test_match_sample_event_file_drives_the_handler(
    aws: Aws, roster: list[dict[str, Any]], match: Handler
) -> None:
    # Given the REQUEST item of events/match/new_request.json stored (as intake would have) and its event
    event = load_stream_event(MATCH_NEW_REQUEST)
    image = event["Records"][0]["dynamodb"]["NewImage"]
    aws.dynamodb.put_item(TableName=aws.requests_table, Item=image)
    request_id = image["request_id"]["S"]

    # When the match handler receives the sample event
    response = match(event)

    # Then the request is offered to at least one director
    assert response == {"batchItemFailures": []}
    assert aws.request_store().get_request(request_id)["request_status"] == "OFFERED"  # type: ignore[index]
    assert any(item["sk"].startswith("OFFER#") for item in partition(aws, request_id))


def test_match_offer_expiry_follows_offer_hours(
    aws: Aws, roster: list[dict[str, Any]], submit_quote: Submit, match: Handler
) -> None:
    # Given the default 4-hour offer window
    request = submit_quote()

    # When the request is matched
    match(stream_event(stream_record(request)))

    # Then each offer expires 4 hours after it was created
    for offer in (i for i in partition(aws, request["request_id"]) if i["sk"].startswith("OFFER#")):
        created = datetime.fromisoformat(offer["created_at"])
        expires = datetime.fromisoformat(offer["expires_at"])
        assert timedelta(hours=4) - timedelta(seconds=1) <= expires - created <= timedelta(hours=4)


def test_match_batch_where_every_record_fails_raises_so_lambda_retries_it_whole(
    aws: Aws, match: Handler
) -> None:
    # Given a batch holding only a REQUEST image missing its required fields
    event = stream_event(stream_record({"pk": "01JGARBAGE0000000000000000", "sk": "REQUEST"}))

    # When the match handler receives it
    # Then Powertools raises (raise_on_entire_batch_failure) rather than listing every record
    with pytest.raises(BatchProcessingError):
        match(event)
    # And nothing was written but the failure's ledger entry (keys only, for a later replay)
    [entry] = aws.items()
    assert (entry["pk"], entry["item_pk"], entry["item_sk"]) == (
        "STREAM_FAILURE#match",
        "01JGARBAGE0000000000000000",
        "REQUEST",
    )
