"""The quote form without JavaScript: flat fields onto the contract, errors in the form's words."""

from __future__ import annotations

import pytest

from directormatch.intake.contract import FieldError
from directormatch.intake.form import (
    LABELS,
    PREDICATES,
    WORDINGS,
    Problem,
    back_link,
    contract_fields,
    describe,
    in_form_order,
    invalid_page,
    is_form_post,
    parse,
)
from directormatch.text import MESSAGES as TEXT_RULE_MESSAGES


def test_contract_fields_blank_answers_are_left_out_and_counts_become_numbers() -> None:
    # Given a form with blanks, a count typed as words, and repeated states
    form = {
        "clinic_name": ["  Bluebonnet  "],
        "clinic_website": [""],
        "contact_email": ["a@b.example"],
        "states": ["TX", " ", "OK"],
        "supervisees_np": ["3"],
        "supervisees_pa": ["two"],
        "controlled_substances": ["yes"],
        "notes": [""],
    }

    # When it is mapped onto the contract
    fields = contract_fields(form)

    # Then blanks are absent (so the contract reports "is required" or takes its default)
    assert fields == {
        "clinic": {"name": "Bluebonnet"},
        "contact": {"email": "a@b.example"},
        "states": ["TX", "OK"],
        "modalities": [],
        "supervisees": {"np": 3, "pa": "two"},
        "controlled_substances": True,
        "consent": False,
    }


def test_parse_honeypot_filled_is_flagged() -> None:
    # Given a form body with the hidden company_fax filled
    # When it is parsed
    post = parse("clinic_name=Bot+Clinic&company_fax=555")

    # Then it is flagged as a bot
    assert post.honeypot is True
    assert parse("clinic_name=Clinic&company_fax=").honeypot is False


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            FieldError(
                field="states.3", message="'XX' is not a USPS code of a US state or DC", type="us_state"
            ),
            "States: 'XX' is not a USPS code",
        ),
        (
            FieldError(field="states", message="List should have at least 1 item", type="too_short"),
            "Choose at least one state.",
        ),
        (FieldError(field="modalities", message="List should have", type="too_short"), "Choose at least one"),
        (
            FieldError(
                field="contact.email", message="value is not a valid email address", type="value_error"
            ),
            "Work email must",
        ),
        (
            FieldError(field="contact.email", message="Field required", type="missing"),
            "Work email is required.",
        ),
        (
            FieldError(
                field="contact.phone", message="must be a US phone number with area code", type="us_phone"
            ),
            "Phone must be",
        ),
        (FieldError(field="clinic.name", message="is required", type="missing"), "Clinic name is required."),
        (
            FieldError(field="supervisees.pa", message="Input should be", type="less_than_equal", limit=500),
            "Physician assistants must be 500 or fewer.",
        ),
        (
            FieldError(field="locations", message="Input should be", type="greater_than_equal", limit=1),
            "Locations must be at least 1.",
        ),
        (
            FieldError(field="consent", message="must be true", type="consent_required"),
            "Please confirm that we may share",
        ),
        (
            FieldError(field="notes", message="String should have", type="string_too_long", limit=2000),
            "Notes must be 2000 characters or fewer.",
        ),
        (
            FieldError(field="clinic.website", message="Input should be", type="url_scheme"),
            "Website must be a web address",
        ),
    ],
)
def test_describe_words_errors_by_type_with_the_form_labels(error: FieldError, text: str) -> None:
    # Given a field error as the API reports it (its English message is not read)
    # When it is described for a person
    problem = describe(error)

    # Then it reads as a sentence led by the form's label
    assert problem.text.startswith(text)


@pytest.mark.parametrize("reason", sorted(TEXT_RULE_MESSAGES))
def test_describe_words_every_text_rule_refusal_for_people(reason: str) -> None:
    # Given the API's error for a name the text rule refused for this reason
    error = FieldError(field="contact.name", message=TEXT_RULE_MESSAGES[reason], type=reason)

    # When the no-JavaScript page words it
    problem = describe(error)

    # Then it leads with the form's label and says it in the page's words (never pydantic's)
    assert problem.text.startswith("Your name ")
    assert reason in WORDINGS or reason in PREDICATES
    assert problem.text.endswith(".")


def test_in_form_order_sorts_problems_as_the_form_shows_its_fields() -> None:
    # Given problems in the contract's order (controlled substances before the start date), a whole
    # group reported missing, and a problem with no field of the form
    problems = [
        describe(FieldError(field="consent", message="must be true")),
        describe(FieldError(field="body", message="is not JSON")),
        describe(FieldError(field="controlled_substances", message="is required")),
        describe(FieldError(field="start_by", message="is required")),
        describe(FieldError(field="supervisees", message="is required")),
        describe(FieldError(field="states.0", message="'XX' is not a USPS code")),
        describe(FieldError(field="clinic.name", message="is required")),
    ]

    # When they are put in the form's order
    ordered = [problem.field for problem in in_form_order(problems)]

    # Then they run top to bottom; a group where its first field is; the stray one last
    assert ordered == [
        "clinic.name",
        "states",
        "supervisees",
        "start_by",
        "controlled_substances",
        "consent",
        "body",
    ]


def test_in_form_order_keeps_the_order_of_problems_of_one_field() -> None:
    # Given two problems with the same field
    first, second = Problem("states", "States", "first"), Problem("states", "States", "second")

    # Then sorting keeps them as given
    assert in_form_order([second, first, Problem("clinic.name", "Clinic name", "x")])[1:] == [second, first]


def test_invalid_page_lists_start_date_before_controlled_substances() -> None:
    # Given the API's errors for a form without start date and controlled substances answer
    errors = [
        FieldError(field="controlled_substances", message="is required"),
        FieldError(field="start_by", message="is required"),
    ]

    # When the no-JavaScript error page is made
    page = invalid_page(errors, referer=None)

    # Then it names them in the form's order
    assert page.index('data-field="start_by"') < page.index('data-field="controlled_substances"')
    assert list(LABELS).index("start_by") < list(LABELS).index("controlled_substances")


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        ("https://www.example.com/quote", "https://www.example.com/quote"),
        ("javascript:alert(1)", None),
        ("", None),
        (None, None),
    ],
)
def test_back_link_only_to_web_pages(referer: str | None, expected: str | None) -> None:
    assert back_link(referer) == expected


@pytest.mark.parametrize(
    ("method", "content_type", "expected"),
    [
        ("POST", "application/x-www-form-urlencoded", True),
        ("POST", "application/x-www-form-urlencoded; charset=UTF-8", True),
        ("POST", "application/json", False),
        ("GET", "application/x-www-form-urlencoded", False),
    ],
)
def test_is_form_post(method: str, content_type: str, expected: bool) -> None:
    event = {"httpMethod": method, "headers": {"content-type": content_type}}
    assert is_form_post(event) is expected


@pytest.mark.parametrize(("typed", "read"), [("1500", 1500), ("$1,500", 1500), ("", None), ("lots", "lots")])
def test_contract_fields_budget_is_read_as_dollars_and_blank_left_out(typed: str, read: object) -> None:
    # Given the budget field as a person types it
    fields = contract_fields({"budget_monthly": [typed]})

    # Then a number (with $ or thousands commas) is read, a blank is absent, words stay for validation
    assert fields.get("budget_monthly") == read
