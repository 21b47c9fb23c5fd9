"""Small declarative rules for JSON request bodies: each rule validates a value and describes itself
as JSON Schema, so the OpenAPI document is made from the rules the API enforces.

Standard library only (cold start, issue 8: pydantic doubled intake's import). Every error is
collected, with pydantic's locations, types and words (the API's answers, the form's wordings and
site/quote-form.html read them), as {"loc", "type", "msg"} dicts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any

REF = "#/components/schemas/{}"
# What pydantic-core's strip_whitespace removes (Unicode White_Space; str.strip() also takes \x1c-\x1f).
WHITE_SPACE = (
    " \t\n\x0b\x0c\r\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
INVALID: Any = object()  # returned by a rule that recorded errors
Loc = tuple[str | int, ...]
Context = Mapping[str, Any]  # validation context: {"now": datetime} moves today (tests)


class Problem(Exception):
    """Raised by a check with its own error type and words (a ValueError becomes "value_error")."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message


class ContractError(ValueError):
    """A body that breaks the rules; `errors()` lists every problem, in pydantic's shape."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} invalid fields")
        self.problems = problems

    def errors(self, **_: Any) -> list[dict[str, Any]]:
        """Never the input (the keyword arguments of pydantic's `errors()` are accepted and ignored)."""
        return [dict(p) for p in self.problems]


class Errors(list[dict[str, Any]]):
    def add(self, loc: Loc, type_: str, message: str) -> Any:
        self.append({"loc": loc, "type": type_, "msg": message})
        return INVALID


Check = Callable[[Any], Any]


def _apply(checks: Sequence[Check], value: Any, loc: Loc, errors: Errors) -> Any:
    for check in checks:
        try:
            value = check(value)
        except Problem as problem:
            return errors.add(loc, problem.type, problem.message)
        except ValueError as error:
            return errors.add(loc, "value_error", f"Value error, {error}")
    return value


class Rule:
    """Validates one value (returning it normalised, or INVALID after recording errors).

    Rules are plain classes, built once at import (dataclasses cost intake's cold start ~0.5 ms each).
    """

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        raise NotImplementedError

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _is_unicode_text(value: str) -> bool:
    """False for a string holding a lone UTF-16 surrogate (JSON "\\ud800" decodes to one): no UTF-8
    encoding exists for it, so DynamoDB Local stores it and every email quoting it then fails."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Text(Rule):
    def __init__(
        self,
        min_length: int | None = None,
        max_length: int | None = None,
        strip: bool = False,
        checks: Sequence[Check] = (),
        described: Mapping[str, Any] | None = None,
    ) -> None:
        self.min_length, self.max_length, self.strip = min_length, max_length, strip
        self.checks, self.described = checks, described or {}

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        if not isinstance(value, str):
            return errors.add(loc, "string_type", "Input should be a valid string")
        if not _is_unicode_text(value):
            return errors.add(loc, "string_unicode", "Input should be text without lone UTF-16 surrogates")
        if self.strip:
            value = value.strip(WHITE_SPACE)
        if self.min_length is not None and len(value) < self.min_length:
            message = f"String should have at least {_plural(self.min_length, 'character')}"
            return errors.add(loc, "string_too_short", message)
        if self.max_length is not None and len(value) > self.max_length:
            message = f"String should have at most {_plural(self.max_length, 'character')}"
            return errors.add(loc, "string_too_long", message)
        return _apply(self.checks, value, loc, errors)

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        bounds = {"maxLength": self.max_length, "minLength": self.min_length}
        return {"type": "string", **{k: v for k, v in bounds.items() if v is not None}, **self.described}


class Before(Rule):
    """A check on the raw value before `rule` (e.g. normalising a phone number), documented as `described`."""

    def __init__(self, check: Check, rule: Rule, described: Mapping[str, Any] | None = None) -> None:
        self.check, self.rule, self.described = check, rule, described or {}

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        value = _apply([self.check], value, loc, errors)
        return value if value is INVALID else self.rule.validate(value, loc, errors, context)

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        return {**self.rule.json_schema(definitions), **self.described}


class Integer(Rule):
    """A JSON integer (strict: not a bool, a float or a numeric string) within [ge, le]."""

    def __init__(self, ge: int, le: int) -> None:
        self.ge, self.le = ge, le

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        if type(value) is not int:
            return errors.add(loc, "int_type", "Input should be a valid integer")
        if value < self.ge:
            return errors.add(
                loc, "greater_than_equal", f"Input should be greater than or equal to {self.ge}"
            )
        if value > self.le:
            return errors.add(loc, "less_than_equal", f"Input should be less than or equal to {self.le}")
        return value

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        return {"type": "integer", "maximum": self.le, "minimum": self.ge}


class Boolean(Rule):
    """A JSON true or false (strict: not "true" or 1); with `only`, that value alone, else `refusal`."""

    def __init__(self, only: bool | None = None, refusal: str = "") -> None:
        self.only, self.refusal = only, refusal

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        if not isinstance(value, bool):
            return errors.add(loc, "bool_type", "Input should be a valid boolean")
        if self.only is not None and value is not self.only:
            return errors.add(loc, "value_error", f"Value error, {self.refusal}")
        return value

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        return {"type": "boolean"} if self.only is None else {"type": "boolean", "const": self.only}


def _choices(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


class Choice(Rule):
    """One of `values` (strings); with `enum`, returned as its member and documented by name."""

    def __init__(self, values: Sequence[str], enum: type[Enum] | None = None) -> None:
        self.values, self.enum = values, enum

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        if isinstance(value, str) and value in self.values:
            return self.enum(value) if self.enum else value
        return errors.add(
            loc, "enum" if self.enum else "literal_error", f"Input should be {_choices(self.values)}"
        )

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        schema = {"type": "string", "enum": list(self.values)}
        if not self.enum:
            return schema
        definitions[self.enum.__name__] = {**schema, "title": self.enum.__name__}
        return {"$ref": REF.format(self.enum.__name__)}


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Python's words for an impossible date, as pydantic-core says them.
_DATE_REASONS = {
    "day is": "day value is outside expected range",
    "month": "month value is outside expected range",
}


class Day(Rule):
    """An ISO date ("2026-12-01"; a datetime at midnight names its day too) within `window(context)`;
    before it the error says `early`, after it `late`."""

    def __init__(self, window: Callable[[Context], tuple[date, date]], early: str, late: str) -> None:
        self.window, self.early, self.late = window, early, late

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        if not isinstance(value, str):
            return errors.add(loc, "date_type", "Input should be a valid date")
        if not _ISO_DAY.fullmatch(value[:10]) or (len(value) > 10 and value[10] not in "Tt "):
            message = "Input should be a valid date in the format YYYY-MM-DD"
            return errors.add(loc, "date_parsing", message)
        try:
            moment = datetime.fromisoformat(value) if len(value) > 10 else None
            day = moment.date() if moment else date.fromisoformat(value)
        except ValueError as error:
            reason = next(
                (words for key, words in _DATE_REASONS.items() if key in str(error)), "invalid date"
            )
            message = f"Input should be a valid date or datetime, {reason}"
            return errors.add(loc, "date_from_datetime_parsing", message)
        if moment and moment.timetz().replace(tzinfo=None) != datetime.min.time():
            message = "Datetimes provided to dates should have zero time - e.g. be exact dates"
            return errors.add(loc, "date_from_datetime_inexact", message)
        first, last = self.window(context)
        if day < first:
            return errors.add(loc, "value_error", f"Value error, {self.early}")
        if day > last:
            return errors.add(loc, "value_error", f"Value error, {self.late}")
        return day

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        """The dates accepted today, listed in a pattern (the document is made when asked for)."""
        first, last = self.window({})
        months: dict[str, list[str]] = {}
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            months.setdefault(day.strftime("%Y-%m"), []).append(day.strftime("%d"))
        dates = "|".join(f"{month}-(?:{'|'.join(days)})" for month, days in months.items())
        return {"type": "string", "format": "date", "pattern": f"^(?:{dates})$"}


class ListOf(Rule):
    """A JSON array of `item`s; with `unique`, no entry twice (compared once normalised)."""

    def __init__(self, item: Rule, min_length: int, max_length: int, unique: bool = False) -> None:
        self.item, self.min_length, self.max_length, self.unique = item, min_length, max_length, unique

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        if not isinstance(value, list):
            return errors.add(loc, "list_type", "Input should be a valid list")
        if len(value) > self.max_length:
            most = _plural(self.max_length, "item")
            message = f"List should have at most {most} after validation, not {len(value)}"
            return errors.add(loc, "too_long", message)
        before = len(errors)
        items = [self.item.validate(v, (*loc, i), errors, context) for i, v in enumerate(value)]
        if len(errors) > before:
            return INVALID
        if len(items) < self.min_length:
            least = _plural(self.min_length, "item")
            message = f"List should have at least {least} after validation, not {len(items)}"
            return errors.add(loc, "too_short", message)
        repeated = sorted(str(v) for v, count in Counter(items).items() if count > 1) if self.unique else []
        if repeated:
            return errors.add(
                loc, "value_error", f"Value error, listed more than once: {', '.join(repeated)}"
            )
        return items

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        schema = {
            "type": "array",
            "items": self.item.json_schema(definitions),
            "maxItems": self.max_length,
            "minItems": self.min_length,
        }
        return {**schema, "uniqueItems": True} if self.unique else schema


class Nullable(Rule):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        return None if value is None else self.rule.validate(value, loc, errors, context)

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        return {"anyOf": [self.rule.json_schema(definitions), {"type": "null"}]}


REQUIRED: Any = object()


class Field:
    """A field of an Obj: its rule, and its default when the field may be left out."""

    def __init__(self, rule: Rule, default: Any = REQUIRED) -> None:
        self.rule, self.default = rule, default


class Obj(Rule):
    """A JSON object with exactly these fields (unknown ones are errors); validates to a dict."""

    def __init__(self, title: str, fields: Mapping[str, Field], description: str = "") -> None:
        self.title, self.fields, self.description = title, fields, description

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        if not isinstance(value, dict):
            message = f"Input should be a valid dictionary or instance of {self.title}"
            return errors.add(loc, "model_type", message)
        before = len(errors)
        result: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if name not in value:
                if spec.default is REQUIRED:
                    errors.add((*loc, name), "missing", "Field required")
                result[name] = spec.default
            else:
                result[name] = spec.rule.validate(value[name], (*loc, name), errors, context)
        for name in value:
            if name not in self.fields:
                errors.add((*loc, name), "extra_forbidden", "Extra inputs are not permitted")
        return INVALID if len(errors) > before else result

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        properties = {}
        for name, spec in self.fields.items():
            schema = spec.rule.json_schema(definitions)
            if "$ref" not in schema:
                schema = {**schema, "title": name.replace("_", " ").title()}
            if spec.default is not REQUIRED:
                schema["default"] = spec.default
            properties[name] = schema
        definitions[self.title] = {
            "type": "object",
            "title": self.title,
            **({"description": self.description} if self.description else {}),
            "properties": properties,
            "required": [name for name, spec in self.fields.items() if spec.default is REQUIRED],
            "additionalProperties": False,
        }
        return {"$ref": REF.format(self.title)}

    def parse(self, value: Any, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The body validated and normalised, or ContractError listing every problem."""
        errors = Errors()
        result = self.validate(value, (), errors, context or {})
        if errors:
            raise ContractError(errors)
        return dict(result)


# http(s) URLs whose WHATWG serialisation is plain to compute: a lower-cased scheme and host (DNS
# labels of letters, digits and hyphens, not ending in a number, no punycode), a port, and a path,
# query and fragment of characters the URL standard leaves as they are. Others go to pydantic-core's
# WHATWG parser, which pydantic's HttpUrl used (tests check both agree).
_SIMPLE_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*)(?::(?P<port>\d{1,5}))?"
    r"(?P<path>/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?(?P<query>\?[A-Za-z0-9\-._~!$&()*+,;=:@/?]*)?"
    r"(?P<fragment>#[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?",
    re.IGNORECASE,
)
_NUMERIC_LABEL = re.compile(r"\d+|0x[0-9a-f]*", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}


