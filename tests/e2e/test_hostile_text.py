"""Hostile text over HTTP against the local stack (on moto, and on DynamoDB Local when `make test`
runs the suite with DYNAMODB=local): a clinic name holding U+2028 (or U+2029, U+0085), and a lone
surrogate in any text field. Stored, the first would break the director's introduction; the second
fails to encode (a 500 on moto; on DynamoDB Local a request stored with no receipt ever sent). Each
must be a 4xx naming the field, with nothing stored or sent."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.test_local_stack import quote_body
from tests.integration.test_intake_form import form_fields

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Long enough for the stream pump to have passed a stored item to notify, had one been stored.
SETTLE_SECONDS = 1.5


def hostile_body(marker: str, path: str, value: str) -> dict[str, Any]:
    """The sample quote with `value` at the dotted `path`, and a marker in the notes to look for."""
    body = quote_body(notes=f"e2e {marker}")
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[part]  # type: ignore[assignment]
    target[last] = value  # type: ignore[index]
    return body


def stored_with(stack: RunningStack, marker: str) -> list[dict[str, Any]]:
    """Every item of the Requests table whose notes hold the marker (a test-only scan)."""
    items = stack.dynamodb().scan(
        TableName="RequestsTable",
        FilterExpression="contains(notes, :marker)",
        ExpressionAttributeValues={":marker": {"S": marker}},
    )["Items"]
    return list(items)


def sent_with(stack: RunningStack, marker: str) -> list[dict[str, Any]]:
    """Emails in the outbox whose raw file mentions the marker."""
    outbox = stack.state_dir / "outbox"
    return [e for e in stack.outbox() if marker in (outbox / e["file"]).read_text(errors="replace")]


ATTACKS = [
    pytest.param("clinic.name", "A\u2028B", "line_separator", id="attack2-line-separator"),
    pytest.param("clinic.name", "A\u2029B", "line_separator", id="attack2-paragraph-separator"),
    pytest.param("clinic.name", "A\x85B", "control_characters", id="attack2-next-line"),
    pytest.param("contact.name", "Maria \ud800 D", "lone_surrogate", id="attack3-contact-name"),
    pytest.param("clinic.name", "Maria \ud800 D", "lone_surrogate", id="attack3-clinic-name"),
    pytest.param("contact.email", "maria\udfff@clinic.example", "lone_surrogate", id="attack3-email"),
]


@pytest.mark.parametrize(("path", "value", "reason"), ATTACKS)
def test_stack_hostile_text_in_json_is_refused_naming_the_field_and_nothing_is_stored(
    local_stack: RunningStack, path: str, value: str, reason: str
) -> None:
    # Given the quote with the hostile text in one field, as JSON ("\ud800" as its JSON escape)
    marker = uuid.uuid4().hex
    payload = json.dumps(hostile_body(marker, path, value))
    assert payload.isascii()

    # When it is posted over HTTP
    status, _, data = local_stack.request("POST", "/quote-requests", payload.encode(), JSON)

    # Then it is refused with a 422 naming the field and the rule's reason
    assert status == 422, data
    errors = json.loads(data)["errors"]
    assert [(e["field"], e["type"]) for e in errors] == [(path, reason)]
    assert errors[0]["message"].startswith("must not contain")
    # And nothing is stored, and nothing sent
    time.sleep(SETTLE_SECONDS)
    assert stored_with(local_stack, marker) == []
    assert sent_with(local_stack, marker) == []


def test_stack_hostile_text_in_a_form_post_is_refused_with_a_page_and_nothing_is_stored(
    local_stack: RunningStack,
) -> None:
    # Given the quote form posted without JavaScript, its clinic name holding U+2028
    marker = uuid.uuid4().hex
    form = form_fields(clinic_name="A\u2028B", notes=f"e2e {marker}")

    # When it is posted
    status, headers, data = local_stack.request("POST", "/quote-requests", urlencode(form).encode(), FORM)

    # Then the answer is a 422 page naming the field in words, and nothing is stored
    assert status == 422, data[:500]
    assert headers["Content-Type"].startswith("text/html")
    assert "<strong>Clinic name</strong> holds a hidden line break" in data.decode()
    time.sleep(SETTLE_SECONDS)
    assert stored_with(local_stack, marker) == []


def test_stack_surrogate_bytes_in_the_body_are_a_400_and_nothing_is_stored(local_stack: RunningStack) -> None:
    # Given the JSON quote with the UTF-8-like bytes of U+D800 (ED A0 80, which no UTF-8 decoder reads)
    marker = uuid.uuid4().hex
    payload = json.dumps(hostile_body(marker, "contact.name", "Maria @@ D")).encode()
    payload = payload.replace(b"@@", b"\xed\xa0\x80")

    # When it is posted
    status, _, data = local_stack.request("POST", "/quote-requests", payload, JSON)

    # Then the body is refused as not UTF-8, and nothing is stored
    assert status == 400, data
    assert json.loads(data)["errors"][0]["field"] == "body"
    assert stored_with(local_stack, marker) == []


def test_stack_emoji_joined_by_zero_width_joiners_are_accepted_and_reach_the_receipt(
    local_stack: RunningStack,
) -> None:
    # Given a clinic whose name holds a family emoji (joined by ZWJs), in NFD
    marker = uuid.uuid4().hex
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    body = hostile_body(marker, "clinic.name", f"Fami{family}ly Care Cafe\u0301")

    # When it is posted
    status, _, data = local_stack.request("POST", "/quote-requests", json.dumps(body).encode(), JSON)

    # Then it is accepted and stored in NFC, emoji whole
    assert status == 201, data
    [item] = stored_with(local_stack, marker)
    assert item["clinic"]["M"]["name"]["S"] == f"Fami{family}ly Care Caf\u00e9"
    # And its receipt goes out
    request_id = json.loads(data)["request_id"]
    deadline = time.monotonic() + 10
    while not any(e["kind"] == "receipt" and request_id in e["message_id"] for e in local_stack.outbox()):
        assert time.monotonic() < deadline, "the receipt did not arrive"
        time.sleep(0.1)
