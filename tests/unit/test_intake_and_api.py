"""Pure parts of intake and the API edge: body hash, stored item shape, error mapping, envelope checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.errors import QuoteInvalid, RequestRejected
from directormatch.intake import submit as intake
from directormatch.intake.contract import FieldError, QuoteRequest
from directormatch.intake.http import check_envelope, validate_quote
from tests.events import api_event, quote_body


def reorder(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(v) for v in value]
    return value


def test_body_hash_key_order_and_whitespace_give_same_hash() -> None:
    # Given one body sent twice: compact with keys in order, and indented with keys reversed
    body = quote_body()
    compact = json.dumps(body, separators=(",", ":"))
    spaced = json.dumps(reorder(body), indent=4)

    # When both are validated and hashed
    first = intake.body_hash(QuoteRequest.model_validate(json.loads(compact)))
    second = intake.body_hash(QuoteRequest.model_validate(json.loads(spaced)))

    # Then the hashes match
    assert first == second


@pytest.mark.parametrize(
    ("field", "value"),
    [("locations", 2), ("states", ["TX", "OK"]), ("notes", "Other notes"), ("notes", None)],
)
def test_body_hash_different_content_gives_different_hash(field: str, value: Any) -> None:
    # Given a body and the same body with one field changed
    original = QuoteRequest.model_validate(quote_body())
    changed = QuoteRequest.model_validate(quote_body(**{field: value}))

    # When both are hashed
    # Then the hashes differ
    assert intake.body_hash(original) != intake.body_hash(changed)


def test_body_hash_equivalent_normalised_input_gives_same_hash() -> None:
    # Given one body with the phone and state written differently
    plain = QuoteRequest.model_validate(quote_body())
    other = quote_body(states=["tx"])
    other["contact"]["phone"] = "+1 512 555 0147"

    # When both are hashed
    # Then normalisation makes them the same request
    assert intake.body_hash(plain) == intake.body_hash(QuoteRequest.model_validate(other))


def test_request_item_holds_new_status_e164_phone_and_no_empty_fields() -> None:
    # Given a validated body without notes
    body = quote_body()
    del body["notes"]
    quote = QuoteRequest.model_validate(body)
    now = datetime(2026, 11, 25, 17, 20, 0, 123456, tzinfo=UTC)

    # When the REQUEST item is built
    item = intake.request_item("01JREQUEST0000000000000001", quote, now, "DM-E2T1-F616")

    # Then it is keyed by the request id, NEW, with its code, the phone in E.164 and no None values
    assert (item["pk"], item["sk"], item["request_status"], item["reference"]) == (
        "01JREQUEST0000000000000001",
        "REQUEST",
        "NEW",
        "DM-E2T1-F616",
    )
    assert item["created_at"] == "2026-11-25T17:20:00.123+00:00"
    assert item["contact"]["phone"] == "+15125550147"  # type: ignore[index]
    assert "notes" not in item
    assert from_attributes(to_attributes(item)) == item


def invalid_fields(body: Any) -> list[FieldError]:
    with pytest.raises(QuoteInvalid) as caught:
        validate_quote(body)
    return caught.value.errors


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"states": ["TX", "XX"]},
            [
                FieldError(
                    field="states.1", message="'XX' is not a USPS code of a US state or DC", type="us_state"
                )
            ],
        ),
        (
            {"favourite_colour": "teal"},
            [
                FieldError(
                    field="favourite_colour", message="is not a field of this request", type="extra_forbidden"
                )
            ],
        ),
        (
            {"contact": {"name": "Maria", "phone": "5125550147"}},
            [FieldError(field="contact.email", message="is required", type="missing")],
        ),
        (
            {"supervisees": {"np": 501, "pa": 0}},
            [
                FieldError(
                    field="supervisees.np",
                    message="Input should be less than or equal to 500",
                    type="less_than_equal",
                    limit=500,
                )
            ],
        ),
        (
            {"locations": "two", "consent": False},
            [
                FieldError(field="locations", message="Input should be a valid integer", type="int_type"),
                FieldError(
                    field="consent",
                    message="must be true: we need your consent to share the request with physicians",
                    type="consent_required",
                ),
            ],
        ),
    ],
    ids=["own-check", "extra", "missing", "limit", "several"],
)
def test_validate_quote_errors_carry_dotted_field_message_type_and_limit(
    change: dict[str, Any], expected: list[FieldError]
) -> None:
    # Given a body breaking the contract in the fields changed
    body = quote_body(**change)

    # When it is validated
    errors = invalid_fields(body)

    # Then each problem names its dotted field, a readable message, pydantic's type and the bound
    assert errors == expected


def test_validate_quote_body_not_an_object_is_named_body() -> None:
    # Given a JSON array instead of an object
    # When it is validated
    errors = invalid_fields([])

    # Then the whole body is to blame
    assert [(e.field, e.type) for e in errors] == [("body", "model_type")]


def test_validate_quote_errors_never_echo_the_input() -> None:
    # Given notes that are too long
    body = quote_body(notes="x" * 2001)

    # When it is validated
    errors = invalid_fields(body)

    # Then the field is named and the input is not repeated
    assert [e.field for e in errors] == ["notes"]
    assert "xxxx" not in errors[0].model_dump_json()


def envelope(body: str, headers: dict[str, str] | None = None, base64: bool = False) -> APIGatewayProxyEvent:
    event = api_event(body=body, headers=headers)
    event["isBase64Encoded"] = base64
    return APIGatewayProxyEvent(event)


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        ("x" * 40_000, None, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body"),
        ("{}", {"Content-Type": "text/plain"}, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "content-type"),
        (
            "{}",
            {"content-type": "application/x-www-form-urlencoded"},
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "content-type",
        ),
    ],
    ids=["too-large", "text-plain", "form-encoded"],
)
def test_check_envelope_oversized_or_non_json_body_is_rejected(
    body: str, headers: dict[str, str] | None, status: HTTPStatus, field: str
) -> None:
    # Given a request too large for the 32 KB limit or not declared as JSON
    event = envelope(body, headers)

    # When the envelope is checked
    with pytest.raises(RequestRejected) as caught:
        check_envelope(event, max_body_bytes=32 * 1024)

    # Then it is refused with the status and the field to blame
    assert (caught.value.status, caught.value.field) == (status, field)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/ld+json"],
)
def test_check_envelope_json_media_types_pass(content_type: str) -> None:
    # Given a small body declared as JSON
    event = envelope("{}", {"Content-Type": content_type})

    # When the envelope is checked
    # Then nothing is raised
    check_envelope(event, max_body_bytes=32 * 1024)
