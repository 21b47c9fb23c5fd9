"""Reading a quote request off the HTTP event: the envelope (size, media type, encoding), then the
JSON body or the form's fields and the Idempotency-Key, validated by the contract's models.

Problems are raised (RequestRejected, QuoteInvalid); directormatch.resolvers answers them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import Any, NoReturn

from pydantic import ValidationError

from directormatch.errors import QuoteInvalid, RequestRejected
from directormatch.intake.contract import IDEMPOTENCY_KEY_MAX_LENGTH, FieldError, QuoteRequest, field_errors
from directormatch.intake.form import FORM_CONTENT_TYPE, FormPost

JSON_TYPES = ("application/json",)


def check_envelope(event: Any, max_body_bytes: int, accepted: tuple[str, ...] = JSON_TYPES) -> str:
    """Size and media type first: a 100 KB body is refused as too large, not as 40 invalid fields.
    The body as text once they pass (decoded_body)."""
    body = event.body or ""
    # surrogatepass: a body may hold a lone surrogate as text, which the contract then names.
    size = len(body.encode("utf-8", "surrogatepass")) if not event.is_base64_encoded else len(body) * 3 // 4
    if size > max_body_bytes:
        raise RequestRejected(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "body",
            f"body is {size} bytes; the limit is {max_body_bytes}",
            "body_too_large",
        )
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    json_like = accepted == JSON_TYPES and content_type.endswith("+json")
    if content_type and content_type not in accepted and not json_like:
        raise RequestRejected(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "content-type",
            f"'{content_type}' is not accepted; send {accepted[0]}",
            "media_type",
        )
    return decoded_body(event)


def read_form(event: Any, max_body_bytes: int, parse: Callable[[str], FormPost]) -> FormPost:
    """A form posted without JavaScript, parsed by its form's `parse`; more fields than any form has
    are a 400."""
    text = check_envelope(event, max_body_bytes, accepted=(FORM_CONTENT_TYPE,))
    try:
        return parse(text)
    except ValueError:
        raise RequestRejected(
            HTTPStatus.BAD_REQUEST, "body", "too many form fields", "too_many_fields"
        ) from None


def decoded_body(event: Any) -> str:
    """The body as text; a base64 body that does not decode, or bytes that are not UTF-8, are a 400."""
    body = event.body or ""
    if not event.is_base64_encoded:
        return str(body)
    try:
        raw = base64.b64decode(body.encode())
    except (binascii.Error, ValueError):
        raise RequestRejected(
            HTTPStatus.BAD_REQUEST, "body", "body is marked base64 but is not base64", "body_encoding"
        ) from None
    try:
        return raw.decode()
    except UnicodeDecodeError as error:
        message = f"body is not valid UTF-8 (byte {error.start} cannot be read)"
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "body", message, "body_encoding") from None


class _RepeatedKey(dict[str, Any]):
    """An object in which `key` appears more than once (json keeps the last; we refuse it)."""

    def __init__(self, pairs: list[tuple[str, Any]], key: str) -> None:
        super().__init__(pairs)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _RepeatedKey(pairs, key)
        seen.add(key)
    return dict(pairs)


def _integer(text: str) -> int | float:
    """An integer too long for int() (Python's 4,300-digit limit) is beyond every bound: read as
    +-inf, which the contract refuses as out of range for a count and as the wrong type elsewhere."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _not_json(constant: str) -> NoReturn:
    raise RequestRejected(
        HTTPStatus.BAD_REQUEST,
        "body",
        f"body is not valid JSON: {constant} is not a JSON number",
        "json_invalid",
    )


def _repeated_key_path(value: Any) -> str | None:
    """The dotted path ("clinic.name", "states.0.x") of the first repeated key, walked without
    recursion: the body may nest as deep as the JSON reader allows."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while pending:
        node, path = pending.pop()
        if isinstance(node, _RepeatedKey):
            return ".".join((*path, node.key))
        if isinstance(node, dict):
            pending.extend((child, (*path, key)) for key, child in reversed(node.items()))
        elif isinstance(node, list):
            pending.extend((child, (*path, str(index))) for index, child in reversed(list(enumerate(node))))
    return None


def parse_json_body(text: str) -> Any:
    """The JSON value, or a RequestRejected (400) naming the problem. Stricter than json.loads:
    NaN and Infinity are not JSON; a key repeated in one object is ambiguous (which value did the
    client mean?), so it is refused, naming the key. Neither an integer of any length nor nesting
    deeper than Python's recursion limit raises past here (ValueError, RecursionError: a 500)."""
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_int=_integer, parse_constant=_not_json)
    except json.JSONDecodeError as error:
        message = f"body is not valid JSON: {error.msg}"
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "body", message, "json_invalid") from None
    except RecursionError:
        message = "body is nested too deeply to read"
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "body", message, "json_invalid") from None
    repeated = _repeated_key_path(value)
    if repeated is not None:
        message = "this key appears more than once in the same object; send it once"
        raise RequestRejected(HTTPStatus.BAD_REQUEST, repeated, message, "json_duplicate_key")
    return value


def validate_quote(fields: Any, now: datetime | None = None) -> QuoteRequest:
    """The input as the contract's model, or QuoteInvalid listing every invalid field.
    `now` moves "today" for the start date rules (tests)."""
    try:
        return QuoteRequest.model_validate(fields, context={"now": now})
    except ValidationError as error:
        raise QuoteInvalid(field_errors(error.errors(include_input=False, include_url=False))) from None


def _idempotency_key_errors(key: str | None) -> list[FieldError]:
    if key is None or len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        return []
    message = f"String should have at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters"
    return [
        FieldError(
            field="Idempotency-Key", message=message, type="string_too_long", limit=IDEMPOTENCY_KEY_MAX_LENGTH
        )
    ]


def read_quote(event: Any, max_body_bytes: int) -> tuple[QuoteRequest, str | None]:
    """The JSON route's input: the envelope first, then the body and the Idempotency-Key, whose
    errors are reported together (QuoteInvalid; the header's first, as the client sent it)."""
    text = check_envelope(event, max_body_bytes)
    key = event.headers.get("idempotency-key")
    errors = _idempotency_key_errors(key)
    if not text:
        raise QuoteInvalid([*errors, FieldError(field="body", message="is required", type="missing")])
    try:
        quote = validate_quote(parse_json_body(text))
    except QuoteInvalid as invalid:
        raise QuoteInvalid([*errors, *invalid.errors]) from None
    if errors:
        raise QuoteInvalid(errors)
    return quote, key
