"""Case 5a: DynamoDB throttling on intake, injected with a botocore before-send hook on the client
every function uses (directormatch.aws.clients.dynamodb()).

Throttled on every attempt (the SDK's retries and the store's own exhausted), intake answers 503
with Retry-After and an error body, and writes nothing: no REQUEST without its REFERENCE and
IDEMPOTENCY items or the reverse. When the throttling stops, the same submission with the same key is
stored once.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from local.lambdas import LambdaContext
from tests.events import api_event, quote_body
from tests.integration.conftest import Aws
from tests.integration.test_intake import header
from tests.integration.test_intake_form import form_event, form_fields
from tests.reliability.conftest import Tally
from tests.reliability.helpers import error_response, send_for_real, table_items

CASE = "5a"
THROTTLES = [
    (400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"),
    (400, "com.amazonaws.dynamodb.v20120810#ThrottlingException"),
    (400, "com.amazonaws.dynamodb.v20120810#RequestLimitExceeded"),
    (500, "com.amazonaws.dynamodb.v20120810#InternalServerError"),
]


class Throttle:
    """Answers the next `times` calls of one operation with a throttling error, then lets them
    through to moto."""

    def __init__(self, operation: str, status: int, code: str, times: int = 10_000) -> None:
        self.operation = operation
        self.status = status
        self.code = code
        self.left = times
        self.attempts = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        self.attempts += 1
        if self.left == 0:
            return None
        self.left -= 1
        # Every before-send handler runs: the request is moved off moto's URL so moto does not
        # apply the write the service is refusing.
        url, request.url = request.url, "https://dynamodb-fault.invalid/"
        return error_response(url, self.status, self.code, "Throughput exceeds the current capacity.")

    def inject(self) -> Throttle:
        from directormatch.aws import clients

        clients.dynamodb().meta.events.register_first(f"before-send.dynamodb.{self.operation}", self)
        return self

    def stop(self) -> None:
        self.left = 0


def written(aws: Aws) -> tuple[list[str], list[str]]:
    """REQUEST items' ids, IDEMPOTENCY items' request ids; each REQUEST has its REFERENCE item, and no
    REFERENCE item is without its REQUEST."""
    items = table_items(aws.requests_table)
    requests = [i["request_id"]["S"] for i in items if i["sk"]["S"] == "REQUEST"]
    claims = [i["request_id"]["S"] for i in items if i["pk"]["S"].startswith("IDEMPOTENCY#")]
    codes = {i["reference"]["S"]: i["request_id"]["S"] for i in items if i["sk"]["S"] == "REQUEST"}
    pointers = {
        i["pk"]["S"].removeprefix("REFERENCE#"): i["request_id"]["S"]
        for i in items
        if i["sk"]["S"] == "REFERENCE"
    }
    assert pointers == codes
    return requests, claims


def post(app: ModuleType, context: LambdaContext, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = app.lambda_handler(event, context)
    return response["statusCode"], response


def assert_unavailable(status: int, response: dict[str, Any]) -> None:
    assert status == 503, response["body"]
    assert header(response, "Retry-After") == "2"
    body = json.loads(response["body"])
    assert [e["field"] for e in body["errors"]] == ["body"]
    assert "nothing was saved" in body["errors"][0]["message"]


@pytest.mark.parametrize(("status", "code"), THROTTLES, ids=lambda v: str(v).rsplit("#", 1)[-1])
def test_intake_throttled_with_key_answers_503_then_stores_once(
    aws: Aws,
    intake_app: ModuleType,
    lambda_context: LambdaContext,
    no_retry_delay: None,
    tally: Tally,
    status: int,
    code: str,
) -> None:
    # Given DynamoDB throttling every TransactWriteItems attempt
    throttle = Throttle("TransactWriteItems", status, code).inject()
    event = api_event(headers={"Idempotency-Key": f"5a-{code[-12:]}-key"})

    # When a submission with an Idempotency-Key arrives
    answered, response = post(intake_app, lambda_context, json_copy(event))

    # Then it is answered 503 with Retry-After and an error body, after the retries ran out
    requests, claims = written(aws)
    ok = answered == 503 and requests == [] and claims == []
    assert_unavailable(answered, response)
    assert throttle.attempts > 1
    # And nothing is written, neither half
    assert requests == []
    assert claims == []

    # When throttling stops and the client retries the same submission (twice: a retry of the retry)
    throttle.stop()
    first, retried = (
        post(intake_app, lambda_context, json_copy(event)),
        post(intake_app, lambda_context, json_copy(event)),
    )

    # Then both are answered 201 with the same request, stored once with its idempotency record
    ids = {json.loads(r["body"])["request_id"] for s, r in (first, retried) if s == 201}
    requests, claims = written(aws)
    ok = ok and first[0] == retried[0] == 201 and len(ids) == 1 and requests == claims == list(ids)
    tally.tried(ok=ok, lost=int(not requests), duplicated=max(len(requests) - 1, 0))
    assert first[0] == 201
    assert retried[0] == 201
    assert len(ids) == 1
    assert requests == list(ids)
    assert claims == list(ids)


def test_intake_throttled_without_key_answers_503_then_stores_once(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext, no_retry_delay: None, tally: Tally
) -> None:
    # Given DynamoDB throttling every TransactWriteItems attempt (the REQUEST and its REFERENCE item
    # are written together)
    throttle = Throttle("TransactWriteItems", *THROTTLES[0]).inject()
    event = api_event(body=quote_body(), without_headers=("Idempotency-Key",))

    # When a submission without an Idempotency-Key arrives
    answered, response = post(intake_app, lambda_context, json_copy(event))

    # Then it is answered 503 and nothing is written
    assert_unavailable(answered, response)
    assert written(aws) == ([], [])

    # When throttling stops, the resubmission is stored once
    throttle.stop()
    again, _ = post(intake_app, lambda_context, json_copy(event))
    requests, _claims = written(aws)
    tally.tried(
        ok=again == 201 and len(requests) == 1, lost=int(not requests), duplicated=max(len(requests) - 1, 0)
    )
    assert again == 201
    assert len(requests) == 1


def test_intake_form_post_throttled_answers_503_page_with_retry_after(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext, no_retry_delay: None, tally: Tally
) -> None:
    # Given DynamoDB throttling every TransactWriteItems attempt (the form's body is its idempotency
    # key, so it writes the request and the key together), and the form posted without JavaScript
    Throttle("TransactWriteItems", *THROTTLES[0]).inject()
    event = form_event(form_fields())

    # When it is posted
    answered, response = post(intake_app, lambda_context, event)

    # Then the page says to try again, with Retry-After, and nothing is written
    ok = answered == 503 and written(aws) == ([], [])
    tally.tried(ok=ok)
    assert answered == 503, response["body"][:300]
    assert header(response, "Retry-After") == "2"
    assert written(aws) == ([], [])


def test_intake_throttled_briefly_is_absorbed_by_retries(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext, no_retry_delay: None, tally: Tally
) -> None:
    # Given DynamoDB throttling the first two TransactWriteItems attempts only
    throttle = Throttle("TransactWriteItems", *THROTTLES[0], times=2).inject()

    # When a submission with a key arrives
    answered, response = post(intake_app, lambda_context, api_event(headers={"Idempotency-Key": "5a-brief"}))

    # Then the SDK's retries absorb it: 201, stored once with its idempotency record
    requests, claims = written(aws)
    ok = answered == 201 and len(requests) == 1 and requests == claims
    tally.tried(ok=ok, lost=int(not requests), duplicated=max(len(requests) - 1, 0))
    assert answered == 201, response["body"]
    assert throttle.attempts == 3
    assert len(requests) == 1
    assert requests == claims


@pytest.mark.parametrize("key", ["5a-lost", None], ids=["with-key", "without-key"])
def test_intake_write_taken_but_answer_lost_is_answered_once(
    aws: Aws,
    intake_app: ModuleType,
    lambda_context: LambdaContext,
    no_retry_delay: None,
    tally: Tally,
    key: str | None,
) -> None:
    # Given DynamoDB applying the first TransactWriteItems and its answer lost (a read timeout)
    from botocore.exceptions import ReadTimeoutError

    from directormatch.aws import clients

    calls = {"n": 0}

    def lost_answer(request: Any, event_name: str, **_: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            answer = send_for_real(event_name, request)  # moto or DynamoDB Local applies it
            assert answer.status_code == 200
            raise ReadTimeoutError(endpoint_url=request.url)
        return None

    clients.dynamodb().meta.events.register_first("before-send.dynamodb.TransactWriteItems", lost_answer)

    # When a submission arrives, with a key or without (the SDK retries the same transaction)
    headers = {"Idempotency-Key": key} if key else {}
    event = api_event(headers=headers, without_headers=() if key else ("Idempotency-Key",))
    answered, response = post(intake_app, lambda_context, event)

    # Then the retry finds the key (or the REQUEST itself) taken by this very write: 201 with the
    # stored request and its code, once
    requests, claims = written(aws)
    ok = answered == 201 and len(requests) == 1 and claims in ([], requests)
    tally.tried(ok=ok, lost=int(not requests), duplicated=max(len(requests) - 1, 0))
    assert answered == 201, response["body"]
    assert json.loads(response["body"])["request_id"] == requests[0]
    assert len(requests) == 1
    assert claims == (requests if key else [])


def json_copy(event: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(event))
    return copied
