"""What the stores of both tables share: the client, reading by key, one Query, batch writes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from directormatch.aws import clients as aws
from directormatch.aws.attributes import (
    THROTTLING,
    cancellation_codes,
    conditional_put,
    error_code,
    from_attributes,
    key,
    to_attributes,
)
from directormatch.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_WRITE_SIZE = 25
BATCH_ATTEMPTS = 8
CONFLICT_RETRIES = 4

Settled = TypeVar("Settled")


class Table:
    """One DynamoDB table; the client is the process's cached one unless a test passes its own."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def item(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        """One item by its keys."""
        response = self.client.get_item(TableName=self.table, Key=key(pk, sk), ConsistentRead=consistent)
        found = response.get("Item")
        return from_attributes(found) if found else None

    def query(
        self, condition: str, values: Mapping[str, Any], index: str | None = None, **options: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item a key condition selects, page after page (never a Scan); `options` are the
        Query's own (ConsistentRead, ProjectionExpression)."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_attributes(values),
            **options,
        }
        if index:
            request["IndexName"] = index
        for page in self.client.get_paginator("query").paginate(**request):
            for raw in page.get("Items", []):
                yield from_attributes(raw)

    def put_new(self, item: Mapping[str, Any]) -> bool:
        """Put an item that must not exist yet; False when it does."""
        try:
            self.client.put_item(**conditional_put(self.table, item))
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def partition(self, pk: str, consistent: bool = False) -> list[dict[str, Any]]:
        """Every item under one partition key (one Query)."""
        return list(self.query("pk = :pk", {":pk": pk}, ConsistentRead=consistent))

    def batch_write(self, requests: list[Any], what: str) -> None:
        """BatchWriteItem in chunks of 25, resending what DynamoDB hands back unprocessed."""
        for start in range(0, len(requests), BATCH_WRITE_SIZE):
            pending = requests[start : start + BATCH_WRITE_SIZE]
            for attempt in range(BATCH_ATTEMPTS):
                response = self.client.batch_write_item(RequestItems={self.table: pending})
                pending = list(response.get("UnprocessedItems", {}).get(self.table, []))
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise StoreUnavailable(f"{what} left unprocessed items")

    def transact_retried(
        self, transaction: list[Any], settle: Callable[[list[str]], Settled | None], what: str
    ) -> Settled | None:
        """TransactWriteItems, retried with backoff while it conflicts with another transaction or is
        throttled. None when written. A cancellation's reasons go to `settle` first: what it returns
        (not None) is the answer, a failed condition's meaning for the caller."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                self.client.transact_write_items(TransactItems=transaction)
                return None
            except ClientError as error:
                codes = cancellation_codes(error)
                if error_code(error) == "TransactionCanceledException":
                    settled = settle(codes)
                    if settled is not None:
                        return settled
                if "TransactionConflict" not in codes and error_code(error) not in THROTTLING:
                    raise
            time.sleep(0.05 * 2**attempt)
        raise StoreUnavailable(f"{what} kept conflicting or throttled")
