"""DynamoDB's attribute encoding, both ways, and reading the error codes its writes fail with."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

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


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's attributes. None values and empty maps are left out (a map's empty maps too; readers
    take a missing map as empty): DynamoDB Local's streams write an empty map as `{}` instead of
    `{"M": {}}`, which no decoder reads, so an alert with nothing excluded would fail notify on every
    retry. Expression values (":name") are kept whatever they hold, as an expression names them.
    (An empty map inside a list would still be written: none of ours has one.)"""
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


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def cancellation_codes(error: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def conditional_put(table: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """A Put (in a transaction or alone) that writes only a new item: a retry never overwrites."""
    return {
        "TableName": table,
        "Item": to_attributes(item),
        "ConditionExpression": "attribute_not_exists(pk)",
    }


def set_and_remove(
    table: str, item_key: Mapping[str, str], to_set: Mapping[str, Any], to_remove: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An Update (in a transaction or alone) setting and removing attributes by name, every name
    through a placeholder (reserved words such as `paused` are safe). Values may be None: those are
    removed."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    assignments: list[str] = []
    removals = list(to_remove)
    for n, (name, value) in enumerate(sorted(to_set.items())):
        if value is None:
            removals.append(name)
            continue
        names[f"#s{n}"], values[f":s{n}"] = name, value
        assignments.append(f"#s{n} = :s{n}")
    removed: list[str] = []
    for n, name in enumerate(removals):
        names[f"#r{n}"] = name
        removed.append(f"#r{n}")
    clauses = [f"SET {', '.join(assignments)}" if assignments else ""]
    clauses.append(f"REMOVE {', '.join(removed)}" if removed else "")
    update: dict[str, Any] = {
        "TableName": table,
        "Key": to_attributes(dict(item_key)),
        "UpdateExpression": " ".join(clause for clause in clauses if clause),
        "ExpressionAttributeNames": names,
    }
    if values:
        update["ExpressionAttributeValues"] = to_attributes(values)
    return update


def on_version(update: dict[str, Any], version: int, *more: str) -> dict[str, Any]:
    """`update` (from set_and_remove) on condition that the item's `version` is still `version` (none
    stored reads as 0), and that every expression in `more` holds. Placeholders: #read_version,
    :read_version."""
    update["ExpressionAttributeNames"]["#read_version"] = "version"
    if version:
        held = "#read_version = :read_version"
        update.setdefault("ExpressionAttributeValues", {})[":read_version"] = {"N": str(version)}
    else:
        held = "attribute_not_exists(#read_version)"
    update["ConditionExpression"] = " AND ".join((held, *more))
    return update
