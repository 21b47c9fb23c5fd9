"""Give stored requests their RequestsByStatusDay key: `python -m ops.status_day [--dry-run]`.

Requests stored before that index existed carry `request_status` but no `status_day` (the status and
the UTC day the request was created, `OFFERED#2026-12-06`), so the index does not list them, and the
sweep would not see the open ones. Run this once the deploy that adds the index is done: it reads
every REQUEST item once (a Scan of the Requests table, projected to three attributes: a one-off,
never a routine query) and sets `status_day` where it is missing or does not match the status, on
the condition that the status is still the one read. A request that changed status meanwhile was
given its key by that write; it is counted as `moved` and left alone. Running it again changes
nothing (every key then matches: `already` counts them).

Run it from the repository root with the stack's credentials, region and REQUESTS_TABLE. Prints the
counts as JSON. Exit status 1 when an item's id is not a ULID (named on stderr; intake never makes
one, so it was written around the API and has no creation day to key it by), else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from directormatch import keys
from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.aws.requests_table import RequestStore


def stored_requests(store: RequestStore) -> Iterator[dict[str, Any]]:
    """Every REQUEST item's id, status and index key, page after page."""
    paginator = store.client.get_paginator("scan")
    pages = paginator.paginate(
        TableName=store.table,
        FilterExpression="sk = :request",
        ProjectionExpression="pk, request_status, status_day",
        ExpressionAttributeValues=to_attributes({":request": keys.REQUEST_SK}),
    )
    for page in pages:
        yield from (from_attributes(item) for item in page["Items"])


def backfill(store: RequestStore, dry_run: bool = False) -> Counter[str]:
    """Set each request's missing or stale status_day; counts of `written`, `already`, `moved` and
    `not_keyed` (an id that is not a ULID: no creation day to key it by)."""
    counts: Counter[str] = Counter()
    for request in stored_requests(store):
        status = request["request_status"]
        try:
            wanted = keys.request_status_day(status, request["pk"])
        except ValueError:
            # Not a ULID, so not an id intake made: named for ops to look at, never keyed.
            print(f"not a request id: {request['pk']}", file=sys.stderr)
            counts["not_keyed"] += 1
            continue
        if request.get("status_day") == wanted:
            counts["already"] += 1
        elif dry_run:
            counts["to_write"] += 1
        else:
            counts["written" if store.key_status(request["pk"], status) else "moved"] += 1
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.status_day", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="count what would be written, write nothing")
    arguments = parser.parse_args(argv)
    from directormatch.aws import tables

    counts = backfill(tables.requests(), arguments.dry_run)
    print(json.dumps(counts))
    return 1 if counts["not_keyed"] else 0


if __name__ == "__main__":
    sys.exit(main())
