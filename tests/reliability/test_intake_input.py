"""Case 1: hostile and malformed input to POST /quote-requests, through the intake handler.

Every request below gets a 4xx whose {"errors": [{field, message, type}]} body names the problem, and
writes nothing to the Requests table. HTML and script are accepted as text, and reach the emails
escaped; CR/LF never reaches an email header.
"""

from __future__ import annotations

import base64
import email
import json
from email import policy
from types import ModuleType
from typing import Any

import pytest

from directormatch.aws.attributes import to_attributes
from directormatch.vocabulary import US_STATES
from local.lambdas import LambdaContext
from tests.events import (
    api_event,
    event_with,
    event_with_field,
    quote_body,
    start_by,
    stream_event,
    stream_record,
    with_raw,
)
from tests.integration.conftest import Aws
from tests.reliability.conftest import Tally
from tests.reliability.helpers import sent, table_items

CASE = "1"
DEPTH = 1_000


def field_refused(case: str, path: str, value: Any, words: str) -> tuple[str, dict[str, Any], int, str, str]:
    """A row of BAD: the field at `path` set to `value` is refused (422), naming that field."""
    return case, event_with_field(path, value), 422, path, words


def base64_event(raw: bytes) -> dict[str, Any]:
    event = api_event()
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True
    return event


def body_event(body: Any) -> dict[str, Any]:
    event = api_event()
    event["body"] = body
    return event


VALID = json.dumps(quote_body())
ALL_STATES = sorted(US_STATES)

