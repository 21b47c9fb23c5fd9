"""The Directors table: a PROFILE item and LICENSE#<state> / DEA#<state> items per director."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from directormatch import availability, keys
from directormatch.aws.attributes import (
    THROTTLING,
    cancellation_codes,
    conditional_put,
    error_code,
    key,
    on_version,
    set_and_remove,
    to_attributes,
)
from directormatch.aws.table import Table
from directormatch.errors import ProfileChanged, StoreUnavailable
from directormatch.observability import MetricName, logger, metrics
from directormatch.records import Expiry, License, Offer, Profile, Request

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_EXPIRY_MONTH = "ByExpiryMonth"
REFRESH_ATTEMPTS = 3


class DirectorStore(Table):
    """The Directors table, with its ByState index (one LICENSE item per director licensed in a state),
    and the Availability table derived from its LICENSE items (directormatch.availability)."""

    def __init__(
        self, table: str, by_state_index: str, availability_table: str, client: DynamoDBClient | None = None
    ) -> None:
        super().__init__(table, client)
        self.by_state_index = by_state_index
        self.availability = Table(availability_table, client)

    def licenses_in(self, state: str, **options: Any) -> Iterator[dict[str, Any]]:
        """The LICENSE items of one state, from the ByState index; `options` narrow the Query."""
        return self.query("license_state = :state", {":state": state}, index=self.by_state_index, **options)

    def candidates_in(self, state: str) -> Iterator[License]:
        """The LICENSE record of each director licensed in `state`: what matching filters and scores."""
        return (License.from_item(item) for item in self.licenses_in(state))

    def available_in(self, state: str, modalities: Iterable[str], valid_until: str) -> list[License]:
        """The LICENSE record of each director who could take work in `state` for these modalities with a
        license lasting to `valid_until` (ISO date), from the Available index: its shards read in
        parallel and merged."""
        modality_key = availability.request_key(modalities)
        index_keys = availability.index_keys(state, modality_key)
        condition = f"{availability.INDEX_KEY} = :key AND license_expires_on >= :until"

        def shard(index_key: str) -> list[dict[str, Any]]:
            values = {":key": index_key, ":until": valid_until}
            return list(self.availability.query(condition, values, index=availability.INDEX))

        with ThreadPoolExecutor(max_workers=len(index_keys)) as pool:
            found = [item for items in pool.map(shard, index_keys) for item in items]
        return [License.from_item({**item, "license_state": item[availability.STATE]}) for item in found]

    def refresh_availability(self, director_id: str) -> None:
        """Write the director's AVAIL items from their LICENSE items as they are now (strongly
        consistent reads): new and changed ones put, ones no longer called for deleted. Every writer of
        a LICENSE item's filters calls this after its write.

        Two writers of one director can refresh at once, and the one that read the older LICENSE items
        can write last. So each refresh reads the LICENSE items again after its write, and writes again
        when they moved: the last write is then always checked against what came after it."""
        held = self._licenses(director_id)
        for _ in range(REFRESH_ATTEMPTS):
            self._write_availability(director_id, held)
            after = self._licenses(director_id)
            if after == held:
                return
            held = after
        # Left as the last write had it: the next writer of this director refreshes again.
        _unsettled(director_id, "kept changing while refreshed")

    def follow_availability(self, director_id: str) -> None:
        """refresh_availability after a write that has already succeeded (a stamp, an accept, a
        director's own change): its failure must not turn that write into an error for the caller.
        Counted and logged instead; the director's next write, or the backfill, settles it."""
        try:
            self.refresh_availability(director_id)
        except (ClientError, BotoCoreError, StoreUnavailable) as error:
            _unsettled(director_id, f"not refreshed ({type(error).__name__})")

    def _write_availability(self, director_id: str, held: list[dict[str, Any]]) -> None:
        wanted = {item["sk"]: item for item in availability.availability_items(held)}
        current = {item["sk"]: item for item in _partition(self.availability, director_id)}
        requests: list[Any] = [
            {"PutRequest": {"Item": to_attributes(item)}}
            for sk, item in wanted.items()
            if current.get(sk) != item
        ]
        requests += [{"DeleteRequest": {"Key": key(director_id, sk)}} for sk in current if sk not in wanted]
        if requests:
            self.availability.batch_write(requests, "availability")

    def _licenses(self, director_id: str) -> list[dict[str, Any]]:
        condition = "pk = :pk AND begins_with(sk, :prefix)"
        return list(self.query(condition, {":pk": director_id, ":prefix": keys.LICENSE}, ConsistentRead=True))

    def get_profile(self, director_id: str, consistent: bool = False) -> Profile | None:
        item = self.item(director_id, keys.PROFILE_SK, consistent=consistent)
        return Profile.from_item(item) if item else None

    def license_numbers(self, director_id: str, states: Iterable[str]) -> dict[str, str]:
        """The director's license number in each of `states` that has one on file (one GetItem a state:
        an introduction names a few)."""
        numbers = {}
        for state in states:
            item = self.item(director_id, keys.LICENSE(state), consistent=False)
            if item and item.get("license_number"):
                numbers[state] = str(item["license_number"])
        return numbers

    def expiring(self, month: str, first: str, last: str) -> Iterator[Expiry]:
        """LICENSE and DEA items expiring between two ISO dates within one month (ByExpiryMonth index)."""
        condition = "expiry_month = :month AND expires_on BETWEEN :first AND :last"
        values = {":month": month, ":first": first, ":last": last}
        return (Expiry.from_item(item) for item in self.query(condition, values, index=BY_EXPIRY_MONTH))

    def stamp_offered(self, director_id: str, states: list[str], at: str) -> None:
        """Record when a director was last offered work (the fairness score reads it from every item).

        One transaction for the PROFILE and every LICENSE item (at most 52 of the 100 allowed), so a
        match costs one call per offered director, not one per item. When a condition fails (a newer
        stamp from a later match, a license removed meanwhile) or another writer is in the way, each
        item is stamped on its own, as far as its own condition allows."""
        updates = [self._stamp_update(director_id, sk, at) for sk in _stamped_keys(states)]
        transaction: list[Any] = [{"Update": update} for update in updates]
        try:
            self.client.transact_write_items(TransactItems=transaction)
        except ClientError as error:
            codes = cancellation_codes(error)
            if "ConditionalCheckFailed" not in codes and "TransactionConflict" not in codes:
                raise
            for update in updates:
                self._stamp(update)
        self.follow_availability(director_id)

    def _stamp_update(self, director_id: str, sk: str, at: str) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": key(director_id, sk),
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
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def director_items(self, director_id: str) -> list[dict[str, Any]]:
        """Every item of one director (PROFILE, LICENSE#, DEA#, AUDIT#), strongly consistent."""
        return self.partition(director_id, consistent=True)

    def change_profile(
        self,
        profile: Profile,
        fields: Mapping[str, Any],
        audit: Mapping[str, Any],
        at_most_active: int | None = None,
    ) -> None:
        """A director's own change, in one transaction: the PROFILE (on condition that its version is
        still the one `profile` was read at, and that the director directs at most `at_most_active`
        clinics), every LICENSE item (the ByState index carries the filters), and the audit item.
        `fields` maps attributes to their new values (None removes one). DEA items carry no filters.

        Raises ProfileChanged when a condition failed (nothing written), StoreUnavailable when
        DynamoDB refused the transaction for another reason worth retrying."""
        director_id = profile.director_id
        marks = {**profile.self_service, **{name: str(audit["at"]) for name in fields}}
        profile_update = set_and_remove(
            self.table,
            {"pk": director_id, "sk": keys.PROFILE_SK},
            {**fields, "version": profile.current_version + 1, "self_service": marks},
        )
        _add_condition(profile_update, profile.current_version, at_most_active)
        updates = [profile_update] + [
            {
                **set_and_remove(self.table, {"pk": director_id, "sk": keys.LICENSE(state)}, fields),
                "ConditionExpression": "attribute_exists(pk)",
            }
            for state in profile.licensed_states
        ]
        transaction: list[Any] = [{"Update": update} for update in updates]
        transaction.append({"Put": conditional_put(self.table, audit)})
        try:
            self.client.transact_write_items(TransactItems=transaction)
        except ClientError as error:
            codes = cancellation_codes(error)
            if "ConditionalCheckFailed" in codes:
                raise ProfileChanged("the profile changed since it was read") from None
            if codes or error_code(error) in THROTTLING:
                raise StoreUnavailable("the change was not written; try again") from None
            raise
        self.follow_availability(director_id)

    def put_items(self, items: list[dict[str, Any]]) -> None:
        """Bulk load of new directors (local roster), with the AVAIL items their LICENSE items call for."""
        licenses = [item for item in items if str(item["sk"]).startswith(keys.LICENSE)]
        self.batch_write([{"PutRequest": {"Item": to_attributes(item)}} for item in items], "roster load")
        avail = availability.availability_items(licenses)
        self.availability.batch_write(
            [{"PutRequest": {"Item": to_attributes(i)}} for i in avail], "availability"
        )


def _add_condition(update: dict[str, Any], version: int, at_most_active: int | None) -> None:
    more = ["attribute_exists(pk)"]
    if at_most_active is not None:
        update.setdefault("ExpressionAttributeValues", {})[":most"] = {"N": str(at_most_active)}
        more.append("active_clinics <= :most")
    on_version(update, version, *more)


def _stamped_keys(states: list[str]) -> list[str]:
    return [keys.PROFILE_SK, *(keys.LICENSE(state) for state in dict.fromkeys(states))]


def load_updates(directors_table: str, request: Request, offer: Offer, profile: Profile) -> list[Any]:
    """An accept's writes to the Directors table: one more clinic on the director's PROFILE (only while
    under max_clinics) and on every LICENSE item (they carry the count for the matcher); the clinic's
    NPs and PAs on the licenses of the states the director now serves."""
    director_id = offer.director_id
    serves = set(offer.covers_states)
    supervisees = request.supervisees
    updates: list[Any] = [
        {
            "Update": {
                "TableName": directors_table,
                "Key": key(director_id, keys.PROFILE_SK),
                "UpdateExpression": "SET active_clinics = active_clinics + :one",
                "ConditionExpression": "active_clinics < max_clinics",
                "ExpressionAttributeValues": to_attributes({":one": 1}),
            }
        }
    ]
    for state in profile.licensed_states:
        expression = "SET active_clinics = if_not_exists(active_clinics, :zero) + :one"
        values: dict[str, Any] = {":one": 1, ":zero": 0}
        if state in serves:
            expression += (
                ", supervising_np = if_not_exists(supervising_np, :zero) + :np"
                ", supervising_pa = if_not_exists(supervising_pa, :zero) + :pa"
            )
            values |= {":np": supervisees.np, ":pa": supervisees.pa}
        updates.append(
            {
                "Update": {
                    "TableName": directors_table,
                    "Key": key(director_id, keys.LICENSE(state)),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": to_attributes(values),
                }
            }
        )
    return updates


def _unsettled(director_id: str, why: str) -> None:
    metrics.add_metric(name=MetricName.AVAILABILITY_UNSETTLED, unit="Count", value=1)
    logger.warning(f"availability {why}", extra={"director_id": director_id})


def _partition(table: Table, director_id: str) -> list[dict[str, Any]]:
    return list(table.query("pk = :pk", {":pk": director_id}, ConsistentRead=True))
