"""Case 3a: twenty concurrent submissions with one Idempotency-Key give one request.

Threads call directormatch.intake.submit (what the intake handler calls after validation) with the
store: Powertools resolvers keep the current event on a class attribute, so one resolver cannot
serve concurrent calls in one process. moto handles each AWS call alone (`one_call_at_a_time`, as
DynamoDB applies each call atomically); the threads still interleave between calls, which is where
the duplicate would come from.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from directormatch import intake
from directormatch.models import QuoteRequest
from directormatch.settings import get_settings
from directormatch.store import Created
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
        assert len(originals) == 1
        # And the table holds one REQUEST item and one IDEMPOTENCY item, pointing at each other
        assert len(requests) == 1
        assert len(claims) == 1
        assert requests[0]["request_id"]["S"] == claims[0]["request_id"]["S"] == ids.pop()
        aws.dynamodb.delete_item(
            TableName=aws.requests_table, Key={"pk": requests[0]["pk"], "sk": requests[0]["sk"]}
        )
        aws.dynamodb.delete_item(
            TableName=aws.requests_table, Key={"pk": claims[0]["pk"], "sk": claims[0]["sk"]}
        )
