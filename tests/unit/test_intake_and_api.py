"""Pure parts of intake and the API edge: body hash, stored item shape, error mapping, envelope checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.intake import submit as intake
from directormatch.intake.contract import FieldError, QuoteRequest
from directormatch.intake.http import RequestRejected, _field_errors, check_envelope
from directormatch.intake.schema import ContractError
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
    first = intake.body_hash(QuoteRequest.validate(json.loads(compact)))
    second = intake.body_hash(QuoteRequest.validate(json.loads(spaced)))

    # Then the hashes match
    assert first == second


@pytest.mark.parametrize(
    ("field", "value"),
    [("locations", 2), ("states", ["TX", "OK"]), ("notes", "Other notes"), ("notes", None)],
)
def test_body_hash_different_content_gives_different_hash(field: str, value: Any) -> None:
    # Given a body and the same body with one field changed
    original = QuoteRequest.validate(quote_body())
    changed = QuoteRequest.validate(quote_body(**{field: value}))

    # When both are hashed
    # Then the hashes differ
    assert intake.body_hash(original) != intake.body_hash(changed)


def test_body_hash_equivalent_normalised_input_gives_same_hash() -> None:
    # Given one body with the phone and state written differently
    plain = QuoteRequest.validate(quote_body())
    other = quote_body(states=["tx"])
    other["contact"]["phone"] = "+1 512 555 0147"

    # When both are hashed
    # Then normalisation makes them the same request
    assert intake.body_hash(plain) == intake.body_hash(QuoteRequest.validate(other))


def test_request_item_holds_new_status_e164_phone_and_no_empty_fields() -> None:
    # Given a validated body without notes
    body = quote_body()
    del body["notes"]
    quote = QuoteRequest.validate(body)
    now = datetime(2026, 11, 25, 17, 20, 0, 123456, tzinfo=UTC)

    # When the REQUEST item is built
    item = intake.request_item("01JREQUEST0000000000000001", quote, now)

    # Then it is keyed by the request id, NEW, with the phone in E.164 and no None values
    assert (item["pk"], item["sk"], item["request_status"]) == (
        "01JREQUEST0000000000000001",
        "REQUEST",
        "NEW",
    )
    assert item["created_at"] == "2026-11-25T17:20:00.123+00:00"
    assert item["contact"]["phone"] == "+15125550147"  # type: ignore[index]
    assert "notes" not in item
    assert from_attributes(to_attributes(item)) == item


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        (
            [
                {
                    "loc": ("body", "states", 0),
                    "type": "value_error",
                    "msg": "Value error, 'XX' is not a USPS code",
                }
            ],
            [FieldError(field="states.0", message="'XX' is not a USPS code")],
        ),
        (
            [
                {
                    "loc": ("body", "favourite_colour"),
                    "type": "extra_forbidden",
                    "msg": "Extra inputs are not permitted",
                }
            ],
            [FieldError(field="favourite_colour", message="is not a field of this request")],
        ),
        (
            [{"loc": ("body", "contact", "email"), "type": "missing", "msg": "Field required"}],
            [FieldError(field="contact.email", message="is required")],
        ),
        (
            [
                {
                    "loc": ("body",),
                    "type": "model_attributes_type",
                    "msg": "Input should be a valid dictionary",
                }
            ],
            [FieldError(field="body", message="Input should be a valid dictionary")],
        ),
        ([{"loc": (), "type": "value_error"}], [FieldError(field="body", message="is invalid")]),
        (
            [
                {"loc": ("body", "locations"), "type": "int_type", "msg": "Input should be a valid integer"},
                {"loc": ("body", "consent"), "type": "value_error", "msg": "Value error, must be true"},
            ],
            [
                FieldError(field="locations", message="Input should be a valid integer"),
                FieldError(field="consent", message="must be true"),
            ],
        ),
    ],
    ids=["value-error", "extra", "missing", "whole-body", "no-loc-no-msg", "several"],
)
def test_field_errors_validation_errors_map_to_field_and_message(
    errors: list[dict[str, Any]], expected: list[FieldError]
) -> None:
    # Given validation errors as Powertools reports them (loc starting with "body")
    # When they are mapped
    result = _field_errors(errors)

    # Then each becomes {field, message} with a dotted path and a readable message
    assert result == expected


def test_field_errors_never_echo_the_input() -> None:
    # Given a real validation error on a secret-looking value
    body = quote_body(notes="x" * 2001)
    with pytest.raises(ContractError) as caught:
        QuoteRequest.validate(body)
    errors: list[dict[str, Any]] = [
        {**e, "loc": ("body", *e["loc"])} for e in caught.value.errors(include_input=False)
    ]

    # When they are mapped
    result = _field_errors(errors)

    # Then the field is named and the input is not repeated
    assert [e.field for e in result] == ["notes"]
    assert "xxxx" not in result[0].message


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
