"""Pure halves of the fixes for what differed between moto and DynamoDB Local (tests/integration/
test_engines.py holds them on both engines; test_emails.py checks that a message quoting lone
surrogates still encodes)."""

from __future__ import annotations

from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.mail.render import header_safe
from directormatch.text import unicode_safe


def test_items_never_hold_an_empty_map_at_any_depth() -> None:
    # Given an item with empty maps at the top and inside a map (DynamoDB Local's stream writes an
    # empty map as {}, which no decoder reads)
    item = {"pk": "R1", "sk": "MATCH", "excluded": {}, "summary": {"answers": {}, "states": ["TX"]}}

    # When it is turned into attributes
    attributes = to_attributes(item)

    # Then the empty maps are left out, and what is left reads back the same
    assert attributes == {
        "pk": {"S": "R1"},
        "sk": {"S": "MATCH"},
        "summary": {"M": {"states": {"L": [{"S": "TX"}]}}},
    }
    assert from_attributes(attributes) == {"pk": "R1", "sk": "MATCH", "summary": {"states": ["TX"]}}


def test_expression_values_keep_an_empty_map_their_expression_names() -> None:
    assert to_attributes({":history": {}, ":none": None}) == {":history": {"M": {}}}


def test_lone_surrogates_become_replacement_characters_and_pairs_stay_whole() -> None:
    assert unicode_safe("Maria \ud800 D") == "Maria \ufffd D"
    assert unicode_safe("end \udfff") == "end \ufffd"
    assert unicode_safe("Ana 😀") == "Ana 😀"
    assert unicode_safe("plain") == "plain"
    assert header_safe("Pat \udbff\r\nBcc: x@example.com") == "Pat \ufffd Bcc: x@example.com"
