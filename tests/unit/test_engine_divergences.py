"""Pure halves of the fixes for what differed between moto and DynamoDB Local (tests/integration/
test_engines.py holds them on both engines)."""

from __future__ import annotations

from email import message_from_bytes, policy

from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.mail.render import Email, header_safe, to_mime, unicode_safe


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


def test_a_message_quoting_lone_surrogates_still_encodes() -> None:
    # Given an email whose name, subject and bodies hold lone surrogates
    email = Email(
        kind="receipt",
        to="maria@clinic.example",
        to_name="Maria \ud800",
        subject="For \udfff",
        text="Hello Maria \ud800",
        html="<p>Hello Maria \ud800</p>",
        message_id="<receipt.R1@directormatch>",
    )

    # When it is encoded for SES
    raw = to_mime(email, "quotes@directormatch.example").as_bytes()

    # Then it encodes, each lone surrogate a U+FFFD
    message = message_from_bytes(raw, policy=policy.default)
    assert str(message["Subject"]) == "For \ufffd"
    assert "Maria \ufffd" in str(message["To"])
    assert [part.get_content().strip() for part in message.iter_parts()] == [
        "Hello Maria \ufffd",
        "<p>Hello Maria \ufffd</p>",
    ]
