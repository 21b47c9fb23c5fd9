"""Reading a JSON body (intake.http.parse_json_body): stricter than json.loads where json.loads is
lenient (NaN, repeated keys), and never raising anything but RequestRejected (no 500)."""

from __future__ import annotations

import json
import math
from http import HTTPStatus
from typing import Any

import pytest

from directormatch.errors import RequestRejected
from directormatch.intake.http import parse_json_body

DIGITS = "7" * 4_301  # one more than int() reads by default (sys.int_info.default_max_str_digits)


def refusal(text: str) -> RequestRejected:
    with pytest.raises(RequestRejected) as caught:
        parse_json_body(text)
    return caught.value


NUMBERS: list[tuple[str, str, float]] = [
    ("4301-digits", f'{{"n": {DIGITS}}}', math.inf),
    ("minus-4301-digits", f'{{"n": -{DIGITS}}}', -math.inf),
    ("30000-digits", f'{{"n": {"1" * 30_000}}}', math.inf),
    ("1e400", '{"n": 1e400}', math.inf),
    ("minus-1e400", '{"n": -1e400}', -math.inf),
    ("huge-exponent", '{"n": 1e99999999999999999999}', math.inf),
    ("4300-digits", f'{{"n": {"9" * 4_300}}}', int("9" * 4_300)),
    ("270.0", '{"n": 270.0}', 270.0),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(*n[1:], id=n[0]) for n in NUMBERS])
def test_parse_json_body_numbers_of_any_length_are_read_never_raised(text: str, expected: float) -> None:
    # Given a number too long for int(), too large for a float, or one that fits
    # When the body is read
    value = parse_json_body(text)

    # Then it is read (as +-inf beyond every bound, which the contract refuses as out of range)
    assert value == {"n": expected}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ['{{"n": {}}}', '{{"a": [1, {{"b": {}}}]}}', "{}"])
def test_parse_json_body_nan_and_infinity_are_not_json(constant: str, where: str) -> None:
    # Given a body using a literal json.loads accepts but JSON does not have
    text = where.format(constant)

    # When it is read
    error = refusal(text)

    # Then it is a 400 naming the body and the literal
    assert (error.status, error.field, error.type) == (HTTPStatus.BAD_REQUEST, "body", "json_invalid")
    assert error.message == f"body is not valid JSON: {constant} is not a JSON number"


def nested(depth: int, inner: str) -> str:
    return '{"x": ' * depth + inner + "}" * depth


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"consent": false, "consent": true}', "consent"),
        ('{"consent": true, "consent": true}', "consent"),
        ('{"clinic": {"name": "A", "website": null, "name": "B"}}', "clinic.name"),
        ('{"modalities": ["ketamine", {"a": 1, "a": 2}]}', "modalities.1.a"),
        ('{"a": {"b": 1}, "c": [[{"d": {"e": 1, "e": 2}}]]}', "c.0.0.d.e"),
        (nested(500, '{"k": 1, "k": 2}'), ".".join(["x"] * 500 + ["k"])),
        ('{"": 1, "": 2}', ""),
    ],
    ids=["top", "same-value", "nested", "in-a-list", "deep-in-lists", "500-deep", "empty-key"],
)
def test_parse_json_body_a_repeated_key_is_refused_naming_its_path(text: str, path: str) -> None:
    # Given a body repeating a key in one object (json.loads would keep the last, silently)
    # When it is read
    error = refusal(text)

    # Then it is a 400 naming the key by its dotted path
    assert (error.status, error.field, error.type) == (HTTPStatus.BAD_REQUEST, path, "json_duplicate_key")
    assert "more than once" in error.message


def test_parse_json_body_the_same_key_in_two_objects_is_no_repeat() -> None:
    # Given "name" in the clinic and in the contact
    text = json.dumps({"clinic": {"name": "A"}, "contact": {"name": "B"}, "name": "C"})

    # When it is read
    value: Any = parse_json_body(text)

    # Then it is read as sent
    assert value == json.loads(text)


MALFORMED: list[tuple[str, str, str]] = [
    ("bom", "\ufeff{}", "BOM"),
    ("100000-lists", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("100000-objects", nested(100_000, "1"), "nested too deeply"),
    ("trailing-comma", '{"a": 1,}', "not valid JSON"),
    ("single-quotes", "{'a': 1}", "not valid JSON"),
    ("leading-zero", '{"a": 01}', "not valid JSON"),
    ("bare-fraction", '{"a": .5}', "not valid JSON"),
    ("hex", '{"a": 0x10}', "not valid JSON"),
    ("raw-control-char", '{"a": "\x00"}', "not valid JSON"),
    ("comment", '{"a": 1} // comment', "not valid JSON"),
    ("empty", "", "not valid JSON"),
]


@pytest.mark.parametrize(("text", "words"), [pytest.param(*m[1:], id=m[0]) for m in MALFORMED])
def test_parse_json_body_malformed_text_is_a_400_on_the_body(text: str, words: str) -> None:
    # Given text that is not JSON (RFC 8259), or nested beyond what can be read
    # When it is read
    error = refusal(text)

    # Then it is a 400 on the body, saying why
    assert (error.status, error.field) == (HTTPStatus.BAD_REQUEST, "body")
    assert words in error.message
