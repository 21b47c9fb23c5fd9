"""Roster import and export against the Directors table.

Import compares what is stored for each director with the items its roster row makes
(`directors.director_items`) and writes only the difference: new items are put, changed items are
updated attribute by attribute (so attributes the running system keeps on them, such as
`last_offered_at`, are never touched), LICENSE#/DEA# items no longer in the roster are deleted.
Importing the same roster twice writes nothing the second time. Stored items are read by key with
BatchGetItem where the stored PROFILE vouches for them, else by a Query on the director's
partition (see `RosterStore.plan`).

Export reads through the ByState index (one Query per state, never a Scan) and BatchGetItem.
Messages never carry names, emails or other values of the items: only ids and attribute names.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from directormatch import keys
from directormatch.aws.attributes import from_attributes, on_version, set_and_remove, to_attributes
from directormatch.aws.directors_table import DirectorStore
from directormatch.directors import (
    FEE_COLUMNS,
    DeaRegistration,
    Director,
    StateLicense,
    Supervision,
    director_id_for,
    director_items,
)
from directormatch.errors import StoreUnavailable
from directormatch.vocabulary import US_STATES
from ops.roster.csv_format import COLUMNS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_SIZE = 100
BATCH_ATTEMPTS = 8
DEFAULT_WORKERS = 8
# Item kinds the roster owns: a stored one the roster no longer lists is deleted.
ROSTER_PREFIXES = (keys.LICENSE, keys.DEA)
# Director fields copied from the PROFILE item when exporting: every CSV column but the per-state lists.
PROFILE_FIELDS = (
    *(c for c in COLUMNS if c not in ("licenses", "dea", "supervising") and c not in FEE_COLUMNS),
    "fees",
)


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Update:
    """Attributes to set and to remove on one existing item; other attributes stay as they are."""

    key: dict[str, str]
    set: dict[str, Any]
    remove: tuple[str, ...]
    # A PROFILE's version when it was read: the update holds only if no one changed it since (a
    # director's own change lands between an import's read and its write: the import stops, and
    # run again, it keeps that change).
    expected_version: int | None = None


@dataclass(frozen=True)
class Change:
    """What one director's partition needs to match the roster row."""

    director_id: str
    outcome: Outcome
    puts: tuple[dict[str, Any], ...] = ()
    updates: tuple[Update, ...] = ()
    deletes: tuple[dict[str, str], ...] = ()
    # Fields the director set themselves (manage page) that differ from the roster row: kept as the
    # director set them, or overwritten with the row's when the import was told to.
    kept: tuple[str, ...] = ()
    overwritten: tuple[str, ...] = ()

    def self_service_note(self) -> str | None:
        """What the import did with the director's own changes, in ids and field names only."""
        if self.kept:
            return f"director {self.director_id}: kept self-service {', '.join(self.kept)}"
        if self.overwritten:
            return f"director {self.director_id}: overwrote self-service {', '.join(self.overwritten)}"
        return None


@dataclass(frozen=True)
class ExportProblem:
    director_id: str
    message: str

    def __str__(self) -> str:
        return f"director {self.director_id}: {self.message}"


@dataclass
class Export:
    directors: list[Director] = field(default_factory=list)
    problems: list[ExportProblem] = field(default_factory=list)


def _same(a: Any, b: Any) -> bool:
    """Equality that tells booleans from numbers (True == 1 in Python, not in DynamoDB)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _stored_form(item: Mapping[str, Any]) -> dict[str, Any]:
    """The item as it reads back from DynamoDB (None dropped, numbers normalised)."""
    return from_attributes(to_attributes(item))


def _differences(desired_item: Mapping[str, Any], current: Mapping[str, Any]) -> Update | None:
    """What to set and remove on `current` so its roster-owned attributes equal `desired_item`'s."""
    desired = _stored_form(desired_item)
    to_set = {
        name: value
        for name, value in desired.items()
        if name not in ("pk", "sk") and (name not in current or not _same(current[name], value))
    }
    to_remove = tuple(sorted(n for n, v in desired_item.items() if v is None and n in current))
    if not to_set and not to_remove:
        return None
    return Update({"pk": desired["pk"], "sk": desired["sk"]}, to_set, to_remove)


