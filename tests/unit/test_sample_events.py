"""The sample events in events/ stay consistent with the contract and with each other."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from directormatch.aws.attributes import from_attributes
from directormatch.intake import submit as intake
from directormatch.intake.contract import QuoteRequest
from directormatch.references import parse_reference
from tests.events import (
    INTAKE_POST,
    MATCH_NEW_REQUEST,
    NOTIFY_NEW_OFFER,
    NOTIFY_NEW_REQUEST,
    QUOTE_REQUEST,
    api_event,
    load_event,
    load_stream_event,
    start_by,
    stream_record,
)

STREAM_FILES = [MATCH_NEW_REQUEST, NOTIFY_NEW_REQUEST, NOTIFY_NEW_OFFER]


def test_load_event_returns_an_independent_copy() -> None:
    # Given a loaded event that a test changes
    first = load_event(QUOTE_REQUEST)
    first["states"].append("OK")

    # When the same file is loaded again
    second = load_event(QUOTE_REQUEST)

    # Then the change did not leak
    assert second["states"] == ["TX"]


def test_intake_event_is_a_json_post_carrying_the_sample_body() -> None:
    # Given the API Gateway event file
    event = load_event(INTAKE_POST)

    # When its envelope and body are read
    headers = {name.lower(): value for name, value in event["headers"].items()}

    # Then it is a plain-text JSON POST to the template's route whose body is events/quote_request.json
    assert (event["httpMethod"], event["resource"], event["path"]) == (
        "POST",
        "/quote-requests",
        "/quote-requests",
    )
    assert event["isBase64Encoded"] is False
    assert headers["content-type"] == "application/json"
    assert json.loads(event["body"]) == load_event(QUOTE_REQUEST)
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]


def test_api_event_builder_replaces_body_and_headers_case_insensitively() -> None:
    # Given the sample event
    # When a body and a differently cased header are overridden and one header dropped
    event = api_event(body="{}", headers={"content-type": "text/plain"}, without_headers=("Idempotency-Key",))

    # Then the event carries exactly the overrides
    assert event["body"] == "{}"
    content_types = [v for k, v in event["headers"].items() if k.lower() == "content-type"]
    assert content_types == ["text/plain"]
    assert not any(k.lower() == "idempotency-key" for k in event["multiValueHeaders"])


@pytest.mark.parametrize("path", STREAM_FILES)
def test_stream_event_files_hold_insert_records_of_the_requests_table_items(path: str) -> None:
    # Given a stream event file
    event = load_event(path)

    # When its records are read
    records = event["Records"]

    # Then each is an INSERT from DynamoDB with keys matching the image
    assert records
    for record in records:
        assert (record["eventName"], record["eventSource"], record["eventVersion"]) == (
            "INSERT",
            "aws:dynamodb",
            "1.1",
        )
        image = record["dynamodb"]["NewImage"]
        assert record["dynamodb"]["Keys"] == {"pk": image["pk"], "sk": image["sk"]}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert record["eventSourceARN"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/")


@pytest.mark.parametrize("path", [MATCH_NEW_REQUEST, NOTIFY_NEW_REQUEST])
def test_request_image_is_what_intake_writes_for_the_sample_body(path: str) -> None:
    # Given the REQUEST image of a stream event file
    item = from_attributes(load_event(path)["Records"][0]["dynamodb"]["NewImage"])
    created = datetime.fromisoformat(item["created_at"])

    # When the sample body is validated as of that day and turned into an item by intake
    quote = QuoteRequest.model_validate(load_event(QUOTE_REQUEST), context={"now": created})
    expected = intake.request_item(item["request_id"], quote, created, item["reference"])

    # Then the image is exactly that item, with a well-formed reference code
    assert item == expected
    assert parse_reference(item["reference"]) == item["reference"]


def test_offer_image_belongs_to_the_sample_request() -> None:
    # Given the OFFER image and the REQUEST image of the sample events
    offer = from_attributes(load_event(NOTIFY_NEW_OFFER)["Records"][0]["dynamodb"]["NewImage"])
    request = from_attributes(load_event(NOTIFY_NEW_REQUEST)["Records"][0]["dynamodb"]["NewImage"])

    # When they are compared
    summary: dict[str, Any] = offer["summary"]

    # Then the offer is for that request and summarises it without contact details
    assert offer["pk"] == offer["request_id"] == request["request_id"]
    assert offer["reference"] == request["reference"]
    assert offer["sk"] == f"OFFER#{offer['director_id']}"
    assert {k: summary[k] for k in ("states", "modalities", "supervisees", "locations")} == {
        k: request[k] for k in ("states", "modalities", "supervisees", "locations")
    }
    assert "contact" not in offer
    assert "clinic" not in offer


@pytest.mark.parametrize("path", STREAM_FILES)
def test_load_stream_event_moves_start_dates_relative_to_today(path: str) -> None:
    # Given a stream event file holding a fixed start date
    # When it is loaded for a test
    item = from_attributes(load_stream_event(path)["Records"][0]["dynamodb"]["NewImage"])

    # Then its start date is relative to today
    assert item.get("start_by", item.get("summary", {}).get("start_by")) == start_by()


def test_stream_record_same_item_gives_same_identifiers_and_others_differ() -> None:
    # Given two items
    first = {"pk": "R1", "sk": "REQUEST", "request_id": "R1"}
    second = {"pk": "R2", "sk": "REQUEST", "request_id": "R2"}

    # When records are built for them, the first twice
    a, again, b = stream_record(first), stream_record(first), stream_record(second)

    # Then a redelivery is the same record and another item has its own sequence number
    assert a == again
    assert a["dynamodb"]["SequenceNumber"] != b["dynamodb"]["SequenceNumber"]
    assert a["dynamodb"]["NewImage"] == {"pk": {"S": "R1"}, "sk": {"S": "REQUEST"}, "request_id": {"S": "R1"}}
