"""The API contract's pydantic models: what QuoteRequest accepts, normalises and refuses (contract v1)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from directormatch.intake.contract import QuoteRequest
from directormatch.vocabulary import Modality
from tests.events import quote_body, with_field

# A fixed "now" for the date rules, so no case depends on the hour the suite runs.
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def validate(body: dict[str, Any]) -> QuoteRequest:
    return QuoteRequest.model_validate(body, context={"now": NOW})


def errors_of(body: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, str]]:
    """(loc, type, msg) of every error, without the input (as the API reports them)."""
    with pytest.raises(ValidationError) as caught:
        validate(body)
    return [(tuple(e["loc"]), e["type"], e["msg"]) for e in caught.value.errors(include_input=False)]


def body_starting(days: int) -> dict[str, Any]:
    return quote_body(start_by=(NOW.date() + timedelta(days=days)).isoformat())


def test_quote_request_sample_body_is_valid() -> None:
    # Given the sample body of events/quote_request.json
    body = body_starting(30)

    # When it is validated
    quote = validate(body)

    # Then every field is kept, typed
    assert quote.states == ["TX"]
    assert quote.modalities == [Modality.AESTHETICS, Modality.WEIGHT_LOSS]
    assert quote.contact.phone == "+15125550147"
    assert quote.supervisees.np == 2
    assert quote.consent is True


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        ("locations", "two", ("locations",)),
        ("locations", 1.5, ("locations",)),
        ("states", "TX", ("states",)),
        ("controlled_substances", "yes", ("controlled_substances",)),
        ("consent", "true", ("consent",)),
        ("start_by", "next spring", ("start_by",)),
        ("clinic", "Bluebonnet", ("clinic",)),
        ("contact.email", "not-an-email", ("contact", "email")),
    ],
)
def test_quote_request_wrong_type_is_rejected_naming_the_field(
    path: str, value: Any, loc: tuple[str, ...]
) -> None:
    # Given a body with one field of the wrong type
    body = with_field(path, value, body_starting(30))

    # When it is validated
    errors = errors_of(body)

    # Then exactly that field is named
    assert [e[0] for e in errors] == [loc]


def test_quote_request_unknown_state_is_rejected_at_its_index() -> None:
    # Given a body listing "XX" after a real state
    body = body_starting(30)
    body["states"] = ["TX", "XX"]

    # When it is validated
    errors = errors_of(body)

    # Then the error names states.1 and says why
    assert len(errors) == 1
    loc, _, message = errors[0]
    assert loc == ("states", 1)
    assert "'XX' is not a USPS code" in message


@pytest.mark.parametrize(
    ("given", "stored"), [(["tx"], ["TX"]), ([" ok ", "Tx"], ["OK", "TX"]), (["dc"], ["DC"])]
)
def test_quote_request_lower_case_states_are_upper_cased(given: list[str], stored: list[str]) -> None:
    # Given states in lower or mixed case
    body = quote_body(states=given)
    body["start_by"] = (NOW.date() + timedelta(days=30)).isoformat()

    # When it is validated
    quote = validate(body)

    # Then they are stored as USPS codes
    assert quote.states == stored


@pytest.mark.parametrize(
    ("field", "values", "repeated"),
    [
        ("states", ["TX", "OK", "TX"], "TX"),
        ("states", ["tx", "TX"], "TX"),
        ("modalities", ["aesthetics", "aesthetics"], "aesthetics"),
    ],
)
def test_quote_request_duplicated_entries_are_rejected(field: str, values: list[str], repeated: str) -> None:
    # Given a list naming one entry twice (case-insensitively for states)
    body = with_field(field, values, body_starting(30))

    # When it is validated
    errors = errors_of(body)

    # Then the list is refused and the repeated entry named
    assert len(errors) == 1
    loc, _, message = errors[0]
    assert loc == (field,)
    assert "listed more than once" in message
    assert repeated in message


def test_quote_request_consent_false_is_rejected() -> None:
    # Given a body without consent
    body = quote_body(consent=False, start_by=(NOW.date() + timedelta(days=30)).isoformat())

    # When it is validated
    errors = errors_of(body)

    # Then consent is named and the message says it must be true
    assert [(loc, type_, message.startswith("must be true")) for loc, type_, message in errors] == [
        (("consent",), "consent_required", True)
    ]


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("favourite_colour", ("favourite_colour",)),
        ("clinic.ein", ("clinic", "ein")),
        ("contact.fax", ("contact", "fax")),
    ],
)
def test_quote_request_unknown_field_is_rejected_by_name(path: str, loc: tuple[str, ...]) -> None:
    # Given a body with a field the contract does not have
    body = with_field(path, "anything", body_starting(30))

    # When it is validated
    errors = errors_of(body)

    # Then the unknown field is named as extra
    assert errors == [(loc, "extra_forbidden", "Extra inputs are not permitted")]


@pytest.mark.parametrize(
    "phone",
    ["(512) 555-0147", "512-555-0147", "512.555.0147", "5125550147", "+1 512 555 0147", "1 (512) 555-0147"],
)
def test_quote_request_us_phone_is_normalised_to_e164(phone: str) -> None:
    # Given a US number written in a common way
    body = with_field("contact.phone", phone, body_starting(30))

    # When it is validated
    quote = validate(body)

    # Then it is stored as E.164
    assert quote.contact.phone == "+15125550147"


@pytest.mark.parametrize(
    "phone",
    [
        "555-0147",  # no area code
        "(012) 555-0147",  # area code starts with 0
        "(512) 155-0147",  # exchange starts with 1
        "+44 20 7946 0958",  # not North American
        "512-555-01477",  # too long
        "call me",
        "",
    ],
)
def test_quote_request_bad_phone_is_rejected(phone: str) -> None:
    # Given a number that is not a US phone number
    body = with_field("contact.phone", phone, body_starting(30))

    # When it is validated
    errors = errors_of(body)

    # Then the phone is named with an example of what is expected
    assert len(errors) == 1
    loc, _, message = errors[0]
    assert loc == ("contact", "phone")
    assert "US phone number" in message


@pytest.mark.parametrize(
    ("days", "valid"), [(-2, False), (-1, False), (0, True), (365, True), (366, False), (800, False)]
)
def test_quote_request_start_by_must_be_within_a_year(days: int, valid: bool) -> None:
    # Given a start date `days` from today, at 17:00 UTC (07:00 in Hawaii: the same day everywhere in the US)
    body = body_starting(days)

    # When it is validated
    if valid:
        quote = validate(body)

        # Then dates from today to 365 days ahead are accepted
        assert quote.start_by == NOW.date() + timedelta(days=days)
    else:
        errors = errors_of(body)

        # Then dates in the past or more than 365 days ahead are refused
        assert [e[0] for e in errors] == [("start_by",)]


def test_quote_request_start_by_yesterday_in_utc_is_accepted_while_still_today_in_hawaii() -> None:
    # Given 05:00 UTC, still the previous evening in Hawaii, and a start date of that previous day
    early = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
    body = quote_body(start_by="2026-11-24")

    # When it is validated
    quote = QuoteRequest.model_validate(body, context={"now": early})

    # Then a clinic in Hawaii asking to start "today" is not refused
    assert quote.start_by.isoformat() == "2026-11-24"


@pytest.mark.parametrize(("length", "valid"), [(2000, True), (2001, False)])
def test_quote_request_notes_longer_than_2000_are_rejected(length: int, valid: bool) -> None:
    # Given notes of `length` characters
    body = quote_body(notes="n" * length, start_by=(NOW.date() + timedelta(days=30)).isoformat())

    # When it is validated
    if valid:
        # Then up to 2000 characters are kept
        assert validate(body).notes == "n" * length
    else:
        # Then more are refused
        assert [e[:2] for e in errors_of(body)] == [(("notes",), "string_too_long")]


@pytest.mark.parametrize("path", ["clinic.name", "contact.name"])
@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\x00", "\t"])
def test_quote_request_control_characters_in_names_are_rejected(path: str, breaker: str) -> None:
    # Given a name carrying a line break or control character (header injection attempt)
    body = with_field(path, f"Bluebonnet{breaker}Bcc: victim@example.com", body_starting(30))

    # When it is validated
    errors = errors_of(body)

    # Then the name is refused
    assert [e[0] for e in errors] == [tuple(path.split("."))]
    assert "line breaks or control characters" in errors[0][2]


@pytest.mark.parametrize(
    ("np", "pa", "bad"),
    [
        (-1, 0, ("supervisees", "np")),
        (0, 501, ("supervisees", "pa")),
        ("3", 0, ("supervisees", "np")),
        (0, "2", ("supervisees", "pa")),
        (2.5, 0, ("supervisees", "np")),
        (0, 0.1, ("supervisees", "pa")),
        (True, 0, ("supervisees", "np")),
        (math.nan, 0, ("supervisees", "np")),
    ],
)
def test_quote_request_supervisee_counts_out_of_range_or_not_integers_are_rejected(
    np: Any, pa: Any, bad: tuple[str, str]
) -> None:
    # Given a supervisee count that is negative, too large, or not a JSON integer
    body = quote_body(
        supervisees={"np": np, "pa": pa}, start_by=(NOW.date() + timedelta(days=30)).isoformat()
    )

    # When it is validated
    errors = errors_of(body)

    # Then that count is named
    assert [e[0] for e in errors] == [bad]


@pytest.mark.parametrize(("np", "pa"), [(0, 0), (500, 500), (7, 3)])
def test_quote_request_supervisee_counts_in_range_are_accepted(np: int, pa: int) -> None:
    # Given supervisee counts within 0..500
    body = quote_body(
        supervisees={"np": np, "pa": pa}, start_by=(NOW.date() + timedelta(days=30)).isoformat()
    )

    # When it is validated
    quote = validate(body)

    # Then they are kept
    assert (quote.supervisees.np, quote.supervisees.pa) == (np, pa)


@pytest.mark.parametrize("path", ["supervisees.np", "supervisees.pa", "locations"])
@pytest.mark.parametrize(("sent", "kept"), [(270.0, 270), (12.0, 12), (1.0, 1), (500.0, 500)])
def test_quote_request_whole_numbers_written_with_a_zero_fraction_are_read_as_integers(
    path: str, sent: float, kept: int
) -> None:
    # Given a count written as JSON Schema's integer allows: a number whose fraction is zero
    body = with_field(path, sent, body_starting(30))

    # When it is validated
    quote = validate(body)

    # Then it is kept as that integer, and dumps as one
    value = quote.model_dump(mode="json")
    for part in path.split("."):
        value = value[part]
    assert (value, type(value)) == (kept, int)


@pytest.mark.parametrize("path", ["supervisees.np", "supervisees.pa", "locations"])
@pytest.mark.parametrize(
    ("sent", "error", "limit"),
    [
        (math.inf, "less_than_equal", 500),
        (1e300, "less_than_equal", 500),
        (10**5000, "less_than_equal", 500),
        (-math.inf, "greater_than_equal", None),
        (-(10**5000), "greater_than_equal", None),
        (270.5, "int_type", None),
    ],
    ids=["inf", "1e300", "5001-digits", "-inf", "-5001-digits", "fraction"],
)
def test_quote_request_counts_too_large_to_read_or_fractional_are_refused_naming_the_bound(
    path: str, sent: float, error: str, limit: int | None
) -> None:
    # Given a count beyond any float, or larger than 500, or with a fraction
    body = with_field(path, sent, body_starting(30))

    # When it is validated
    [(loc, type_, message)] = errors_of(body)

    # Then that count is named, with the bound it breaks (ge is 1 for locations, 0 for the others)
    bound = limit if limit is not None else (1 if path == "locations" else 0)
    assert (loc, type_) == (tuple(path.split(".")), error)
    if error != "int_type":
        assert message.endswith(f" {bound}")


@pytest.mark.parametrize("missing", ["clinic", "contact", "states", "modalities", "supervisees", "consent"])
def test_quote_request_missing_required_field_is_named(missing: str) -> None:
    # Given a body without a required field
    body = body_starting(30)
    del body[missing]

    # When it is validated
    errors = errors_of(body)

    # Then the missing field is named
    assert [(e[0], e[1]) for e in errors] == [((missing,), "missing")]


def test_quote_request_without_malpractice_has_no_preference() -> None:
    # Given a body that does not say who carries malpractice insurance (clients older than the field)
    body = body_starting(30)
    del body["malpractice"]

    # When it is validated
    quote = validate(body)

    # Then the preference is "no_preference"
    assert quote.malpractice == "no_preference"


@pytest.mark.parametrize("preference", ["clinic_policy", "director_policy", "no_preference"])
def test_quote_request_malpractice_preference_is_kept(preference: str) -> None:
    # Given a body with one of the three preferences
    # When it is validated
    quote = validate(body_starting(30) | {"malpractice": preference})

    # Then it is kept as sent
    assert quote.malpractice == preference


def test_quote_request_unknown_malpractice_preference_is_refused() -> None:
    # Given a body with a preference the contract does not know
    # When it is validated
    errors = errors_of(body_starting(30) | {"malpractice": "self_insured"})

    # Then the field is named
    assert [loc for loc, _, _ in errors] == [("malpractice",)]


def test_quote_request_without_budget_is_a_v1_body_with_no_budget() -> None:
    # Given a body as v1 clients send it, without budget_monthly
    quote = validate(body_starting(30))

    # Then it is valid and has no budget
    assert quote.budget_monthly is None


@pytest.mark.parametrize(("budget", "kept"), [(1, 1), (1500, 1500), (2500.0, 2500), (100_000, 100_000)])
def test_quote_request_budget_in_range_is_kept_as_whole_dollars(budget: float, kept: int) -> None:
    assert validate(body_starting(30) | {"budget_monthly": budget}).budget_monthly == kept


@pytest.mark.parametrize(
    ("budget", "kind"),
    [(0, "greater_than_equal"), (-5, "greater_than_equal"), (100_001, "less_than_equal"),
     ("1500", "int_type"), (1500.5, "int_type"), (True, "int_type")],
)  # fmt: skip
def test_quote_request_budget_out_of_range_or_not_whole_is_refused_naming_it(budget: Any, kind: str) -> None:
    errors = errors_of(body_starting(30) | {"budget_monthly": budget})
    assert [(e[0][0], e[1]) for e in errors] == [("budget_monthly", kind)]