def keep_self_service(
    items: Sequence[Mapping[str, Any]], stored_profile: Mapping[str, Any] | None, overwrite: bool = False
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The roster row's items with the director's own changes applied, and the fields where the two
    differ (pure). A field the director set on their manage page (the PROFILE's `self_service` marks)
    keeps its stored value on the PROFILE and every LICENSE item, unless `overwrite`: then the row's
    value is written and the mark cleared."""
    marks: dict[str, Any] = dict((stored_profile or {}).get("self_service") or {})
    if not marks or stored_profile is None:
        return [dict(item) for item in items], ()
    stored = _stored_form(stored_profile)
    differing = tuple(
        sorted(name for name in marks if not _same(_stored_form(items[0]).get(name), stored.get(name)))
    )
    result: list[dict[str, Any]] = []
    for item in items:
        copy = dict(item)
        if item["sk"] == keys.PROFILE_SK or item["sk"].startswith(keys.LICENSE):
            for name in marks:
                copy[name] = item.get(name) if overwrite else stored.get(name)
        if item["sk"] == keys.PROFILE_SK:
            copy["self_service"] = None if overwrite else marks
        result.append(copy)
    return result, differing


def plan_change(
    director: Director,
    stored: Iterable[Mapping[str, Any]],
    items: Sequence[Mapping[str, Any]] | None = None,
    overwrite_self_service: bool = False,
) -> Change:
    """The writes that make a director's stored items match `director` (pure), keeping the fields the
    director set themselves unless told to overwrite them (`keep_self_service`).

    `items` are director_items(director) when the caller has them already.
    """
    director_id = director.director_id
    stored_by_sk = {item["sk"]: item for item in stored}
    items, differing = keep_self_service(
        director_items(director) if items is None else items,
        stored_by_sk.get(keys.PROFILE_SK),
        overwrite_self_service,
    )
    puts: list[dict[str, Any]] = []
    updates: list[Update] = []
    wanted: set[str] = set()
    for item in items:
        wanted.add(item["sk"])
        current = stored_by_sk.get(item["sk"])
        if current is None:
            puts.append(_stored_form(item))
        elif (update := _differences(item, current)) is not None:
            if item["sk"] == keys.PROFILE_SK:
                # A manage page shown before this import is stale now: its form changes nothing.
                read = int(current.get("version", 0))
                update = replace(update, set={**update.set, "version": read + 1}, expected_version=read)
            updates.append(update)
    deletes = tuple(
        {"pk": director_id, "sk": sk}
        for sk in sorted(stored_by_sk)
        if sk not in wanted and sk.startswith(ROSTER_PREFIXES)
    )
    if not stored_by_sk:
        outcome = Outcome.CREATED
    elif puts or updates or deletes:
        outcome = Outcome.UPDATED
    else:
        outcome = Outcome.UNCHANGED
    kept, overwritten = ((), differing) if overwrite_self_service else (differing, ())
    return Change(director_id, outcome, tuple(puts), tuple(updates), deletes, kept, overwritten)


def director_from_items(items: Iterable[Mapping[str, Any]]) -> Director:
    """The Director that `director_items` made these items from (PROFILE, LICENSE#, DEA#).

    Raises ValueError (with a message naming fields, not values) when they do not make one.
    """
    by_sk = {item["sk"]: item for item in items}
    profile = by_sk.get(keys.PROFILE_SK)
    if profile is None:
        raise ValueError("no PROFILE item")
    licenses: list[StateLicense] = []
    supervising: list[Supervision] = []
    dea: list[DeaRegistration] = []
    try:
        for sk in sorted(by_sk):
            item = by_sk[sk]
            if sk.startswith(keys.LICENSE):
                state = item["license_state"]
                licenses.append(
                    StateLicense(
                        state=state,
                        number=item["license_number"],
                        status=item["license_status"],
                        expires_on=item["license_expires_on"],
                    )
                )
                np, pa = int(item.get("supervising_np", 0)), int(item.get("supervising_pa", 0))
                if np or pa:
                    supervising.append(Supervision(state=state, np=np, pa=pa))
            elif sk.startswith(keys.DEA):
                dea.append(
                    DeaRegistration(
                        state=item["dea_state"], number=item["dea_number"], expires_on=item["dea_expires_on"]
                    )
                )
        fields = {name: profile[name] for name in PROFILE_FIELDS if profile.get(name) is not None}
        return Director.model_validate(
            {**fields, "licenses": licenses, "dea": dea, "supervising": supervising}
        )
    except KeyError as error:
        raise ValueError(f"attribute {error.args[0]} is missing") from None
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "item"
        # Some messages quote the value (a DEA number, a state): keep only the error type then.
        message = str(first["msg"]) if "'" not in str(first["msg"]) else str(first["type"])
        raise ValueError(f"{where}: {message}") from None


class RosterStore(DirectorStore):
    """Reads and writes whole directors (all their items) in the Directors table."""

    def __init__(
        self,
        table: str,
        by_state_index: str,
        availability_table: str,
        client: DynamoDBClient | None = None,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        super().__init__(table, by_state_index, availability_table, client)
        self.workers = max(1, workers)

    # --- reading -------------------------------------------------------------------------------

    def director_partition(self, director_id: str) -> list[dict[str, Any]]:
        """Every item of one director, strongly consistent."""
        return self.partition(director_id, consistent=True)

    def backfill_availability(self) -> int:
        """Every director's AVAIL items rewritten from their LICENSE items (found by state through
        ByState, never a Scan); safe to run again. Returns how many directors it refreshed."""
        director_ids = sorted({d for state in sorted(US_STATES) for d in self.director_ids_in(state)})
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(self.refresh_availability, director_ids))
        return len(director_ids)

    def director_ids_in(self, state: str) -> list[str]:
        """Directors holding a license in `state`, from the ByState index (keys only)."""
        return [item["pk"] for item in self.licenses_in(state, ProjectionExpression="pk")]

    def batch_get(self, item_keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        """BatchGetItem in chunks of 100 (in parallel), asking again for keys handed back unprocessed."""
        chunks = [
            item_keys[start : start + BATCH_GET_SIZE] for start in range(0, len(item_keys), BATCH_GET_SIZE)
        ]
        if not chunks:
            return []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return [item for found in pool.map(self._batch_get_chunk, chunks) for item in found]

    def _batch_get_chunk(self, item_keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        pending: list[Any] = [to_attributes(k) for k in item_keys]
        for attempt in range(BATCH_ATTEMPTS):
            response = self.client.batch_get_item(
                RequestItems={self.table: {"Keys": pending, "ConsistentRead": True}}
            )
            found.extend(from_attributes(raw) for raw in response.get("Responses", {}).get(self.table, []))
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys", {}).get(self.table, {}))
            pending = list(unprocessed.get("Keys", []))
            if not pending:
                return found
            time.sleep(0.05 * 2**attempt)
        raise StoreUnavailable("batch get left unprocessed keys")

    # --- import --------------------------------------------------------------------------------

    def plan(self, directors: Sequence[Director], overwrite_self_service: bool = False) -> list[Change]:
        """Read what is stored for each director and work out its writes.

        One BatchGetItem reads the PROFILE items. A director whose stored PROFILE already equals
        the row's has every LICENSE#/DEA# item the row names, and no other (see `apply`: the
        PROFILE is written last), so those items are read by key, also in batches. Any other
        director (new, or with a changed PROFILE) has the partition Queried, so items the row no
        longer names are found and deleted. Fields the director set themselves are kept, or with
        `overwrite_self_service` overwritten (`keep_self_service`).
        """
        items_of = {d.director_id: director_items(d) for d in directors}
        if len(items_of) != len(directors):
            raise ValueError("a director (NPI) is listed more than once")
        profiles = {
            item["pk"]: item for item in self.batch_get([{"pk": d, "sk": keys.PROFILE_SK} for d in items_of])
        }
        stored_of: dict[str, list[dict[str, Any]]] = {}
        by_key: list[dict[str, str]] = []
        to_query: list[str] = []
        for director_id, items in items_of.items():
            profile = profiles.get(director_id)
            desired, _ = keep_self_service(items[:1], profile, overwrite_self_service)
            if profile is not None and _differences(desired[0], profile) is None:
                stored_of[director_id] = [profile]
                by_key.extend({"pk": director_id, "sk": item["sk"]} for item in items[1:])
            else:
                to_query.append(director_id)
        for item in self.batch_get(by_key):
            stored_of[item["pk"]].append(item)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            stored_of.update(zip(to_query, pool.map(self.director_partition, to_query), strict=True))
        return [
            plan_change(d, stored_of[d.director_id], items_of[d.director_id], overwrite_self_service)
            for d in directors
        ]

    def apply(self, changes: Sequence[Change]) -> None:
        """Write LICENSE#/DEA# items first and PROFILE items last.

        So a stored PROFILE equal to the roster row means the director's other items were written
        (and the ones dropped deleted) before it: an import that stops halfway leaves changed
        PROFILEs unwritten, and the next import Queries those partitions again.
        """
        for phase in (False, True):
            requests: list[Any] = []
            updates: list[Update] = []
            for change in changes:
                requests.extend(
                    {"PutRequest": {"Item": to_attributes(item)}}
                    for item in change.puts
                    if (item["sk"] == keys.PROFILE_SK) is phase
                )
                requests.extend(
                    {"DeleteRequest": {"Key": to_attributes(key)}}
                    for key in change.deletes
                    if (key["sk"] == keys.PROFILE_SK) is phase
                )
                updates.extend(u for u in change.updates if (u.key["sk"] == keys.PROFILE_SK) is phase)
            self.batch_write(requests, "roster import")
            if updates:
                with ThreadPoolExecutor(max_workers=self.workers) as pool:
                    list(pool.map(self._update, updates))
        changed = [change.director_id for change in changes if change.outcome is not Outcome.UNCHANGED]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(self.refresh_availability, changed))

    def sync(
        self, directors: Sequence[Director], dry_run: bool = False, overwrite_self_service: bool = False
    ) -> tuple[Counter[str], list[str]]:
        """Make the table hold these directors as given; with dry_run, only count what would change.

        Counts the directors by Outcome, and the item writes as "puts", "updates" and "deletes"; and
        says, per director, which of their own changes were kept or overwritten."""
        changes = self.plan(directors, overwrite_self_service)
        if not dry_run:
            self.apply(changes)
        counts = Counter[str](change.outcome for change in changes)
        for change in changes:
            counts.update(puts=len(change.puts), updates=len(change.updates), deletes=len(change.deletes))
        notes = [note for change in changes if (note := change.self_service_note()) is not None]
        return counts, notes

    def _update(self, update: Update) -> None:
        request = set_and_remove(self.table, update.key, update.set, update.remove)
        if update.expected_version is not None:
            on_version(request, update.expected_version)
        self.client.update_item(**request)

    # --- export --------------------------------------------------------------------------------

    def export(self) -> Export:
        """Every director licensed anywhere, read through the ByState index (51 Queries, no Scan)."""
        states_of: dict[str, set[str]] = {}
        for state in sorted(US_STATES):
            for director_id in self.director_ids_in(state):
                states_of.setdefault(director_id, set()).add(state)
        director_ids = sorted(states_of)
        profiles = {
            item["pk"]: item
            for item in self.batch_get([{"pk": d, "sk": keys.PROFILE_SK} for d in director_ids])
        }
        wanted: list[dict[str, str]] = []
        for director_id in director_ids:
            profile = profiles.get(director_id, {})
            license_states = states_of[director_id] | set(profile.get("licensed_states", ()))
            wanted.extend({"pk": director_id, "sk": keys.LICENSE(s)} for s in sorted(license_states))
            wanted.extend(
                {"pk": director_id, "sk": keys.DEA(s)} for s in sorted(profile.get("dea_states", ()))
            )
        items_of: dict[str, list[dict[str, Any]]] = {
            d: [profiles[d]] if d in profiles else [] for d in director_ids
        }
        for item in self.batch_get(wanted):
            items_of[item["pk"]].append(item)
        export = Export()
        for director_id in director_ids:
            try:
                director = director_from_items(items_of[director_id])
            except ValueError as error:
                export.problems.append(ExportProblem(director_id, str(error)))
                continue
            if director_id_for(director.npi) != director_id:
                export.problems.append(ExportProblem(director_id, "stored under an id its NPI does not give"))
                continue
            export.directors.append(director)
        export.directors.sort(key=lambda d: d.npi)
        return export
