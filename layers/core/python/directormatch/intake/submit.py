"""Accepting a quote request: one conditional write, idempotent on the client's key."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta

from ulid import ULID

from directormatch import keys
from directormatch.aws.requests_table import Created, RequestStore
from directormatch.errors import ReferenceTaken, StoreUnavailable
from directormatch.intake.contract import QuoteRequest
from directormatch.observability import logger
from directormatch.references import new_reference
from directormatch.vocabulary import RequestStatus

# A draw meets a taken code about once in thousands at ten million requests (references.py); five
# taken in a row means the generator is broken, and the request is refused as unstored (503).
REFERENCE_ATTEMPTS = 5


def body_hash(quote: QuoteRequest) -> str:
    """Hash of the validated body, so the same request with other whitespace or key order matches."""
    # A v1 body (no budget) hashes as it did before budget_monthly existed: retries keep matching.
    unset = {"budget_monthly"} if quote.budget_monthly is None else None
    canonical = json.dumps(
        quote.model_dump(mode="json", exclude=unset), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def form_idempotency_key(quote: QuoteRequest) -> str:
    """The key of a form posted without JavaScript, which cannot send an Idempotency-Key: the body
    itself, so a double click or a resubmitted page stores one request (and shows its reference
    again) while any changed answer is a new request. Stored hashed, like every key."""
    return f"form:{body_hash(quote)}"


def request_item(request_id: str, quote: QuoteRequest, now: datetime, reference: str) -> dict[str, object]:
    body = quote.model_dump(mode="json", exclude_none=True)
    return {
        "pk": request_id,
        "sk": keys.REQUEST_SK,
        "request_id": request_id,
        "reference": reference,
        "request_status": RequestStatus.NEW.value,
        "created_at": now.isoformat(timespec="milliseconds"),
        **body,
    }


def submit(
    quote: QuoteRequest,
    idempotency_key: str | None,
    store: RequestStore,
    idempotency_hours: int,
    now: datetime | None = None,
    correlation_id: str | None = None,
    rng: random.Random | None = None,
) -> Created:
    """Store the request once under a fresh ULID and reference code; a code already taken is drawn
    again (REFERENCE_ATTEMPTS in all). `rng` draws the codes (seeded in tests)."""
    now = now or datetime.now(UTC)
    request_id = str(ULID.from_datetime(now))
    for _ in range(REFERENCE_ATTEMPTS):
        reference = new_reference(rng)
        item = request_item(request_id, quote, now, reference)
        if correlation_id:
            # The API Gateway request id: logs of every function and the emails' X-Correlation-ID carry it.
            item["correlation_id"] = correlation_id
        claim = None
        if idempotency_key:
            key_hash = hashlib.sha256(idempotency_key.encode()).hexdigest()
            claim = {
                "pk": keys.IDEMPOTENCY(key_hash),
                "sk": keys.IDEMPOTENCY.kind,
                "request_id": request_id,
                "reference": reference,
                "created_at": item["created_at"],
                "body_hash": body_hash(quote),
                "ttl": int((now + timedelta(hours=idempotency_hours)).timestamp()),
            }
        try:
            return store.create_request(item, claim)
        except ReferenceTaken:
            logger.info("reference code taken; drawing another", extra={"request_id": request_id})
    raise StoreUnavailable("no free reference code")
