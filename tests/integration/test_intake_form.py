"""POST /quote-requests as a browser posts the quote form without JavaScript: form fields in, pages out."""

from __future__ import annotations

import html
import re
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from directormatch.references import parse_reference
from local.lambdas import LambdaContext
from tests.events import api_event, start_by
from tests.integration.conftest import Aws
from tests.integration.test_intake import header
from tests.integration.test_status_page import follow

FORM = "application/x-www-form-urlencoded"
REFERER = "https://www.directormatch.example/quote"


def form_fields(**changes: str | list[str] | None) -> list[tuple[str, str]]:
    """What the quote form posts for a TX med spa; a change of None leaves the field out."""
    fields: dict[str, str | list[str] | None] = {
        "clinic_name": "Bluebonnet Aesthetics & Wellness",
        "clinic_website": "bluebonnet-aesthetics.example",
        "contact_name": "Maria Delgado, NP",
        "contact_email": "maria.delgado@bluebonnet-aesthetics.example",
        "contact_phone": "(512) 555-0147",
        "states": ["TX", "OK"],
        "modalities": ["aesthetics", "weight_loss"],
        "supervisees_np": "2",
        "supervisees_pa": "0",
        "locations": "1",
        "start_by": start_by(),
        "controlled_substances": "no",
        "malpractice": "director_policy",
        "notes": "Botox & fillers <b>only</b>",
        "consent": "yes",
        "company_fax": "",
    }
    fields.update(changes)
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None:
            continue
        pairs.extend((name, v) for v in ([value] if isinstance(value, str) else value))
    return pairs