def simple_url(value: str) -> str | None:
    """The WHATWG serialisation of a plain http(s) URL, or None when it is not plain."""
    match = _SIMPLE_URL.fullmatch(value) if len(value) <= 2000 else None
    if not match:
        return None
    scheme, host = match["scheme"].lower(), match["host"].lower()
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]) or any(label.startswith("xn--") for label in labels):
        return None
    path = match["path"] or "/"
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    port = "" if match["port"] is None else match["port"]
    if port and int(port) > 65535:
        return None
    port = "" if not port or int(port) == DEFAULT_PORTS[scheme] else f":{int(port)}"
    return f"{scheme}://{host}{port}{path}{match['query'] or ''}{match['fragment'] or ''}"


@cache
def _url_parser(max_length: int) -> Any:
    """pydantic-core's http(s) URL validator (imported at the first URL that is not plain)."""
    from pydantic_core import SchemaValidator, core_schema

    return SchemaValidator(core_schema.url_schema(max_length=max_length, allowed_schemes=["http", "https"]))


class HttpUrl(Rule):
    """An http(s) URL, normalised as the URL standard (and pydantic's HttpUrl) does."""

    def __init__(self, max_length: int = 2083) -> None:
        self.max_length = max_length

    def validate(self, value: Any, loc: Loc, errors: Errors, context: Context) -> Any:
        plain = simple_url(value) if isinstance(value, str) else None
        if plain is not None:
            return plain
        from pydantic_core import SchemaValidator, ValidationError, core_schema

        parser = SchemaValidator(
            core_schema.url_schema(max_length=self.max_length, allowed_schemes=["http", "https"])
        )
        try:
            return str(parser.validate_python(value))
        except ValidationError as error:
            [problem] = error.errors(include_url=False, include_input=False)
            return errors.add(loc, problem["type"], problem["msg"])

    def json_schema(self, definitions: dict[str, Any]) -> dict[str, Any]:
        schema = {"type": "string", "format": "uri", "maxLength": self.max_length, "minLength": 1}
        return {**schema, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}