# (id, event, status, field, words in the message)
BAD: list[tuple[str, dict[str, Any], int, str, str]] = [
    # wrong types
    ("locations-string", event_with(locations="two"), 422, "locations", "integer"),
    ("locations-float", event_with(locations=1.5), 422, "locations", "integer"),
    ("locations-bool", event_with(locations=True), 422, "locations", "integer"),
    field_refused("np-string", "supervisees.np", "3", "integer"),
    ("bool-as-string", event_with(controlled_substances="false"), 422, "controlled_substances", "boolean"),
    ("consent-as-string", event_with(consent="true"), 422, "consent", "boolean"),
    ("consent-as-number", event_with(consent=1), 422, "consent", "boolean"),
    ("states-string", event_with(states="TX"), 422, "states", "list"),
    ("modalities-object", event_with(modalities={"a": 1}), 422, "modalities", "list"),
    ("clinic-array", event_with(clinic=["Bluebonnet"]), 422, "clinic", "dictionary"),
    ("contact-string", event_with(contact="Maria"), 422, "contact", "dictionary"),
    ("supervisees-array", event_with(supervisees=[1, 2]), 422, "supervisees", "dictionary"),
    field_refused("name-number", "clinic.name", 123, "string"),
    ("start-by-number", event_with(start_by=20270101), 422, "start_by", "date"),
    ("notes-number", event_with(notes=12), 422, "notes", "string"),
    # missing and unknown fields, nested too
    field_refused("missing-clinic", "clinic", ..., "required"),
    field_refused("missing-email", "contact.email", ..., "required"),
    field_refused("missing-pa", "supervisees.pa", ..., "required"),
    field_refused("missing-consent", "consent", ..., "required"),
    ("unknown-top", event_with(is_admin=True), 422, "is_admin", "not a field"),
    field_refused("unknown-nested", "clinic.tax_id", "12-345", "not a field"),
    field_refused("unknown-deeper", "supervisees.md", 1, "not a field"),
    # huge strings
    field_refused("name-201", "clinic.name", "x" * 201, "at most 200"),
    ("notes-2001", event_with(notes="x" * 2001), 422, "notes", "at most 2000"),
    field_refused("email-10k", "contact.email", "a" * 10_000 + "@x.example", "email"),
    ("body-100kb", event_with(notes="x" * 100_000), 413, "body", "limit is 32768"),
    # deep nesting
    (
        "notes-1000-lists",
        api_event(body=with_raw("notes", "[" * DEPTH + "]" * DEPTH)),
        422,
        "notes",
        "string",
    ),
    (
        "unknown-1000-objects",
        api_event(body=with_raw("extra", '{"a":' * DEPTH + "1" + "}" * DEPTH)),
        422,
        "extra",
        "not a field",
    ),
    (
        "notes-10000-lists",
        api_event(body=with_raw("notes", "[" * 10_000 + "]" * 10_000)),
        400,
        "body",
        "nested",
    ),
    # invalid UTF-8 and encodings
    (
        "invalid-utf8",
        base64_event(VALID.replace("Bluebonnet", "Blue\udcffbonnet").encode("utf-8", "surrogateescape")),
        400,
        "body",
        "UTF-8",
    ),
    (
        "latin1-body",
        base64_event(VALID.replace("Bluebonnet", "Bluebönnet").encode("latin-1")),
        400,
        "body",
        "UTF-8",
    ),
    ("bad-base64", body_event("%%%not base64%%%") | {"isBase64Encoded": True}, 400, "body", "base64"),
    ("utf8-bom", base64_event(b"\xef\xbb\xbf" + VALID.encode()), 400, "body", "BOM"),
    ("utf16-body", base64_event(VALID.encode("utf-16")), 400, "body", "UTF-8"),
    # NUL bytes
    field_refused("nul-clinic-name", "clinic.name", "Blue\x00bonnet", "control"),
    field_refused("nul-contact-name", "contact.name", "Maria\x00", "control"),
    ("nul-notes", event_with(notes="fine\x00then"), 422, "notes", "control characters"),
    # What no clinic types: Unicode line breaks, lone surrogates, bidi controls, invisible characters
    field_refused("line-separator-clinic-name", "clinic.name", "A\u2028B", "line or paragraph separators"),
    field_refused(
        "paragraph-separator-contact-name",
        "contact.name",
        "Maria\u2029Delgado",
        "line or paragraph separators",
    ),
    field_refused("next-line-clinic-name", "clinic.name", "Blue\x85bonnet", "control characters"),
    field_refused("lone-surrogate-contact-name", "contact.name", "Maria \ud800 D", "lone UTF-16 surrogate"),
    field_refused("lone-surrogate-clinic-name", "clinic.name", "Blue\udfffbonnet", "lone UTF-16 surrogate"),
    (
        "lone-surrogate-as-text-in-body",
        body_event(VALID.replace("Bluebonnet", "Blue\ud800bonnet")),
        422,
        "clinic.name",
        "lone UTF-16 surrogate",
    ),
    ("lone-surrogate-notes", event_with(notes="fine \ud83d then"), 422, "notes", "lone UTF-16 surrogate"),
    field_refused("lone-surrogate-email", "contact.email", "maria\ud800@x.example", "lone UTF-16 surrogate"),
    ("lone-surrogate-state", event_with(states=["T\ud800"]), 422, "states.0", "lone UTF-16 surrogate"),
    (
        "lone-surrogate-unknown-key",
        event_with_field("clinic.na\ud800me", "x"),
        422,
        "clinic.na\ufffdme",
        "not a field",
    ),
    field_refused("bidi-override-clinic-name", "clinic.name", "Blue\u202egnp.exe", "text-direction"),
    field_refused(
        "bidi-isolate-website", "clinic.website", "https://blue\u2066bonnet.example", "text-direction"
    ),
    field_refused("zero-width-space-contact-name", "contact.name", "Maria\u200bDelgado", "zero-width"),
    field_refused("zero-width-joiner-between-letters", "clinic.name", "Blue\u200dbonnet", "zero-width"),
    field_refused("byte-order-mark-phone", "contact.phone", "\ufeff(512) 555-0147", "zero-width"),
    field_refused("non-ascii-email-local-part", "contact.email", "zo\u00eb@bluebonnet.example", "ASCII"),
    # CR/LF in names and emails
    field_refused("crlf-contact-name", "contact.name", "Maria\r\nBcc: x@example.com", "line breaks"),
    field_refused("lf-clinic-name", "clinic.name", "Blue\nbonnet", "line breaks"),
    field_refused("crlf-email", "contact.email", "m@x.example\r\nBcc: y@z.example", ""),
    field_refused("lf-email-end", "contact.email", "m@x.example\n", ""),
    # numbers out of range
    ("locations-0", event_with(locations=0), 422, "locations", "greater than or equal to 1"),
    ("locations-501", event_with(locations=501), 422, "locations", "less than or equal to 500"),
    field_refused("np-negative", "supervisees.np", -1, "greater than or equal to 0"),
    field_refused("pa-501", "supervisees.pa", 501, "less than or equal to 500"),
    ("locations-10e30", event_with(locations=10**30), 422, "locations", "less than or equal to 500"),
    # numbers of any length, and what json.loads reads but JSON does not have
    (
        "locations-4301-digits",
        body_event(with_raw("locations", "1" * 4_301)),
        422,
        "locations",
        "less than or equal to 500",
    ),
    (
        "np-minus-20000-digits",
        body_event(with_raw("supervisees.np", "-" + "9" * 20_000)),
        422,
        "supervisees.np",
        "greater than or equal to 0",
    ),
    (
        "pa-1e400",
        body_event(with_raw("supervisees.pa", "1e400")),
        422,
        "supervisees.pa",
        "less than or equal to 500",
    ),
    (
        "locations-minus-1e400",
        body_event(with_raw("locations", "-1e400")),
        422,
        "locations",
        "greater than or equal to 1",
    ),
    ("notes-4301-digits", body_event(with_raw("notes", "1" * 4_301)), 422, "notes", "string"),
    ("unknown-4301-digits", body_event(with_raw("extra", "1" * 4_301)), 422, "extra", "not a field"),
    ("states-4301-digits", body_event(with_raw("states", f"[{'1' * 4_301}]")), 422, "states.0", "string"),
    ("start-by-4301-digits", body_event(with_raw("start_by", "1" * 4_301)), 422, "start_by", "date"),
    ("body-4301-digits", body_event("1" * 4_301), 422, "body", "valid dictionary"),
    ("locations-fraction", body_event(with_raw("locations", "270.5")), 422, "locations", "integer"),
    ("locations-nan", body_event(with_raw("locations", "NaN")), 400, "body", "NaN is not a JSON number"),
    (
        "np-infinity",
        body_event(with_raw("supervisees.np", "Infinity")),
        400,
        "body",
        "Infinity is not a JSON number",
    ),
    # repeated keys: json.loads keeps the last one, silently
    ("consent-twice", body_event(VALID[:-1] + ', "consent": true}'), 400, "consent", "more than once"),
    (
        "clinic-name-twice",
        body_event(VALID.replace('"name": "Bluebonnet', '"name": "X", "name": "Bluebonnet')),
        400,
        "clinic.name",
        "more than once",
    ),
    # dates
    ("date-past", event_with(start_by="2020-01-01"), 422, "start_by", "today or later"),
    ("date-too-far", event_with(start_by=start_by(800)), 422, "start_by", "within 365 days"),
    ("date-impossible", event_with(start_by="2027-02-30"), 422, "start_by", "date"),
    ("date-words", event_with(start_by="tomorrow"), 422, "start_by", "date"),
    # states and services
    ("52-states", event_with(states=[*ALL_STATES, "TX"]), 422, "states", "at most 51"),
    ("duplicated-states", event_with(states=["TX", "OK", "TX"]), 422, "states", "more than once: TX"),
    ("duplicated-states-case", event_with(states=["TX", "tx"]), 422, "states", "more than once: TX"),
    ("no-states", event_with(states=[]), 422, "states", "at least 1"),
    ("unknown-state", event_with(states=["PR"]), 422, "states.0", "USPS"),
    (
        "duplicated-modalities",
        event_with(modalities=["ketamine", "ketamine"]),
        422,
        "modalities",
        "more than once",
    ),
    ("unknown-modality", event_with(modalities=["botox"]), 422, "modalities.0", "Input should be"),
    ("malpractice-other", event_with(malpractice="maybe"), 422, "malpractice", "Input should be"),
    field_refused("website-javascript", "clinic.website", "javascript:alert(1)", "URL"),
    field_refused("phone-uk", "contact.phone", "+44 20 7946 0958", "US phone"),
    # whole bodies
    ("empty-body", body_event(""), 422, "body", "required"),
    ("no-body", body_event(None), 422, "body", "required"),
    ("json-null", body_event("null"), 422, "body", "valid dictionary"),
    ("json-array", body_event(json.dumps([quote_body()])), 422, "body", "valid dictionary"),
    ("json-string", body_event('"a quote please"'), 422, "body", "valid dictionary"),
    ("whitespace-body", body_event("  \n "), 400, "body", "not valid JSON"),
    ("truncated-json", body_event(VALID[:-5]), 400, "body", "not valid JSON"),
    ("trailing-garbage", body_event(VALID + "}"), 400, "body", "not valid JSON"),
    # content types and headers
    (
        "text-plain",
        api_event(headers={"Content-Type": "text/plain"}),
        415,
        "content-type",
        "application/json",
    ),
    (
        "xml",
        api_event(body="<quote/>", headers={"Content-Type": "application/xml"}),
        415,
        "content-type",
        "application/json",
    ),
    (
        "multipart",
        api_event(headers={"Content-Type": "multipart/form-data; boundary=x"}),
        415,
        "content-type",
        "application/json",
    ),
    (
        "long-idempotency-key",
        api_event(headers={"Idempotency-Key": "k" * 201}),
        422,
        "Idempotency-Key",
        "at most 200",
    ),
]


