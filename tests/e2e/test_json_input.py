"""Hostile JSON through the local stack (HTTP in, API Gateway event, intake), on whichever engine the
stack runs (make test replays it on moto and on DynamoDB Local): numbers of any length, repeated
keys, what json.loads reads but JSON does not have, bytes that are not UTF-8. Each gets a 4xx naming
the field and stores nothing; a count written 270.0 is stored as the integer 270."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack
from tests.events import quote_body, with_raw

pytestmark = pytest.mark.e2e

VALID = json.dumps(quote_body())


# (id, body as text or bytes, status, field, words in the message)
REFUSED: list[tuple[str, str | bytes, int, str, str]] = [
    ("int-4301-digits", with_raw("locations", "1" * 4_301), 422, "locations", "less than or equal to 500"),
    ("int-minus-20000-digits", with_raw("supervisees.np", "-" + "9" * 20_000), 422, "supervisees.np", "0"),
    ("float-1e400", with_raw("supervisees.pa", "1e400"), 422, "supervisees.pa", "less than or equal to 500"),
    ("fraction", with_raw("locations", "270.5"), 422, "locations", "integer"),
    ("nan", with_raw("locations", "NaN"), 400, "body", "NaN is not a JSON number"),
    ("infinity", with_raw("notes", "-Infinity"), 400, "body", "Infinity is not a JSON number"),
    ("consent-twice", VALID[:-1] + ', "consent": true}', 400, "consent", "more than once"),
    (
        "nested-key-twice",
        VALID.replace('"phone": ', '"phone": "(512) 555-0100", "phone": '),
        400,
        "contact.phone",
        "more than once",
    ),
    ("not-utf8", VALID.replace("Bluebonnet", "Bluebönnet").encode("latin-1"), 400, "body", "UTF-8"),
    ("utf8-bom", b"\xef\xbb\xbf" + VALID.encode(), 400, "body", "BOM"),
    ("nested-10000", with_raw("notes", "[" * 10_000 + "]" * 10_000), 400, "body", "nested too deeply"),
]


def stored_by_intake(stack: RunningStack) -> int:
    """REQUEST items and idempotency records: intake writes these, and nothing else does."""
    pages = (
        stack.dynamodb()
        .get_paginator("scan")
        .paginate(
            TableName="RequestsTable",
            FilterExpression="sk = :request OR begins_with(sk, :key)",
            ExpressionAttributeValues={":request": {"S": "REQUEST"}, ":key": {"S": "IDEMPOTENCY#"}},
            Select="COUNT",
            ConsistentRead=True,
        )
    )
    return sum(page["Count"] for page in pages)


def post(stack: RunningStack, body: str | bytes) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    raw = body.encode() if isinstance(body, str) else body
    status, _, data = stack.request("POST", "/quote-requests", raw, headers)
    return status, json.loads(data)


@pytest.mark.parametrize(
    ("body", "status", "field", "words"), [pytest.param(*r[1:], id=r[0]) for r in REFUSED]
)
def test_stack_hostile_json_gets_a_4xx_naming_the_field_and_stores_nothing(
    local_stack: RunningStack, body: str | bytes, status: int, field: str, words: str
) -> None:
    # Given the requests intake has stored so far
    before = stored_by_intake(local_stack)

    # When the hostile body is posted over HTTP
    answer_status, answer = post(local_stack, body)

    # Then it is refused with the status expected, naming the field and the problem
    assert answer_status == status, answer
    assert any(e["field"] == field and words in e["message"] for e in answer["errors"]), answer
    # And nothing was stored
    assert stored_by_intake(local_stack) == before


def test_stack_counts_written_with_a_zero_fraction_are_stored_as_integers(local_stack: RunningStack) -> None:
    # Given the body schemathesis reported (ST202): counts written 270.0 and 304.0
    body = with_raw("supervisees.np", "270.0").replace('"locations": 1', '"locations": 304.0')
    assert '"locations": 304.0' in body

    # When it is posted
    status, answer = post(local_stack, body)

    # Then it is stored, with integers
    assert status == 201, answer
    item = local_stack.dynamodb().get_item(
        TableName="RequestsTable",
        Key={"pk": {"S": answer["request_id"]}, "sk": {"S": "REQUEST"}},
        ConsistentRead=True,
    )["Item"]
    assert item["locations"] == {"N": "304"}
    assert item["supervisees"]["M"]["np"] == {"N": "270"}
