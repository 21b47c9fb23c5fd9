"""All DynamoDB access. Every write that a retry could repeat is conditional."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from directormatch import keys
from directormatch.aws import clients as aws
from directormatch.errors import IdempotencyConflict, RetryLater, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from directormatch.matching.engine import Candidate

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

THROTTLING = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)
CONFLICT_RETRIES = 4
REQUESTS_BY_STATUS = "RequestsByStatus"
BY_EXPIRY_MONTH = "ByExpiryMonth"


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's attributes. None values and empty maps are left out (a map's empty maps too; readers
    take a missing map as empty): DynamoDB Local's streams write an empty map as `{}` instead of
    `{"M": {}}`, which no decoder reads, so there a NO_MATCH alert with nothing excluded failed
    notify on every retry. Expression values (":name") are kept whatever they hold, as an expression
    names them. (An empty map inside a list would still be written: none of ours has one.)"""
    values = {k: _dynamo_value(v) for k, v in item.items() if v is not None}
    return {k: _serializer.serialize(v) for k, v in values.items() if k.startswith(":") or not _empty_map(v)}


def _empty_map(value: Any) -> bool:
    return isinstance(value, Mapping) and not value


def _dynamo_value(value: Any) -> Any:
    """DynamoDB takes Decimal, not float."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_dynamo_value(v) for v in value]
    if isinstance(value, dict):
        converted = {k: _dynamo_value(v) for k, v in value.items()}
        return {k: v for k, v in converted.items() if not _empty_map(v)}
    return value


def from_attributes(image: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in image.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the domain works with int."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _cancellation_codes(error: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class Created:
    request_id: str
    replayed: bool


class RequestStore:
    """The Requests table: one partition per quote request."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def create_request(self, item: dict[str, Any], idempotency: dict[str, Any] | None) -> Created:
        """Write the REQUEST item once; with an idempotency record, in the same transaction."""
        request_put: dict[str, Any] = {
            "TableName": self.table,
            "Item": to_attributes(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            if idempotency is None:
                self.client.put_item(**request_put)
            else:
                return self._create_with_key(request_put, idempotency)
        except ClientError as error:
            if _error_code(error) in THROTTLING:
                raise StoreUnavailable(_error_code(error)) from error
            raise
        return Created(item["request_id"], replayed=False)

    def _create_with_key(self, request_put: dict[str, Any], idempotency: dict[str, Any]) -> Created:
        key_put: dict[str, Any] = {
            "TableName": self.table,
            "Item": to_attributes(idempotency),
            "ConditionExpression": "attribute_not_exists(pk) OR #ttl < :now",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
        }
        for attempt in range(CONFLICT_RETRIES):
            try:
                transaction: list[Any] = [{"Put": request_put}, {"Put": key_put}]
                self.client.transact_write_items(TransactItems=transaction)
                return Created(idempotency["request_id"], replayed=False)
            except ClientError as error:
                codes = _cancellation_codes(error)
                if _error_code(error) == "TransactionCanceledException" and codes[1:2] == [
                    "ConditionalCheckFailed"
                ]:
                    existing = self._get(idempotency["pk"], idempotency["sk"])
                    if existing is not None:
                        return _replay(existing, idempotency)
                if "TransactionConflict" not in codes and _error_code(error) not in THROTTLING:
                    raise
            time.sleep(0.05 * 2**attempt)
        raise StoreUnavailable("idempotency record busy")

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        return self._get(request_id, keys.REQUEST_SK)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key=to_attributes({"pk": pk, "sk": sk}), ConsistentRead=True
        )
        item = response.get("Item")
        return from_attributes(item) if item else None

    def record_match(
        self, request_id: str, match: dict[str, Any], offers: list[dict[str, Any]], status: str
    ) -> bool:
        """MATCH item, first-wave OFFER items and the new request status, all or nothing.

        Returns False when the match was already recorded (a redelivered stream record).
        """
        return self.record_wave(request_id, [match, *offers], status, wave=1, at=match["created_at"])

    def record_wave(
        self, request_id: str, new_items: list[dict[str, Any]], status: str, wave: int, at: str
    ) -> bool:
        """New items (offers, alerts) and the request's next status and wave, all or nothing.

        Wave 1 moves a NEW request; later waves move an OFFERED request from wave - 1. False when
        another invocation got there first (a redelivery or a concurrent sweep): nothing written.
        """
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_attributes(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for item in new_items
        ]
        expected: dict[str, Any] = {":expected": "NEW"}
        condition = "request_status = :expected"
        if wave > 1:
            condition = "request_status = :expected AND wave = :previous"
            expected = {":expected": "OFFERED", ":previous": wave - 1}
        items.append(
            {
                "Update": {
                    "TableName": self.table,
                    "Key": to_attributes({"pk": request_id, "sk": keys.REQUEST_SK}),
                    "UpdateExpression": "SET request_status = :status, wave = :wave, updated_at = :at",
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": to_attributes(
                        {":status": status, ":wave": wave, ":at": at, **expected}
                    ),
                }
            }
        )
        return self._transact_once(items)

    def give_up(self, request_id: str, alert: dict[str, Any], wave: int, at: str) -> bool:
        """OFFERED -> NO_MATCH after the last wave, with the ops alert; False if already done."""
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_attributes(alert),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": to_attributes({"pk": request_id, "sk": keys.REQUEST_SK}),
                    "UpdateExpression": "SET request_status = :no_match, updated_at = :at",
                    "ConditionExpression": "request_status = :offered AND wave = :wave",
                    "ExpressionAttributeValues": to_attributes(
                        {":no_match": "NO_MATCH", ":offered": "OFFERED", ":wave": wave, ":at": at}
                    ),
                }
            },
        ]
        return self._transact_once(items)

    def _transact_once(self, items: list[Any]) -> bool:
        """Write all or nothing; False when a condition failed or another writer was in the way
        (a redelivery or a concurrent sweep: the work is done or being done elsewhere)."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            codes = _cancellation_codes(error)
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                return False
            raise
        return True

    def raise_alert(self, alert: dict[str, Any]) -> bool:
        """Put an ALERT item once; False when it exists (the alert was raised before)."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_attributes(alert),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def requests_in_status(self, status: str, created_before: str | None = None) -> Iterator[dict[str, Any]]:
        """Requests in one status, from the RequestsByStatus index (never a Scan)."""
        condition = "request_status = :status"
        values: dict[str, Any] = {":status": status}
        if created_before:
            condition += " AND created_at < :before"
            values[":before"] = created_before
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=REQUESTS_BY_STATUS,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=to_attributes(values),
        ):
            for raw in page.get("Items", []):
                yield from_attributes(raw)

    def claim_email(self, request_id: str, marker_sk: str, now: int, lease_seconds: int) -> bool:
        """Take the right to send one email.

        False: it was sent already. RetryLater: another invocation holds an unexpired lease.
        """
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_attributes(
                    {
                        "pk": request_id,
                        "sk": marker_sk,
                        "email_status": "SENDING",
                        "lease_until": now + lease_seconds,
                    }
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (email_status = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeValues=to_attributes({":sending": "SENDING", ":now": now}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise
            old = from_attributes(error.response.get("Item", {}))  # type: ignore[arg-type]
            if old.get("email_status") in ("SENT", "SUPPRESSED"):
                return False
            raise RetryLater("email is being sent by another invocation") from error
        return True

    def suppress(self, address_key: str, reason: str, at: str) -> bool:
        """Record an address as undeliverable; False when it already was."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_attributes(
                    {"pk": address_key, "sk": "SUPPRESSION", "reason": reason, "created_at": at}
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def is_suppressed(self, address_key: str) -> bool:
        return self._get(address_key, "SUPPRESSION") is not None

    def mark_email_suppressed(self, request_id: str, marker_sk: str, now: int) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=to_attributes({"pk": request_id, "sk": marker_sk}),
            UpdateExpression="SET email_status = :suppressed, sent_at = :now REMOVE lease_until",
            ExpressionAttributeValues=to_attributes({":suppressed": "SUPPRESSED", ":now": now}),
        )

    def mark_email_sent(self, request_id: str, marker_sk: str, message_id: str, now: int) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=to_attributes({"pk": request_id, "sk": marker_sk}),
            UpdateExpression="SET email_status = :sent, message_id = :mid, sent_at = :now REMOVE lease_until",
            ExpressionAttributeValues=to_attributes({":sent": "SENT", ":mid": message_id, ":now": now}),
        )

    def release_email(self, request_id: str, marker_sk: str) -> None:
        """Give the claim back after a failed send so the retry does not wait for the lease."""
        self.client.delete_item(
            TableName=self.table,
            Key=to_attributes({"pk": request_id, "sk": marker_sk}),
            ConditionExpression="email_status = :sending",
            ExpressionAttributeValues=to_attributes({":sending": "SENDING"}),
        )

    def get_offer(self, request_id: str, director_id: str) -> dict[str, Any] | None:
        return self._get(request_id, keys.offer_sk(director_id))

    def partition(self, request_id: str) -> list[dict[str, Any]]:
        """Every item of one request: REQUEST, MATCH, OFFERs, markers, alerts (one Query)."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": request_id}),
        )
        return [from_attributes(raw) for page in pages for raw in page.get("Items", [])]

    def offers(self, request_id: str) -> list[dict[str, Any]]:
        """Every OFFER item of one request (a Query on its partition)."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :offer)",
            ExpressionAttributeValues=to_attributes({":pk": request_id, ":offer": keys.OFFER_PREFIX}),
            ConsistentRead=True,
        )
        return [from_attributes(raw) for page in pages for raw in page.get("Items", [])]

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        """One item by its keys, read consistently (the stream replay re-reads items this way)."""
        return self._get(pk, sk)

    def record_stream_failure(self, entry: dict[str, Any]) -> None:
        """Keep a failed stream record's coordinates (directormatch.aws.streams); a repeated failure of
        the same record overwrites its entry."""
        self.client.put_item(TableName=self.table, Item=to_attributes(entry))

    def stream_failures(self, function: str, first: str, last: str) -> list[dict[str, Any]]:
        """One function's failed-record entries between two sequence numbers, inclusive, in order."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues=to_attributes(
                {
                    ":pk": keys.stream_failure_pk(function),
                    ":first": keys.sequence_sk(first),
                    ":last": keys.sequence_sk(last),
                }
            ),
            ConsistentRead=True,
        )
        return [from_attributes(raw) for page in pages for raw in page.get("Items", [])]

    def accept_offer(
        self,
        request: dict[str, Any],
        offer: dict[str, Any],
        profile: dict[str, Any],
        directors_table: str,
        via: str,
        now: datetime,
    ) -> str:
        """One transaction: offer ACCEPTED, request MATCHED (or the team's states recorded), and the
        director's clinic count and supervision counts raised. 'ok', 'no_capacity' or 'conflict'."""
        at = now.isoformat(timespec="milliseconds")
        request_id, director_id = request["request_id"], offer["director_id"]
        team_states = set(offer.get("covers_states", [])) if offer.get("team") else set()
        completes = not team_states or set(request.get("accepted_states", [])) | team_states >= set(
            request["states"]
        )
        request_update = (
            "SET request_status = :matched, matched_at = :at, updated_at = :at"
            if completes
            else "SET updated_at = :at"
        )
        if team_states:
            request_update += " ADD accepted_states :states, accepted_directors :director"
        else:
            request_update += ", matched_director_id = :director_id"
        values: dict[str, Any] = {":offered": "OFFERED", ":at": at}
        if completes:
            values[":matched"] = "MATCHED"
        if team_states:
            values[":states"] = team_states
            values[":director"] = {director_id}
        else:
            values[":director_id"] = director_id
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": to_attributes({"pk": request_id, "sk": offer["sk"]}),
                    "UpdateExpression": (
                        "SET offer_status = :accepted, answered_at = :at, answered_via = :via"
                    ),
                    "ConditionExpression": "offer_status = :open AND expires_at > :now",
                    "ExpressionAttributeValues": to_attributes(
                        {
                            ":accepted": "ACCEPTED",
                            ":at": at,
                            ":via": via,
                            ":open": "OPEN",
                            ":now": now.isoformat(timespec="seconds"),
                        }
                    ),
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": to_attributes({"pk": request_id, "sk": keys.REQUEST_SK}),
                    "UpdateExpression": request_update,
                    "ConditionExpression": "request_status = :offered",
                    "ExpressionAttributeValues": to_attributes(values),
                }
            },
            *_director_load_updates(directors_table, request, offer, profile),
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            codes = _cancellation_codes(error)
            if _error_code(error) != "TransactionCanceledException":
                raise
            if codes[:2] == ["None", "None"] and "ConditionalCheckFailed" in codes[2:3]:
                return "no_capacity"
            if "TransactionConflict" in codes:
                raise RetryLater("offer is being answered concurrently") from error
            return "conflict"
        return "ok"

    def decline_offer(self, request_id: str, director_id: str, via: str, now: datetime) -> bool:
        """OPEN -> DECLINED; False when it was no longer open (accepted, superseded, expired)."""
        return self._update_if(
            Key=to_attributes({"pk": request_id, "sk": keys.offer_sk(director_id)}),
            UpdateExpression="SET offer_status = :declined, answered_at = :at, answered_via = :via",
            ConditionExpression="offer_status = :open",
            ExpressionAttributeValues=to_attributes(
                {
                    ":declined": "DECLINED",
                    ":at": now.isoformat(timespec="milliseconds"),
                    ":via": via,
                    ":open": "OPEN",
                }
            ),
        )

    def close_offer(self, request_id: str, director_id: str, status: str, now: datetime) -> bool:
        """OPEN -> SUPERSEDED or EXPIRED; False when it was no longer open."""
        return self._update_if(
            Key=to_attributes({"pk": request_id, "sk": keys.offer_sk(director_id)}),
            UpdateExpression="SET offer_status = :status, closed_at = :at",
            ConditionExpression="offer_status = :open",
            ExpressionAttributeValues=to_attributes(
                {":status": status, ":at": now.isoformat(timespec="milliseconds"), ":open": "OPEN"}
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
                if _error_code(error) == "ConditionalCheckFailedException":
                    return False
                if _error_code(error) != "TransactionConflictException" or attempt == CONFLICT_RETRIES:
                    raise
            time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def complete_team_if_covered(self, request_id: str, now: datetime) -> bool:
        """A team request is MATCHED once accepted offers cover every requested state."""
        request = self.get_request(request_id)
        if request is None or request["request_status"] != "OFFERED":
            return False
        if not set(request.get("accepted_states", [])) >= set(request["states"]):
            return False
        return self._update_if(
            Key=to_attributes({"pk": request_id, "sk": keys.REQUEST_SK}),
            UpdateExpression="SET request_status = :matched, matched_at = :at, updated_at = :at",
            ConditionExpression="request_status = :offered",
            ExpressionAttributeValues=to_attributes(
                {
                    ":matched": "MATCHED",
                    ":offered": "OFFERED",
                    ":at": now.isoformat(timespec="milliseconds"),
                }
            ),
        )

    def supersede_open_offers(self, request_id: str, except_director: str, now: datetime) -> list[str]:
        """Close every other OPEN offer of a matched request; returns the directors whose offer closed."""
        closed = []
        for offer in self.offers(request_id):
            others_open = offer["offer_status"] == "OPEN" and offer["director_id"] != except_director
            if others_open and self.close_offer(request_id, offer["director_id"], "SUPERSEDED", now):
                closed.append(offer["director_id"])
        return closed


def _director_load_updates(
    directors_table: str, request: dict[str, Any], offer: dict[str, Any], profile: dict[str, Any]
) -> list[Any]:
    """One more clinic on the director's PROFILE (only while under max_clinics) and on every
    LICENSE item (they carry the count for the matcher); the clinic's NPs and PAs on the
    licenses of the states the director now serves."""
    director_id = offer["director_id"]
    serves = set(offer.get("covers_states", []))
    supervisees = request.get("supervisees", {})
    updates: list[Any] = [
        {
            "Update": {
                "TableName": directors_table,
                "Key": to_attributes({"pk": director_id, "sk": keys.PROFILE_SK}),
                "UpdateExpression": "SET active_clinics = active_clinics + :one",
                "ConditionExpression": "active_clinics < max_clinics",
                "ExpressionAttributeValues": to_attributes({":one": 1}),
            }
        }
    ]
    for state in profile.get("licensed_states", []):
        expression = "SET active_clinics = if_not_exists(active_clinics, :zero) + :one"
        values: dict[str, Any] = {":one": 1, ":zero": 0}
        if state in serves:
            expression += (
                ", supervising_np = if_not_exists(supervising_np, :zero) + :np"
                ", supervising_pa = if_not_exists(supervising_pa, :zero) + :pa"
            )
            values |= {":np": int(supervisees.get("np", 0)), ":pa": int(supervisees.get("pa", 0))}
        updates.append(
            {
                "Update": {
                    "TableName": directors_table,
                    "Key": to_attributes({"pk": director_id, "sk": keys.license_sk(state)}),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": to_attributes(values),
                }
            }
        )
    return updates


def _replay(existing: dict[str, Any], claim: dict[str, Any]) -> Created:
    if existing["body_hash"] != claim["body_hash"]:
        raise IdempotencyConflict("Idempotency-Key was already used with a different request body")
    return Created(existing["request_id"], replayed=True)


class DirectorStore:
    """The Directors table: PROFILE and LICENSE#<state> items per director."""

    def __init__(self, table: str, by_state_index: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self.by_state_index = by_state_index
        self._client = client
        self.items_read = 0

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def candidates_in(self, state: str) -> Iterator[Candidate]:
        """Query the state index (never a Scan): one item per director licensed in `state`."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            IndexName=self.by_state_index,
            KeyConditionExpression="license_state = :state",
            ExpressionAttributeValues={":state": {"S": state}},
        )
        for page in pages:
            self.items_read += len(page.get("Items", []))
            for raw in page.get("Items", []):
                yield candidate_from_item(from_attributes(raw))

    def stamp_offered(self, director_id: str, states: list[str], at: str) -> None:
        """Record when a director was last offered work (the fairness score reads it from every item).

        One transaction for the PROFILE and every LICENSE item (at most 52 of the 100 allowed), so a
        match costs one call per offered director, not one per item. When a condition fails (a newer
        stamp from a later match, a license removed meanwhile) or another writer is in the way, each
        item is stamped on its own, as far as its own condition allows."""
        updates = [self._stamp_update(director_id, sk, at) for sk in self._stamped_keys(states)]
        transaction: list[Any] = [{"Update": update} for update in updates]
        try:
            self.client.transact_write_items(TransactItems=transaction)
        except ClientError as error:
            codes = _cancellation_codes(error)
            if "ConditionalCheckFailed" not in codes and "TransactionConflict" not in codes:
                raise
            for update in updates:
                self._stamp(update)

    @staticmethod
    def _stamped_keys(states: list[str]) -> list[str]:
        return [keys.PROFILE_SK, *(keys.license_sk(state) for state in dict.fromkeys(states))]

    def _stamp_update(self, director_id: str, sk: str, at: str) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": to_attributes({"pk": director_id, "sk": sk}),
            "UpdateExpression": "SET last_offered_at = :at",
            "ConditionExpression": (
                "attribute_exists(pk) AND (attribute_not_exists(last_offered_at) OR last_offered_at < :at)"
            ),
            "ExpressionAttributeValues": to_attributes({":at": at}),
        }

    def _stamp(self, update: dict[str, Any]) -> None:
        try:
            self.client.update_item(**update)
        except ClientError as error:
            # Item gone (license removed) or a newer stamp already there: nothing to do.
            if _error_code(error) != "ConditionalCheckFailedException":
                raise

    def expiring(self, month: str, first: str, last: str) -> Iterator[dict[str, Any]]:
        """LICENSE and DEA items expiring between two ISO dates within one month (ByExpiryMonth index)."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=BY_EXPIRY_MONTH,
            KeyConditionExpression="expiry_month = :month AND expires_on BETWEEN :first AND :last",
            ExpressionAttributeValues=to_attributes({":month": month, ":first": first, ":last": last}),
        ):
            for raw in page.get("Items", []):
                yield from_attributes(raw)

    def get_profile(self, director_id: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key=to_attributes({"pk": director_id, "sk": keys.PROFILE_SK})
        )
        item = response.get("Item")
        return from_attributes(item) if item else None

    def put_items(self, items: list[dict[str, Any]]) -> None:
        """Bulk load (roster); batch_write_item in chunks of 25, resending what DynamoDB hands back."""
        for start in range(0, len(items), 25):
            pending: list[Any] = [
                {"PutRequest": {"Item": to_attributes(i)}} for i in items[start : start + 25]
            ]
            for attempt in range(8):
                response = self.client.batch_write_item(RequestItems={self.table: pending})
                pending = response.get("UnprocessedItems", {}).get(self.table, [])
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise StoreUnavailable("roster load left unprocessed items")


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def candidate_from_item(item: Mapping[str, Any]) -> Candidate:
    """A ByState index item (LICENSE#<state>, see directors.director_items) as a matching Candidate.
    (matching loads here: the functions that never match, intake first, do without it at cold start.)"""
    from directormatch.matching.engine import Candidate

    last_offered = item.get("last_offered_at")
    return Candidate(
        director_id=item["pk"],
        state=item["license_state"],
        license_status=item["license_status"],
        license_expires_on=date.fromisoformat(item["license_expires_on"]),
        modalities=frozenset(item.get("modalities", ())),
        active=bool(item.get("active", False)),
        paused=bool(item.get("paused", False)),
        excluded=bool(item.get("excluded", False)),
        max_clinics=int(item.get("max_clinics", 0)),
        active_clinics=int(item.get("active_clinics", 0)),
        dea_expires_on=_date(item.get("dea_expires_on")),
        supervising_np=int(item.get("supervising_np", 0)),
        supervising_pa=int(item.get("supervising_pa", 0)),
        specialties=frozenset(item.get("specialties", ())),
        modality_years=tuple(sorted((k, int(v)) for k, v in (item.get("modality_years") or {}).items())),
        malpractice_per_claim=int(item.get("malpractice_per_claim", 0)),
        malpractice_aggregate=int(item.get("malpractice_aggregate", 0)),
        response_rate=item.get("response_rate"),
        median_response_hours=item.get("median_response_hours"),
        last_offered_at=datetime.fromisoformat(last_offered) if last_offered else None,
        licensed_states=tuple(item.get("licensed_states", ())),
    )
