"""A change to moto's TransactWriteItems for the local stack and the benchmarks (never the tests'
in-process moto, never the package).

moto (5.2) backs up a transaction by deep-copying the whole table once per item of the transaction,
so a transaction costs O(items in the table x items in the transaction): an accept (offer, request,
the director's profile and every license) against a 1,000-director roster copies the Directors table
about ten times, seconds per call, past the package's 5 s read timeout. DynamoDB has no such cost.

`apply()` keeps moto's behaviour (conditions, all or nothing, cancellation reasons) but backs up only
the items the transaction touches, and on cancellation puts them back and drops the stream records
the cancelled writes added (DynamoDB emits none). `python -m local` applies it before starting
moto (MOTO_AS_SHIPPED=1 turns it off); the benchmarks apply it in their own processes.
"""

from __future__ import annotations

import copy
from typing import Any

_PATCHED = "_bench_item_backup"


class _TablesByReference:
    """Stands in for the `copy` module inside moto.dynamodb.models: tables are not copied (this
    patch backs up items instead); anything else is copied as before (e.g. update_item's old image)."""

    def __init__(self) -> None:
        from moto.dynamodb.models.table import Table

        self._table = Table

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table):
            return value
        return copy.deepcopy(value, memo)

    def copy(self, value: Any) -> Any:
        return copy.copy(value)


def apply() -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    if getattr(original, _PATCHED, False):
        return
    shim = _TablesByReference()

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, item copy or None)
        streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or {
                name: op.get("Item", {})[name]
                for name in (table.hash_key_attr, table.range_key_attr)
                if name and name in op.get("Item", {})
            }
            try:
                hash_key, range_key = self.get_keys_value(table, key)
                current = table.get_item(hash_key, range_key)
            except Exception:  # noqa: S112 - moto raises its own validation error below
                continue
            backups.append((table, hash_key, range_key, copy.deepcopy(current) if current else None))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        real_copy = getattr(models, "copy")  # noqa: B009 - the module moto's code refers to
        setattr(models, "copy", shim)  # noqa: B010
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(backups):
                _restore(table, hash_key, range_key, item)
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            setattr(models, "copy", real_copy)  # noqa: B010

    setattr(transact_write_items, _PATCHED, True)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _restore(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
    if range_key is not None:
        partition = table.items[hash_key]
        if item is None:
            partition.pop(range_key, None)
        else:
            partition[range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item