def count_items(aws: Aws) -> int:
    return len(table_items(aws.requests_table))


@pytest.mark.parametrize(("event", "status", "field", "words"), [pytest.param(*b[1:], id=b[0]) for b in BAD])
def test_intake_bad_input_gets_4xx_naming_the_problem_and_writes_nothing(
    aws: Aws,
    intake_app: ModuleType,
    lambda_context: LambdaContext,
    tally: Tally,
    event: dict[str, Any],
    status: int,
    field: str,
    words: str,
) -> None:
    # Given the Requests table as it is
    before = count_items(aws)

    # When the malformed request arrives
    response = intake_app.lambda_handler(json.loads(json.dumps(event)), lambda_context)

    # Then it is answered 4xx, with a body naming the field and the problem
    body = json.loads(response["body"])
    errors = body.get("errors", [])
    written = count_items(aws) - before
    named = any(e.get("field") == field and words.lower() in e.get("message", "").lower() for e in errors)
    tally.tried(ok=response["statusCode"] == status and named and written == 0, duplicated=written)
    assert response["statusCode"] == status, response["body"][:500]
    assert set(body) == {"errors"}
    assert all(
        {"field", "message", "type"} <= set(e) <= {"field", "message", "type", "limit"} for e in errors
    )
    assert all(e["message"] for e in errors)
    assert named, errors
    # And nothing was written
    assert written == 0


