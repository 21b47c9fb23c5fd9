"""The Requests table: one partition per quote request (REQUEST, MATCH, OFFERs, ALERTs), and the
stream-failure ledger. EMAIL markers and the suppression list live there too (aws.email_ledger).
Every write a retry could repeat is conditional."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from directormatch import keys
from directormatch.aws.attributes import (
    cancellation_codes,
    conditional_put,
    error_code,
    key,
    to_attributes,
)
from directormatch.aws.table import CONFLICT_RETRIES, Table
from directormatch.errors import IdempotencyConflict, ReferenceTaken, RetryLater
from directormatch.records import Alert, Match, Offer, Profile, Record, Request
from directormatch.references import reference_of
from directormatch.settings import Settings
from directormatch.vocabulary import OfferStatus, RequestStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REQUESTS_BY_STATUS = "RequestsByStatusDay"
OFFERS_BY_DIRECTOR = "OffersByDirector"

# The longest a request stays OFFERED with the default waves (the functions' store is given theirs).
OFFERED_AT_MOST = timedelta(hours=Settings.max_waves * Settings.offer_hours)
# Every write that sets request_status sets its index key with it, so the index never lies.
SET_STATUS = "request_status = :status, status_day = :status_day"


def status_values(request_id: str, status: RequestStatus) -> dict[str, Any]:
    """The values SET_STATUS assigns."""
    return {":status": status, ":status_day": keys.request_status_day(status, request_id)}


@dataclass(frozen=True)
class Created:
    request_id: str
    replayed: bool
    reference: str
    created_at: str


def created_of(claim: dict[str, Any]) -> Created:
    """What an idempotency record says was stored under its key."""
    return Created(
        claim["request_id"], replayed=True, reference=claim["reference"], created_at=claim["created_at"]
    )


class RequestStore(Table):
    """The Requests table. `offered_for`: the longest a request stays OFFERED (its waves' hours),
    which bounds the days a read of OFFERED requests looks back."""

    def __init__(
        self, table: str, client: DynamoDBClient | None = None, offered_for: timedelta = OFFERED_AT_MOST
    ) -> None:
        super().__init__(table, client)
        self.offered_for = offered_for

    # --- requests ---------------------------------------------------------------------------------

    def create_request(self, item: dict[str, Any], idempotency: dict[str, Any] | None) -> Created:
        """Write the REQUEST item once, with the REFERENCE item that keeps its code unique and, given
        one, the idempotency record: one transaction. ReferenceTaken when the code belongs to another
        request (nothing written: draw another); the stored request when the key was used before."""
        item = {**item, "status_day": keys.request_status_day(item["request_status"], item["request_id"])}
        reference = {
            "pk": keys.REFERENCE(item["reference"]),
            "sk": keys.REFERENCE.kind,
            "request_id": item["request_id"],
            "created_at": item["created_at"],
        }
        puts = [conditional_put(self.table, item), conditional_put(self.table, reference)]
        if idempotency is not None:
            puts.append(self._idempotency_put(idempotency))
        created = Created(
            item["request_id"], replayed=False, reference=item["reference"], created_at=item["created_at"]
        )
        transaction: list[Any] = [{"Put": put} for put in puts]
        settled = self.transact_retried(
            transaction, lambda codes: self._settled(codes, created, idempotency), "request write"
        )
        return created if settled is None else settled

    def _idempotency_put(self, idempotency: dict[str, Any]) -> dict[str, Any]:
        """The key's record, unless a live one holds it (an expired one awaiting TTL is replaced)."""
        return {
            "TableName": self.table,
            "Item": to_attributes(idempotency),
            "ConditionExpression": "attribute_not_exists(pk) OR #ttl < :now",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
        }

    def _settled(
        self, codes: list[str], created: Created, idempotency: dict[str, Any] | None
    ) -> Created | None:
        """What a cancelled create means, by the item whose condition failed: the key's record
        exists (a replay, or our own write whose answer was lost and the SDK retried), the REQUEST
        exists (our own write, retried: its ULID is this call's), or the code is taken. None: the
        cancellation was for another reason (a conflict) and the write may be tried again."""
        failed = [code == "ConditionalCheckFailed" for code in codes] + [False] * 3
        if idempotency is not None and failed[2]:
            existing = self.item(idempotency["pk"], idempotency["sk"])
            if existing is not None:
                return self._replay(existing, idempotency)
        if failed[0]:
            return created
        if failed[1]:
            raise ReferenceTaken(created.reference)
        return None

    def _replay(self, existing: dict[str, Any], claim: dict[str, Any]) -> Created:
        if existing["body_hash"] != claim["body_hash"]:
            raise IdempotencyConflict("Idempotency-Key was already used with a different request body")
        if existing["request_id"] == claim["request_id"]:
            # This call's own write landed before its answer was lost.
            return replace(created_of(claim), replayed=False)
        if "reference" in existing:
            return created_of(existing)
        # A record kept from before references existed: its request (written with it) says the rest.
        request = self.item(existing["request_id"], keys.REQUEST_SK)
        if request is None:
            raise LookupError("an idempotency record points to a request that is not stored")
        return Created(
            request["request_id"],
            replayed=True,
            reference=reference_of(request),
            created_at=request["created_at"],
        )

    def get_request(self, request_id: str) -> Request | None:
        item = self.item(request_id, keys.REQUEST_SK)
        return Request.from_item(item) if item else None

    def get_match(self, request_id: str) -> Match | None:
        item = self.item(request_id, keys.MATCH_SK)
        return Match.from_item(item) if item else None

    def requests_in_status(
        self,
        status: RequestStatus,
        created_before: str | None = None,
        days_back: int | None = None,
        today: date | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Requests in one status created on the last `days_back` days before `today` or on it
        (by default as far back as one can still be in it: days_in_status), oldest first, from the
        RequestsByStatusDay index: one Query per day. Each is the index's projection: keys, status,
        created_at, request_id, states, modalities and wave, not the whole item."""
        last = today or datetime.now(UTC).date()
        if created_before:
            last = min(last, date.fromisoformat(created_before[:10]))
        back = self.days_in_status(status) if days_back is None else days_back
        days = (last - timedelta(days=n) for n in range(back, -1, -1))
        return itertools.chain.from_iterable(self.requests_on(status, day, created_before) for day in days)

    def days_in_status(self, status: RequestStatus) -> int:
        """How many days before today a request can still be in `status`: NEW one (it lasts seconds,
        a stuck one is escalated after 15 minutes), OFFERED its waves' days and one more for a late
        sweep; the other statuses are final, so a read of them looks at today only."""
        if status == RequestStatus.OFFERED:
            return math.ceil(self.offered_for / timedelta(days=1)) + 1
        return 1 if status == RequestStatus.NEW else 0

    def requests_on(
        self, status: RequestStatus, day: date, created_before: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Requests in one status created on one UTC day, oldest first (one index key)."""
        condition = "status_day = :key"
        values: dict[str, Any] = {":key": keys.status_day(status, day)}
        if created_before:
            condition += " AND created_at < :before"
            values[":before"] = created_before
        return self.query(condition, values, index=REQUESTS_BY_STATUS)

    # --- matching: MATCH, waves of OFFERs, ALERTs --------------------------------------------------

    def record_wave(
        self,
        request_id: str,
        new_items: Sequence[Record],
        status: RequestStatus,
        wave: int,
        at: str,
        expires_at: str | None = None,
    ) -> bool:
        """New items (MATCH, offers, alerts) and the request's next status and wave, all or nothing;
        with offers, their expiry as the request's `wave_expires_at` (projected into the status
        index, so the sweep's safety net tells an overdue request from its index entry alone).

        Wave 1 moves a NEW request; later waves move an OFFERED request from wave - 1. False when
        another invocation got there first (a redelivery or a concurrent sweep): nothing written.
        """
        items: list[Any] = [{"Put": conditional_put(self.table, item.to_item())} for item in new_items]
        expected: dict[str, Any] = {":expected": RequestStatus.NEW}
        condition = "request_status = :expected"
        if wave > 1:
            condition = "request_status = :expected AND wave = :previous"
            expected = {":expected": RequestStatus.OFFERED, ":previous": wave - 1}
        values = {**status_values(request_id, status), ":wave": wave, ":at": at, **expected}
        update = f"SET {SET_STATUS}, wave = :wave, updated_at = :at"
        if expires_at:
            update += ", wave_expires_at = :expires_at"
            values[":expires_at"] = expires_at
        items.append(self._request_update(request_id, update, condition, values))
        return self._transact_once(items)

    def give_up(self, request_id: str, alert: Alert, wave: int, at: str) -> bool:
        """OFFERED -> NO_MATCH after the last wave, with the ops alert; False if already done."""
        values = {
            **status_values(request_id, RequestStatus.NO_MATCH),
            ":offered": RequestStatus.OFFERED,
            ":wave": wave,
            ":at": at,
        }
        items: list[Any] = [
            {"Put": conditional_put(self.table, alert.to_item())},
            self._request_update(
                request_id,
                f"SET {SET_STATUS}, updated_at = :at",
                "request_status = :offered AND wave = :wave",
                values,
            ),
        ]
        return self._transact_once(items)

    def _request_update(
        self, request_id: str, update: str, condition: str, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A transaction's conditional Update of the REQUEST item."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": key(request_id, keys.REQUEST_SK),
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": to_attributes(values),
            }
        }

    def _transact_once(self, items: list[Any]) -> bool:
        """Write all or nothing; False when a condition failed or another writer was in the way
        (a redelivery or a concurrent sweep: the work is done or being done elsewhere)."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            codes = cancellation_codes(error)
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                return False
            raise
        return True

    def raise_alert(self, alert: Alert) -> bool:
        """Put an ALERT item once; False when it exists (the alert was raised before)."""
        return self.put_new(alert.to_item())

    # --- offers ------------------------------------------------------------------------------------

    def get_offer(self, request_id: str, director_id: str) -> Offer | None:
        item = self.item(request_id, keys.OFFER(director_id))
        return Offer.from_item(item) if item else None

    def offers(self, request_id: str) -> list[Offer]:
        """Every OFFER item of one request (a Query on its partition)."""
        values = {":pk": request_id, ":offer": keys.OFFER}
        found = self.query("pk = :pk AND begins_with(sk, :offer)", values, ConsistentRead=True)
        return [Offer.from_item(item) for item in found]

    def accepted_offers(self, director_id: str) -> list[Offer]:
        """The offers a director accepted (the clinics they direct through us), newest first: the
        OffersByDirector index names them, each read whole by key."""
        found = self.query(
            "director_id = :director",
            {":director": director_id, ":accepted": OfferStatus.ACCEPTED},
            index=OFFERS_BY_DIRECTOR,
            FilterExpression="offer_status = :accepted",
            ScanIndexForward=False,
        )
        offers = (self.get_offer(item["request_id"], director_id) for item in found)
        return [offer for offer in offers if offer is not None]

    def accept_offer(
        self,
        request: Request,
        offer: Offer,
        profile: Profile,
        directors_table: str,
        via: str,
        now: datetime,
    ) -> str:
        """One transaction: offer ACCEPTED, request MATCHED (or the team's states recorded), and the
        director's clinic count and supervision counts raised. 'ok', 'no_capacity' or 'conflict'."""
        from directormatch.aws.directors_table import load_updates

        items: list[Any] = [
            self._accept_update(offer, via, now),
            self._matched_update(request, offer, now),
            *load_updates(directors_table, request, offer, profile),
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            codes = cancellation_codes(error)
            if error_code(error) != "TransactionCanceledException":
                raise
            if codes[:2] == ["None", "None"] and "ConditionalCheckFailed" in codes[2:3]:
                return "no_capacity"
            if "TransactionConflict" in codes:
                raise RetryLater("offer is being answered concurrently") from error
            return "conflict"
        return "ok"

    def _accept_update(self, offer: Offer, via: str, now: datetime) -> dict[str, Any]:
        values = {
            ":accepted": OfferStatus.ACCEPTED,
            ":at": now.isoformat(timespec="milliseconds"),
            ":via": via,
            ":open": OfferStatus.OPEN,
            ":now": now.isoformat(timespec="seconds"),
        }
        return {
            "Update": {
                "TableName": self.table,
                "Key": key(offer.request_id, offer.sk),
                "UpdateExpression": "SET offer_status = :accepted, answered_at = :at, answered_via = :via",
                "ConditionExpression": "offer_status = :open AND expires_at > :now",
                "ExpressionAttributeValues": to_attributes(values),
            }
        }

    def _matched_update(self, request: Request, offer: Offer, now: datetime) -> dict[str, Any]:
        """The request's side of an accept: MATCHED, unless a team still lacks states."""
        director_id = offer.director_id
        team_states = set(offer.covers_states) if offer.team else set()
        completes = not team_states or request.accepted_states | team_states >= set(request.states)
        update = "SET updated_at = :at"
        values: dict[str, Any] = {
            ":offered": RequestStatus.OFFERED,
            ":at": now.isoformat(timespec="milliseconds"),
        }
        if completes:
            update = f"SET {SET_STATUS}, matched_at = :at, updated_at = :at"
            values |= status_values(request.request_id, RequestStatus.MATCHED)
        if team_states:
            update += " ADD accepted_states :states, accepted_directors :director"
            values |= {":states": team_states, ":director": {director_id}}
        else:
            update += ", matched_director_id = :director_id"
            values[":director_id"] = director_id
        return self._request_update(request.request_id, update, "request_status = :offered", values)

    def decline_offer(self, request_id: str, director_id: str, via: str, now: datetime) -> bool:
        """OPEN -> DECLINED; False when it was no longer open (accepted, superseded, expired)."""
        assignments = "offer_status = :status, answered_at = :at, answered_via = :via"
        return self._from_open(request_id, director_id, OfferStatus.DECLINED, assignments, now, {":via": via})

    def close_offer(self, request_id: str, director_id: str, status: OfferStatus, now: datetime) -> bool:
        """OPEN -> SUPERSEDED or EXPIRED; False when it was no longer open."""
        return self._from_open(
            request_id, director_id, status, "offer_status = :status, closed_at = :at", now
        )

    def _from_open(
        self,
        request_id: str,
        director_id: str,
        status: OfferStatus,
        assignments: str,
        now: datetime,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """An OPEN offer to `status`, setting `assignments` (:status, :at and `values`)."""
        at = now.isoformat(timespec="milliseconds")
        return self._update_if(
            Key=key(request_id, keys.OFFER(director_id)),
            UpdateExpression=f"SET {assignments}",
            ConditionExpression="offer_status = :open",
            ExpressionAttributeValues=to_attributes(
                {":status": status, ":at": at, ":open": OfferStatus.OPEN, **(values or {})}
            ),
        )

    def _update_if(self, **request: Any) -> bool:
        """A conditional UpdateItem: True when written, False when the condition failed.

        TransactionConflictException means a transaction is writing the item right now (an accept
        in flight while a decline, a close or the team's completion arrives): wait for it to land,
        then let the condition decide.
        """
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                self.client.update_item(TableName=self.table, **request)
                return True
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    return False
                if error_code(error) != "TransactionConflictException" or attempt == CONFLICT_RETRIES:
                    raise
            time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def complete_team_if_covered(self, request_id: str, now: datetime) -> bool:
        """A team request is MATCHED once accepted offers cover every requested state."""
        request = self.get_request(request_id)
        if request is None or request.request_status != RequestStatus.OFFERED:
            return False
        if not request.accepted_states >= set(request.states):
            return False
        return self._update_if(
            Key=key(request_id, keys.REQUEST_SK),
            UpdateExpression=f"SET {SET_STATUS}, matched_at = :at, updated_at = :at",
            ConditionExpression="request_status = :offered",
            ExpressionAttributeValues=to_attributes(
                {
                    **status_values(request_id, RequestStatus.MATCHED),
                    ":offered": RequestStatus.OFFERED,
                    ":at": now.isoformat(timespec="milliseconds"),
                }
            ),
        )

    def supersede_open_offers(self, request_id: str, except_director: str, now: datetime) -> list[str]:
        """Close every other OPEN offer of a matched request; returns the directors whose offer closed."""
        closed = []
        for offer in self.offers(request_id):
            others_open = offer.offer_status == OfferStatus.OPEN and offer.director_id != except_director
            if others_open and self.close_offer(request_id, offer.director_id, OfferStatus.SUPERSEDED, now):
                closed.append(offer.director_id)
        return closed

    def key_status(self, request_id: str, status: RequestStatus) -> bool:
        """Give a request stored before RequestsByStatusDay existed its key (ops.status_day); False
        when its status is no longer `status` (the write that changed it set the key)."""
        return self._update_if(
            Key=key(request_id, keys.REQUEST_SK),
            UpdateExpression="SET status_day = :status_day",
            ConditionExpression="request_status = :status",
            ExpressionAttributeValues=to_attributes(status_values(request_id, status)),
        )

    # --- the stream-failure ledger -----------------------------------------------------------------

    def record_stream_failure(self, entry: dict[str, Any]) -> None:
        """Keep a failed stream record's coordinates (directormatch.aws.streams); a repeated failure of
        the same record overwrites its entry."""
        self.client.put_item(TableName=self.table, Item=to_attributes(entry))

    def resolve_stream_alert(self, request_id: str, function: str, sequence_number: str, at: str) -> bool:
        """Mark a record's STREAM_FAILED alert resolved (the record went through on a replay); False
        when there is no such alert, or it was resolved before."""
        return self._update_if(
            Key=key(request_id, keys.STREAM_ALERT(function, sequence_number)),
            UpdateExpression="SET resolved_at = :at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(resolved_at)",
            ExpressionAttributeValues=to_attributes({":at": at}),
        )

    def stream_failures(self, function: str, first: str, last: str) -> list[dict[str, Any]]:
        """One function's failed-record entries between two sequence numbers, inclusive, in order."""
        values = {
            ":pk": keys.STREAM_FAILURE(function),
            ":first": keys.sequence_sk(first),
            ":last": keys.sequence_sk(last),
        }
        return list(self.query("pk = :pk AND sk BETWEEN :first AND :last", values, ConsistentRead=True))