def form_event(pairs: list[tuple[str, str]], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return api_event(
        body=urlencode(pairs),
        headers={"Content-Type": FORM, "Referer": REFERER, **(headers or {})},
        without_headers=("Idempotency-Key",),
    )


def post_form(
    app: ModuleType, context: LambdaContext, event: dict[str, Any]
) -> tuple[int, dict[str, Any], str]:
    response = app.lambda_handler(event, context)
    return response["statusCode"], response, str(response["body"])


def test_form_post_is_stored_and_answered_with_a_success_page(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given the quote form posted without JavaScript
    event = form_event(form_fields())

    # When the handler runs
    status, response, page = post_form(intake_app, lambda_context, event)

    # Then it answers 201 with an HTML page giving the stored request's reference code, what happens
    # next and a link to follow it: its status page, where Location points too (and which opens)
    assert status == 201
    assert header(response, "Content-Type") == "text/html"
    [item] = aws.items_with_sk("REQUEST")
    assert parse_reference(item["reference"]) == item["reference"]
    assert f'<strong id="reference">{item["reference"]}</strong>' in page
    assert "Within 24 hours" in page
    assert "No placement fee" in page
    status_url = header(response, "Location")
    assert status_url is not None
    assert f'href="{html.escape(status_url)}">Follow your request</a>' in page
    assert follow(intake_app, lambda_context, status_url)["statusCode"] == 200
    # And the flat fields became the contract: repeated fields as lists, counts as numbers, yes/no as bools
    assert item["states"] == ["TX", "OK"]
    assert item["modalities"] == ["aesthetics", "weight_loss"]
    assert item["supervisees"] == {"np": 2, "pa": 0}
    assert item["locations"] == 1
    assert item["controlled_substances"] is False
    assert item["malpractice"] == "director_policy"
    assert item["consent"] is True
    assert item["clinic"]["website"] == "https://bluebonnet-aesthetics.example/"
    assert item["contact"]["phone"] == "+15125550147"
    assert item["notes"] == "Botox & fillers <b>only</b>"
    # And a form post is a navigation: no CORS header
    assert header(response, "Access-Control-Allow-Origin") is None


def test_form_post_without_optional_fields_takes_the_contract_defaults(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a form with the website, notes and malpractice left blank
    event = form_event(form_fields(clinic_website="", notes="", malpractice=None))

    # When it is posted
    status, _, _ = post_form(intake_app, lambda_context, event)

    # Then the request is stored without them, with no malpractice preference
    assert status == 201
    [item] = aws.items_with_sk("REQUEST")
    assert "website" not in item["clinic"]
    assert "notes" not in item
    assert item["malpractice"] == "no_preference"


def test_form_post_with_filled_honeypot_gets_success_page_and_nothing_is_stored(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a bot that fills every field, the hidden company_fax too
    event = form_event(form_fields(company_fax="+1 512 555 0199"))

    # When it posts
    status, response, page = post_form(intake_app, lambda_context, event)

    # Then it sees the same success page, and nothing is stored
    assert status == 201
    assert header(response, "Content-Type") == "text/html"
    assert parse_reference(re.findall(r'<strong id="reference">(.*?)</strong>', page)[0])
    assert "Follow your request" not in page
    assert aws.items() == []


def test_form_post_with_invalid_fields_lists_each_with_its_label_and_stores_nothing(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a form with a bad email, no state, a typed count, and no consent
    pairs = form_fields(contact_email="maria-at-clinic", states=[], supervisees_np="two", consent=None)
    event = form_event(pairs)

    # When it is posted
    status, response, page = post_form(intake_app, lambda_context, event)

    # Then the answer is a 422 page naming each field by its label on the form, in words
    assert status == 422
    assert header(response, "Content-Type") == "text/html"
    assert "<strong>Work email</strong> must be an email address" in page
    assert "<strong>States:</strong> Choose at least one state." in page
    assert "<strong>Nurse practitioners</strong> must be a whole number" in page
    assert "Please confirm that we may share your request" in page
    assert page.count("<li data-field=") == 4
    # And it links back to the form that posted, and nothing was stored
    assert f'href="{REFERER}"' in page
    assert aws.items() == []


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("clinic_name", "A\u2028B", "<strong>Clinic name</strong> holds a hidden line break"),
        ("contact_name", "Maria\u2029Delgado", "<strong>Your name</strong> holds a hidden line break"),
        (
            "clinic_name",
            "Blue\u202egnp.exe",
            "<strong>Clinic name</strong> holds hidden text-direction marks",
        ),
        (
            "contact_name",
            "Maria\u200bDelgado",
            "<strong>Your name</strong> holds hidden zero-width characters",
        ),
        ("clinic_name", "Blue\x85bonnet", "<strong>Clinic name</strong> must not contain line breaks or"),
        ("notes", "fine\x00then", "<strong>Notes</strong> must not contain control characters"),
        ("contact_email", "zo\u00eb@bluebonnet.example", "<strong>Work email</strong> must have only ASCII"),
    ],
    ids=["line-separator", "paragraph-separator", "bidi", "zero-width", "next-line", "nul-notes", "email"],
)
def test_form_post_with_characters_no_one_types_gets_a_422_page_naming_the_field_and_stores_nothing(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext, name: str, value: str, problem: str
) -> None:
    # Given the form with one field holding what a paste from another program can bring
    event = form_event(form_fields(**{name: value}))

    # When it is posted
    status, response, page = post_form(intake_app, lambda_context, event)

    # Then the answer is a 422 page naming that field in words, and nothing is stored
    assert status == 422
    assert header(response, "Content-Type") == "text/html"
    assert problem in page
    assert page.count("<li data-field=") == 1
    assert aws.items() == []


def test_form_post_with_a_lone_surrogate_gets_a_422_page_and_stores_nothing(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a form body holding a lone surrogate as text (a browser's bytes cannot: percent-encoded
    # surrogate bytes decode to U+FFFD)
    event = form_event(form_fields(contact_name="Maria __SURROGATE__ D"))
    event["body"] = event["body"].replace("__SURROGATE__", "\ud800")

    # When it is posted
    status, _, page = post_form(intake_app, lambda_context, event)

    # Then the page names the field, and nothing is stored
    assert status == 422
    assert "<strong>Your name</strong> holds a damaged character" in page
    assert aws.items() == []


def test_form_error_page_escapes_what_was_typed(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a form whose state is markup, posted from a page with a script URL as Referer
    pairs = form_fields(states=["<script>alert(1)</script>"])
    event = form_event(pairs, headers={"Referer": "javascript:alert(1)"})

    # When it is posted
    status, _, page = post_form(intake_app, lambda_context, event)

    # Then the error page carries no markup from the input and no script link
    assert status == 422
    assert "<script>" not in page
    assert "javascript:" not in page


def test_form_post_too_large_gets_a_413_page(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a form whose notes are 100 KB
    event = form_event(form_fields(notes="x" * 100_000))

    # When it is posted
    status, response, page = post_form(intake_app, lambda_context, event)

    # Then it is refused with a page saying what to do, and nothing is stored
    assert status == 413
    assert header(response, "Content-Type") == "text/html"
    assert "Shorten the notes" in page
    assert aws.items() == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_post_still_answers_json(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext, content_type: str
) -> None:
    # Given the JSON sample event
    event = api_event(headers={"Content-Type": content_type})

    # When it is handled beside the form path
    response = intake_app.lambda_handler(event, lambda_context)

    # Then it is the JSON answer, as before
    assert response["statusCode"] == 201
    assert header(response, "Content-Type") == "application/json"


def test_the_same_form_posted_twice_stores_one_request_and_shows_its_reference_again(
    aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given the quote form posted without JavaScript (no Idempotency-Key), then posted again as a
    # double click or a browser resubmission does
    first = post_form(intake_app, lambda_context, form_event(form_fields()))
    again = post_form(intake_app, lambda_context, form_event(form_fields()))

    # Then both answer 201 with the same request, and one REQUEST item is stored
    [item] = aws.items_with_sk("REQUEST")
    assert (first[0], again[0]) == (201, 201)
    location = header(first[1], "Location")
    assert location == header(again[1], "Location")
    assert location is not None
    assert location.split("?")[0].endswith(f"/quote-requests/{item['request_id']}")
    assert f'<strong id="reference">{item["reference"]}</strong>' in again[2]

    # When one answer is changed, it is another request
    changed = post_form(intake_app, lambda_context, form_event(form_fields(supervisees_np="3")))
    assert changed[0] == 201
    assert len(aws.items_with_sk("REQUEST")) == 2