def test_bad_input_battery_has_at_least_forty_requests() -> None:
    assert len(BAD) >= 40
    assert len({b[0] for b in BAD}) == len(BAD)


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_intake_html_in_text_fields_is_accepted_and_reaches_emails_escaped(
    aws: Aws,
    intake_app: ModuleType,
    notify_app: ModuleType,
    lambda_context: LambdaContext,
    tally: Tally,
) -> None:
    # Given a request whose clinic name, contact name and notes carry HTML and script
    aws.use_function("IntakeFunction")
    body = quote_body(notes=f"Notes {MARKUP} & more")
    body["clinic"]["name"] = f"Blue {MARKUP}"[:200]
    body["contact"]["name"] = 'Maria "<b>Bcc: evil@example.com</b>" Delgado'
    response = intake_app.lambda_handler(api_event(body=body), lambda_context)

    # Then it is accepted as text and stored as sent
    assert response["statusCode"] == 201, response["body"]
    request_id = json.loads(response["body"])["request_id"]
    stored = aws.request_store().get_request(request_id)
    assert stored is not None
    assert stored["notes"] == body["notes"]

    # When notify handles the stored REQUEST item (the receipt)
    aws.use_function("NotifyFunction")
    result = notify_app.lambda_handler(stream_event(stream_record(stored)), lambda_context)
    assert result == {"batchItemFailures": []}

    # Then the receipt's HTML part carries the markup escaped, the text part as plain text
    [receipt] = [m for m in sent(aws) if m.kind == "receipt"]
    message = email.message_from_bytes(receipt.raw, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    escaped = "&lt;script&gt;" in html and "<script" not in html.lower() and "<img" not in html.lower()
    plain = "<script>" in text and "&lt;" not in text and "&#34;" not in text
    # And no header carries a line break or the injected Bcc
    raw_headers = receipt.raw.split(b"\r\n\r\n", 1)[0].decode()
    unfolded = [str(value) for _, value in message.items()]
    clean = all("\r" not in v and "\n" not in v for v in unfolded) and "\nBcc:" not in raw_headers
    tally.tried(ok=escaped and plain and clean)
    assert "&lt;script&gt;" in html
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "<script>" in text
    assert "&lt;" not in text
    assert clean, raw_headers


def test_intake_crlf_in_name_never_reaches_an_email_header(
    aws: Aws, notify_app: ModuleType, lambda_context: LambdaContext, tally: Tally
) -> None:
    # Given a stored request whose names carry CR/LF (written around the API, e.g. by a bad import)
    body = quote_body()
    item = {
        "pk": "01JCRLF0000000000000000000",
        "sk": "REQUEST",
        "request_id": "01JCRLF0000000000000000000",
        "request_status": "NEW",
        "created_at": "2026-11-25T12:00:00.000+00:00",
        **body,
    }
    item["contact"] = {**body["contact"], "name": "Maria\r\nBcc: evil@example.com\r\n"}
    item["clinic"] = {**body["clinic"], "name": "Blue\r\nX-Injected: yes"}
    aws.request_store().client.put_item(
        TableName=aws.requests_table,
        Item=to_attributes(item),
    )

    # When notify sends its receipt
    aws.use_function("NotifyFunction")
    result = notify_app.lambda_handler(stream_event(stream_record(item)), lambda_context)
    assert result == {"batchItemFailures": []}

    # Then no header holds a line break, and no header was injected
    [receipt] = [m for m in sent(aws) if m.kind == "receipt"]
    message = email.message_from_bytes(receipt.raw, policy=policy.default)
    names = {name.lower() for name in message}
    values = [str(value) for _, value in message.items()]
    clean = (
        "bcc" not in names
        and "x-injected" not in names
        and all("\n" not in v and "\r" not in v for v in values)
    )
    tally.tried(ok=clean)
    assert "bcc" not in names
    assert "x-injected" not in names
    assert all("\n" not in v and "\r" not in v for v in values)


def test_intake_form_post_with_invalid_utf8_gets_400_page_and_writes_nothing(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext, tally: Tally
) -> None:
    # Given the quote form posted without JavaScript, its bytes not UTF-8 (a latin-1 browser)
    from tests.integration.test_intake_form import form_event, form_fields

    event = form_event(form_fields(clinic_name="Bluebönnet"))
    event["body"] = base64.b64encode(event["body"].replace("%C3%B6", "ö").encode("latin-1")).decode()
    event["isBase64Encoded"] = True

    # When it is posted
    response = intake_app.lambda_handler(event, lambda_context)

    # Then it is answered with the 400 page, and nothing is written
    written = count_items(aws)
    tally.tried(ok=response["statusCode"] == 400 and written == 0, duplicated=written)
    assert response["statusCode"] == 400, response["body"][:300]
    assert "could not read" in response["body"]
    assert written == 0
