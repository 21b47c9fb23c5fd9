"""Rendering receipt and offer emails: escaping, headers without user line breaks, MIME structure."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from directormatch.aws.attributes import from_attributes
from directormatch.mail.messages import offer_email, receipt_email
from directormatch.mail.render import Email, header_safe, to_mime
from directormatch.records import Offer, Profile, Request
from tests.events import NOTIFY_NEW_OFFER, NOTIFY_NEW_REQUEST, load_stream_event

SCRIPT = "<script>alert('x')</script>"
SENDER = "matches@directormatch.example"

STATUS_URL = "https://api.example/quote-requests/R1?token=t"


def request_item(**overrides: Any) -> dict[str, Any]:
    """The REQUEST item of events/notify/new_request.json."""
    item = from_attributes(load_stream_event(NOTIFY_NEW_REQUEST)["Records"][0]["dynamodb"]["NewImage"])
    item.update(overrides)
    return item


def offer_item() -> dict[str, Any]:
    return from_attributes(load_stream_event(NOTIFY_NEW_OFFER)["Records"][0]["dynamodb"]["NewImage"])


def director(**overrides: Any) -> dict[str, Any]:
    profile = {
        "pk": "D000084",
        "sk": "PROFILE",
        "director_id": "D000084",
        "first_name": "Avery",
        "last_name": "Bennett",
        "email": "director000084@roster.example",
    }
    profile.update(overrides)
    return profile


def test_receipt_email_html_escapes_clinic_and_contact_names() -> None:
    # Given a request whose clinic and contact names carry markup
    item = request_item(
        clinic={"name": f"{SCRIPT} Spa"}, contact={**request_item()["contact"], "name": SCRIPT}
    )

    # When the receipt is rendered
    rendered = receipt_email(Request.from_item(item), STATUS_URL)

    # Then the HTML shows the markup as text, never as a tag
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Spa" in rendered.html
    assert "Hello &lt;script&gt;" in rendered.html


def test_receipt_email_text_keeps_names_literal() -> None:
    # Given a request whose clinic name carries markup and an ampersand
    item = request_item(clinic={"name": f"{SCRIPT} & Co"})

    # When the receipt is rendered
    rendered = receipt_email(Request.from_item(item), STATUS_URL)

    # Then the plain-text part shows it exactly as typed
    assert f"we received {SCRIPT} & Co's request" in rendered.text
    assert "&lt;" not in rendered.text
    assert "&amp;" not in rendered.text


def test_receipt_email_of_a_request_stored_before_codes_quotes_its_id() -> None:
    # Given a request stored before reference codes existed
    item = request_item()
    del item["reference"]

    # When the receipt is rendered
    rendered = receipt_email(Request.from_item(item), STATUS_URL)

    # Then its id is the reference it quotes, as its first receipt did
    assert item["request_id"] in rendered.subject
    assert f"Reference:       {item['request_id']}" in rendered.text


def test_receipt_email_is_addressed_to_the_clinic_contact_with_its_reference() -> None:
    # Given a stored request
    item = request_item()

    # When the receipt is rendered
    rendered = receipt_email(Request.from_item(item), STATUS_URL)

    # Then it goes to the contact, the subject and both parts quote the reference code, and the
    # Message-ID is stable per request
    assert rendered.to == (item["contact"]["email"],)
    assert rendered.subject == f"We received your request for a medical director ({item['reference']})"
    assert f"Reference:       {item['reference']}" in rendered.text
    assert f"<strong>{item['reference']}</strong>" in rendered.html
    assert item["request_id"] not in rendered.text + rendered.html
    assert rendered.message_id == f"<receipt.{item['request_id']}@directormatch>"
    assert receipt_email(Request.from_item(item), STATUS_URL).message_id == rendered.message_id


@pytest.mark.parametrize(
    ("preference", "shown"),
    [
        ("director_policy", "The director brings coverage of at least $1M/$3M"),
        ("clinic_policy", "Your clinic's policy names the director"),
        (None, "No preference"),
    ],
)
def test_receipt_email_states_the_malpractice_preference(preference: str | None, shown: str) -> None:
    # Given a stored request with a malpractice preference, or one stored before the field existed
    item = request_item(malpractice=preference)
    if preference is None:
        del item["malpractice"]

    # When the receipt is rendered
    rendered = receipt_email(Request.from_item(item), STATUS_URL)

    # Then both parts state the preference in words
    assert f"Malpractice:     {shown}" in rendered.text
    assert shown.replace("'", "&#39;") in rendered.html


def test_offer_email_escapes_director_name_and_lists_reasons() -> None:
    # Given an offer to a director whose stored name carries markup
    offer = offer_item()

    # When the offer is rendered
    rendered = offer_email(
        Offer.from_item(offer), Profile.from_item(director(last_name=SCRIPT)), "https://api.example"
    )

    # Then the HTML escapes it, the text keeps it, and every reason is listed in both
    assert "<script>" not in rendered.html
    assert f"Hello Dr. {SCRIPT}," in rendered.text
    for reason in offer["reasons"]:
        assert reason in rendered.text
        assert reason in rendered.html
    assert rendered.to == ("director000084@roster.example",)
    assert rendered.subject == "Medical director opportunity: aesthetics, weight loss in TX"


@pytest.mark.parametrize(
    ("preference", "shown"),
    [
        ("clinic_policy", "the clinic provides a named-insured policy"),
        ("director_policy", "you bring coverage of at least $1M/$3M"),
        ("no_preference", "to be agreed"),
        (None, "to be agreed"),
    ],
)
def test_offer_email_states_the_malpractice_preference_in_the_directors_words(
    preference: str | None, shown: str
) -> None:
    # Given an offer whose summary carries the clinic's preference, or one stored before the field existed
    offer = offer_item()
    offer["summary"] = {**offer["summary"], "malpractice": preference}
    if preference is None:
        del offer["summary"]["malpractice"]

    # When the offer is rendered
    rendered = offer_email(Offer.from_item(offer), Profile.from_item(director()), "https://api.example")

    # Then the director reads what it asks of them, never the clinic's wording
    assert f"Malpractice:     {shown}" in rendered.text
    assert f"<td>{shown}</td>" in rendered.html
    for clinic_words in ("Your clinic's policy", "The director brings", "No preference"):
        assert clinic_words not in rendered.text


def test_offer_email_contains_no_clinic_contact_details() -> None:
    # Given an offer (its summary is all the director sees before accepting)
    offer = offer_item()
    request = request_item()

    # When the offer is rendered
    rendered = offer_email(Offer.from_item(offer), Profile.from_item(director()), "https://api.example")

    # Then neither part names the clinic or its contact
    for secret in (request["clinic"]["name"], request["contact"]["email"], request["contact"]["phone"]):
        assert secret not in rendered.text
        assert secret not in rendered.html


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\r\nBcc: attacker@example.com\r\n"])
def test_render_subject_has_no_line_breaks_even_when_input_had_one(breaker: str) -> None:
    # Given a stored request whose reference carries a line break (as if user text reached the subject)
    item = request_item(reference=f"DM-{breaker}X-Injected: yes")

    # When the receipt is rendered
    rendered = receipt_email(Request.from_item(item), STATUS_URL)

    # Then the subject is one line
    assert "\r" not in rendered.subject
    assert "\n" not in rendered.subject
    assert "X-Injected: yes" in rendered.subject


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("Plain subject", "Plain subject"),
        ("Line one\r\nBcc: x@example.com", "Line one Bcc: x@example.com"),
        ("a\nb\rc", "a b c"),
        ("tab\there\x00nul\x7fdel", "tab here nul del"),
        ("  \r\n padded \n", "padded"),
    ],
)
def test_header_safe_replaces_control_characters_with_spaces(value: str, safe: str) -> None:
    # Given a header value with control characters
    # When it is made safe
    result = header_safe(value)

    # Then no control character is left
    assert result == safe


def test_to_mime_gives_multipart_alternative_with_text_and_html() -> None:
    # Given a rendered receipt
    rendered = receipt_email(Request.from_item(request_item()), STATUS_URL)

    # When it becomes a MIME message and is parsed back
    message = email.message_from_bytes(to_mime(rendered, SENDER).as_bytes(), policy=policy.default)

    # Then it is multipart/alternative with a text and an HTML part, and the headers are set
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "Thank you: we received" in parts["text/plain"]
    assert "<strong>Bluebonnet Aesthetics &amp; Wellness</strong>" in parts["text/html"]
    assert message["To"] == ", ".join(rendered.to)
    assert message["Subject"] == rendered.subject
    assert message["From"] == f"DirectorMatch <{SENDER}>"
    assert message["Message-ID"] == rendered.message_id


def receipt_to_maria(**fields: str) -> Email:
    """A plain receipt to Maria; `fields` replace its own."""
    defaults = {"subject": "Hello", "text": "text", "html": "<p>html</p>"}
    return Email(
        kind="receipt",
        to=("maria@example.com",),
        message_id="<receipt.R1@directormatch>",
        **{**defaults, **fields},
    )


def as_received(rendered: Email) -> EmailMessage:
    """The MIME message SES is given, parsed back as a mail client reads it."""
    return email.message_from_bytes(to_mime(rendered, SENDER).as_bytes(), policy=policy.default)


def test_to_mime_recipient_name_with_line_break_does_not_inject_headers() -> None:
    # Given an email whose display name carries a line break and a header
    rendered = receipt_to_maria(to_name="Maria\r\nBcc: attacker@example.com")

    # When it becomes a MIME message and is parsed back
    message = as_received(rendered)

    # Then there is no Bcc header and the To header is one address
    assert message["Bcc"] is None
    assert message["To"].addresses[0].addr_spec == "maria@example.com"
    assert "\n" not in str(message["To"])


def test_to_mime_lone_surrogates_still_encode() -> None:
    # Given an email whose name, subject and bodies hold lone surrogates (DynamoDB Local stores them)
    rendered = receipt_to_maria(
        to_name="Maria \ud800",
        subject="For \udfff",
        text="Hello Maria \ud800",
        html="<p>Hello Maria \ud800</p>",
    )

    # When it is encoded for SES and parsed back
    message = as_received(rendered)

    # Then it encodes, each lone surrogate a U+FFFD
    assert str(message["Subject"]) == "For \ufffd"
    assert "Maria \ufffd" in str(message["To"])
    assert [part.get_content().strip() for part in message.iter_parts()] == [
        "Hello Maria \ufffd",
        "<p>Hello Maria \ufffd</p>",
    ]
