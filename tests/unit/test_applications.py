"""Applications to join, without AWS: the contract (the roster's rules), the form's flat fields onto it,
the error pages' words, and the matcher never offering work to a PENDING director."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from directormatch.applications.contract import validate_application
from directormatch.applications.form import APPLICATION_WORDS, contract_fields
from directormatch.aws.attributes import from_attributes, to_attributes
from directormatch.errors import ApplicationInvalid
from directormatch.intake.contract import FieldError
from directormatch.intake.form import describe, in_form_order
from directormatch.matching.engine import Need, shortlist
from directormatch.records import License
from tests.events import load_event

TODAY = date(2026, 12, 6)


def application(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = load_event("director_application.json")
    return {**body, **changes}


def errors_of(fields: dict[str, Any], today: date = TODAY) -> list[tuple[str, str | None]]:
    with pytest.raises(ApplicationInvalid) as raised:
        validate_application(fields, today)
    return [(e.field, e.type) for e in raised.value.errors]


def test_application_codes_typed_in_lower_case_are_read_in_capitals() -> None:
    body = application(
        licenses=[{"state": "tx", "number": "Q4821", "expires_on": "2028-08-31"}],
        dea=[{"state": " tx", "number": "bv1234563", "expires_on": "2028-06-30"}],
    )

    valid = validate_application(body, TODAY)

    assert [lic.state for lic in valid.licenses] == ["TX"]
    assert (valid.dea[0].state, valid.dea[0].number) == ("TX", "BV1234563")


def test_application_expired_or_far_future_dates_are_named_by_row() -> None:
    body = application(
        licenses=[
            {"state": "TX", "number": "Q4821", "expires_on": TODAY.isoformat()},
            {"state": "OK", "number": "MD-30117", "expires_on": "2040-01-01"},
        ]
    )

    assert errors_of(body) == [
        ("licenses.0.expires_on", "date_too_early"),
        ("licenses.1.expires_on", "date_too_late"),
    ]


def test_application_same_state_twice_and_a_dea_without_its_license_are_refused() -> None:
    twice = [{"state": "TX", "number": "Q4821", "expires_on": "2028-08-31"}] * 2
    assert errors_of(application(licenses=twice)) == [("licenses", "duplicates")]

    elsewhere = [{"state": "NM", "number": "BV1234563", "expires_on": "2028-06-30"}]
    assert errors_of(application(dea=elsewhere)) == [("dea.0.state", "no_license")]


def test_application_fee_schedule_is_the_roster_s_with_its_bounds() -> None:
    assert errors_of(application(fees={"per_np": 100})) == [("fees.base", "missing")]
    assert errors_of(application(fees={"base": 1000, "chart_review_fee": 200})) == [("fees", "value_error")]
    assert validate_application(application(fees=None), TODAY).fees is None


def test_application_items_are_a_pending_inactive_director_with_the_contact_on_the_profile_only() -> None:
    valid = validate_application(application(), TODAY)

    profile, *registrations = valid.items(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))

    assert profile["application_status"] == "PENDING"
    assert profile["phone"] == "+15125550162"
    assert all(item["active"] is False for item in [profile, *registrations] if "active" in item)
    assert [item["sk"] for item in registrations] == ["LICENSE#TX", "LICENSE#OK", "DEA#TX"]
    for item in registrations:
        assert not {"email", "phone", "first_name", "last_name"} & set(item)


def test_application_pending_director_is_never_offered_work_but_approved_is() -> None:
    # Given the LICENSE item of a pending applicant, as the ByState index gives it to the matcher
    items = validate_application(application(), TODAY).items(datetime.now(UTC))
    texas = from_attributes(to_attributes(next(i for i in items if i["sk"] == "LICENSE#TX")))
    need = Need(
        request_id="R-1",
        states=("TX",),
        modalities=frozenset({"aesthetics"}),
        start_by=date.today() + timedelta(days=30),
        np=0,
        pa=0,
        controlled_substances=False,
    )

    # When a TX request is matched, it is excluded as inactive; once approved (active), it is offered
    pending = shortlist(need, [License.from_item(texas)], 3, datetime.now(UTC))
    approved = shortlist(need, [License.from_item({**texas, "active": True})], 3, datetime.now(UTC))

    assert pending.picks == ()
    assert pending.excluded == {"INACTIVE": 1}
    assert [pick.director_id for pick in approved.picks] == [texas["pk"]]


def test_form_fields_rows_skip_blank_rows_and_read_numbers_as_people_type_them() -> None:
    form = {
        "npi": ["1234-567 893"],
        "license_state": ["tx", "", "ok"],
        "license_number": ["Q4821", "", ""],
        "license_expires_on": ["2028-08-31", "", "2028-02-28"],
        "fee_base": ["$1,200"],
        "fee_per_np": [""],
        "max_clinics": ["3"],
        "malpractice_per_claim": ["1,000,000"],
        "consent": ["yes"],
    }

    fields = contract_fields(form)

    assert fields["npi"] == "1234567893"
    assert fields["licenses"] == [
        {"state": "tx", "number": "Q4821", "expires_on": "2028-08-31"},
        {"state": "ok", "expires_on": "2028-02-28"},
    ]
    assert fields["fees"] == {"base": 1200}
    assert (fields["max_clinics"], fields["malpractice_per_claim"], fields["consent"]) == (3, 1_000_000, True)
    assert fields["dea"] == []


def test_form_errors_name_each_row_by_its_number_in_the_form_s_order() -> None:
    errors = [
        FieldError(field="consent", message="x", type="consent_required"),
        FieldError(field="licenses.1.number", message="is required", type="missing"),
        FieldError(field="specialties", message="x", type="too_short"),
        FieldError(field="npi", message="x", type="value_error"),
    ]

    problems = in_form_order([describe(e, APPLICATION_WORDS) for e in errors], APPLICATION_WORDS)

    assert [p.text for p in problems] == [
        "NPI must be your 10-digit NPI (it failed the NPI check digit).",
        "Choose at least one specialty.",
        "License 2: number is required.",
        "Please confirm that we may verify your licenses and send you offers.",
    ]
