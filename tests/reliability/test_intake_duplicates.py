"""Case 3a: twenty concurrent submissions with one Idempotency-Key give one request.

Threads call directormatch.intake.submit.submit (what the intake handler calls after validation) with the
store: Powertools resolvers keep the current event on a class attribute, so one resolver cannot
serve concurrent calls in one process. moto handles each AWS call alone (`one_call_at_a_time`, as
DynamoDB applies each call atomically); the threads still interleave between calls, which is where
the duplicate would come from.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from directormatch.aws.requests_table import Created
from directormatch.intake import submit as intake
from directormatch.intake.contract import QuoteRequest
from directormatch.settings import get_settings
from tests.events import quote_body
from tests.integration.conftest import Aws
from tests.reliability.conftest import Tally
from tests.reliability.helpers import table_items

CASE = "3a"
SUBMISSIONS = 20
ROUNDS = 3


def submit_concurrently(aws: Aws, key: str) -> list[Created | BaseException]:
    quote = QuoteRequest.model_validate(quote_body())
    store = aws.request_store()
    hours = get_settings().idempotency_hours
    start = threading.Barrier(SUBMISSIONS)

    def one(_: int) -> Created | BaseException:
        start.wait()
        try:
            return intake.submit(quote, key, store, hours, now=datetime.now(UTC))
        except Exception as error:  # reported, not raised: the test counts every answer
            return error

    with ThreadPoolExecutor(max_workers=SUBMISSIONS) as pool:
        return list(pool.map(one, range(SUBMISSIONS)))


def test_intake_twenty_concurrent_submissions_with_one_key_store_one_request(
    aws: Aws, one_call_at_a_time: None, tally: Tally
) -> None:
    for round_ in range(ROUNDS):
        # Given an empty Requests table and one Idempotency-Key shared by twenty clients
        key = f"3a-round-{round_}-5b0e2c1a"

        # When all twenty submit the same request at the same moment
        answers = submit_concurrently(aws, key)

        # Then every one is answered with the same request id, one of them as the original
        errors = [a for a in answers if isinstance(a, BaseException)]
        created = [a for a in answers if isinstance(a, Created)]
        ids = {c.request_id for c in created}
        references = {c.reference for c in created}
        originals = [c for c in created if not c.replayed]
        items = table_items(aws.requests_table)
        requests = [i for i in items if i["sk"]["S"] == "REQUEST"]
        claims = [i for i in items if i["pk"]["S"].startswith("IDEMPOTENCY#")]
        ok = not errors and len(ids) == 1 and len(originals) == 1 and len(claims) == 1
        tally.tried(
            ok=ok and len(requests) == 1, lost=int(not requests), duplicated=max(len(requests) - 1, 0)
        )
        assert errors == []
        assert len(created) == SUBMISSIONS
        assert len(ids) == 1
        assert len(references) == 1
        assert len(originals) == 1
        # And the table holds one REQUEST item, one IDEMPOTENCY item and one REFERENCE item, pointing
        # at each other
        pointers = [i for i in items if i["sk"]["S"] == "REFERENCE"]
        assert len(requests) == 1
        assert len(claims) == 1
        assert requests[0]["request_id"]["S"] == claims[0]["request_id"]["S"] == ids.pop()
        assert [(p["pk"]["S"], p["request_id"]["S"]) for p in pointers] == [
            (f"REFERENCE#{references.pop()}", requests[0]["request_id"]["S"])
        ]
        for item in (requests[0], claims[0], pointers[0]):
            aws.dynamodb.delete_item(TableName=aws.requests_table, Key={"pk": item["pk"], "sk": item["sk"]})


def test_intake_twenty_concurrent_posts_with_one_key_over_http_answer_one_request(
    tmp_path: Path, tally: Tally
) -> None:
    """The same race through the local stack (`make run`): twenty HTTP clients at once. The stack runs
    one instance of each function at a time, as a Lambda with reserved concurrency 1 would; the
    clients still race over HTTP, and every one must get the same answer."""

    from tests.e2e.conftest import start_stack

    stack = start_stack(tmp_path / "stack")
    try:
        # Given twenty clients holding one Idempotency-Key and one body
        body = json.dumps(quote_body()).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": "3a-over-http-7c41"}
        start = threading.Barrier(SUBMISSIONS)

        def one(_: int) -> tuple[int, bytes]:
            start.wait()
            status, _headers, data = stack.request("POST", "/quote-requests", body, headers)
            return status, data

        # When all twenty post at the same moment
        with ThreadPoolExecutor(max_workers=SUBMISSIONS) as pool:
            answers = list(pool.map(one, range(SUBMISSIONS)))

        # Then all twenty are 201 with one request id
        statuses = [status for status, _ in answers]
        ids = {json.loads(data)["request_id"] for status, data in answers if status == 201}
        dynamodb = stack.dynamodb()
        items = dynamodb.scan(TableName="RequestsTable", ConsistentRead=True)["Items"]
        requests = [i for i in items if i["sk"]["S"] == "REQUEST"]
        claims = [i for i in items if i["pk"]["S"].startswith("IDEMPOTENCY#")]
        ok = statuses == [201] * SUBMISSIONS and len(ids) == 1 and len(requests) == len(claims) == 1
        tally.tried(ok=ok, lost=int(not requests), duplicated=max(len(requests) - 1, 0))
        assert statuses == [201] * SUBMISSIONS, answers[:3]
        assert len(ids) == 1
        # And the stack's table holds one REQUEST and one IDEMPOTENCY item
        assert [r["request_id"]["S"] for r in requests] == list(ids)
        assert [c["request_id"]["S"] for c in claims] == list(ids)
    finally:
        stack.stop()
