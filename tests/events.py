"""Sample events from events/ (made from `sam local generate-event`) and builders that override their fields.

Every loader returns a fresh deep copy, and every start date is moved relative to today, so no test
depends on a date in a file going stale.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.records import Record

EVENTS = Path(__file__).resolve().parent.parent / "events"
QUOTE_REQUEST = "quote_request.json"
INTAKE_POST = "intake/post_quote_request.json"
MATCH_NEW_REQUEST = "match/new_request.json"
NOTIFY_NEW_REQUEST = "notify/new_request.json"
NOTIFY_NEW_OFFER = "notify/new_offer.json"
FAILURES_GIVEN_UP = "failures/batch_given_up.json"

# Far enough ahead to be valid, near enough that every synthetic license (>= 120 days) outlasts it + 30 days.
START_IN_DAYS = 30


@cache
def _read(path: str) -> Any:
    return json.loads((EVENTS / path).read_text())


def load_event(path: str) -> Any:
    """The event stored at events/<path>, as a deep copy the caller may change."""
    return copy.deepcopy(_read(path))


def start_by(days: int = START_IN_DAYS) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def quote_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST body (contract v1) starting START_IN_DAYS from today; top-level fields overridable."""
    body: dict[str, Any] = load_event(QUOTE_REQUEST)
    body["start_by"] = start_by()
    body.update(overrides)
    return body


def with_field(path: str, value: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """`body` (by default quote_body()) with one dotted field ("contact.phone") set; value `...`
    removes it."""
    body = quote_body() if body is None else body
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


def with_raw(path: str, raw_json: str) -> str:
    """quote_body() as JSON text, one dotted field's value replaced by raw JSON text."""
    return json.dumps(with_field(path, "__RAW__")).replace('"__RAW__"', raw_json)


def api_event(
    body: dict[str, Any] | str | None = None,
    headers: dict[str, str] | None = None,
    without_headers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The API Gateway proxy event of POST /quote-requests with another body or headers.

    `body` as a dict is sent as JSON, as a str verbatim; None sends quote_body().
    """
    event: dict[str, Any] = load_event(INTAKE_POST)
    payload = quote_body() if body is None else body
    event["body"] = payload if isinstance(payload, str) else json.dumps(payload)
    changed = {name.lower(): value for name, value in (headers or {}).items()}
    dropped = {name.lower() for name in without_headers} | set(changed)
    for key in ("headers", "multiValueHeaders"):
        event[key] = {name: value for name, value in event[key].items() if name.lower() not in dropped}
    for name, value in (headers or {}).items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    return event


def event_with(**fields: Any) -> dict[str, Any]:
    """The API event of quote_body() with top-level `fields` set."""
    return api_event(body=quote_body(**fields))


def event_with_field(path: str, value: Any) -> dict[str, Any]:
    """The API event of quote_body() with one dotted field set (with_field)."""
    return api_event(body=with_field(path, value))


def page_event(
    method: str, resource: str, parameters: dict[str, str], body: str | None = None
) -> dict[str, Any]:
    """API Gateway REST proxy event of a link's page (GET) or its form (POST, url-encoded `body`), made
    from the intake sample event (sam local generate-event) as a browser sends it."""
    event: dict[str, Any] = load_event(INTAKE_POST)
    path = resource
    for name, value in parameters.items():
        path = path.replace(f"{{{name}}}", value)
    for key in ("headers", "multiValueHeaders"):
        event[key] = {k: v for k, v in event[key].items() if k not in ("Content-Type", "Idempotency-Key")}
    if method == "POST":
        event["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
        event["multiValueHeaders"]["Content-Type"] = ["application/x-www-form-urlencoded"]
    event["headers"]["Accept"] = "text/html"
    event["multiValueHeaders"]["Accept"] = ["text/html"]
    event.update(
        body=(body or "") if method == "POST" else None,
        resource=resource,
        path=path,
        httpMethod=method,
        pathParameters=parameters,
    )
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=f"/v1{path}")
    return event


def refresh_start_by(item: dict[str, Any], days: int = START_IN_DAYS) -> dict[str, Any]:
    """A stored REQUEST or OFFER item (plain python) with its start date moved relative to today."""
    item = copy.deepcopy(item)
    if "start_by" in item:
        item["start_by"] = start_by(days)
    if "summary" in item:
        item["summary"]["start_by"] = start_by(days)
    return item


def _plain(item: Mapping[str, Any] | Record) -> Mapping[str, Any]:
    return item.to_item() if isinstance(item, Record) else item


def stream_record(
    item: Mapping[str, Any] | Record,
    event_name: str = "INSERT",
    old_item: Mapping[str, Any] | Record | None = None,
) -> dict[str, Any]:
    """A DynamoDB stream record shaped like events/match/new_request.json, carrying `item` as NewImage.

    eventID and SequenceNumber derive from the item's keys and event name: a redelivery of the same
    change builds the same record, as Lambda would deliver it.
    """
    record: dict[str, Any] = load_event(MATCH_NEW_REQUEST)["Records"][0]
    item, old_item = _plain(item), _plain(old_item) if old_item is not None else None
    image = to_attributes(item)
    digest = hashlib.sha256(f"{event_name}:{item['pk']}:{item['sk']}".encode()).hexdigest()
    record["eventID"] = digest[:32]
    record["eventName"] = event_name
    dynamodb = record["dynamodb"]
    dynamodb["Keys"] = {"pk": image["pk"], "sk": image["sk"]}
    dynamodb["NewImage"] = image
    dynamodb.pop("OldImage", None)
    if old_item is not None:
        dynamodb["OldImage"] = to_attributes(old_item)
    dynamodb["SequenceNumber"] = str(int(digest[:16], 16))
    dynamodb["SizeBytes"] = len(json.dumps(image))
    return record


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [copy.deepcopy(r) for r in records]}


def load_stream_event(path: str, days: int = START_IN_DAYS) -> dict[str, Any]:
    """A stream event file with every NewImage's start date moved relative to today."""
    event: dict[str, Any] = load_event(path)
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage")
        if image:
            record["dynamodb"]["NewImage"] = to_attributes(refresh_start_by(from_attributes(image), days))
    return event
