"""Joining: POST /director-applications through the apply handler (JSON and the form without script),
then ops' approve/reject through `python -m ops.roster`, and the matcher on the next request."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from directormatch import keys
from ops.roster.cli import main as roster
from tests.events import load_event, stream_event, stream_record
from tests.integration.conftest import Aws, app_fixture, metrics_printed

apply_app = app_fixture("ApplyFunction")
BODY = "director_application.json"
EVENT = "apply/post_director_application.json"


def application(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = load_event(BODY)
    return {**body, **changes}


def post_event(body: dict[str, Any] | str, content_type: str = "application/json") -> dict[str, Any]:
    event: dict[str, Any] = load_event(EVENT)
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    for headers in (event["headers"], event["multiValueHeaders"]):
        name = next(n for n in headers if n.lower() == "content-type")
        headers[name] = content_type if headers is event["headers"] else [content_type]
    return event


Post = Callable[..., dict[str, Any]]


@pytest.fixture
def post(apply_app: ModuleType, lambda_context: Any) -> Post:
    def send(body: dict[str, Any] | str, content_type: str = "application/json") -> dict[str, Any]:
        response: dict[str, Any] = apply_app.lambda_handler(post_event(body, content_type), lambda_context)
        return response

    return send


def director_items(aws: Aws) -> dict[str, dict[str, Any]]:
    return {item["sk"]: item for item in aws.items(aws.directors_table)}


def emails_by_kind(aws: Aws) -> dict[str, list[str]]:
    """The recipients of each email sent, by its kind (from its Message-ID): one entry per email."""
    found: dict[str, list[str]] = {}
    for message in aws.sent_emails():
        raw = message.raw_data
        message_id = next(line for line in raw.splitlines() if line.lower().startswith("message-id:"))
        kind = message_id.split("<", 1)[1].split(".", 1)[0]
        found.setdefault(kind, []).append(", ".join(sorted(set(message.destinations))))
    return found


def decide(aws: Aws, *argv: str) -> tuple[int, str]:
    aws.use_function("ApplyFunction")
    out = io.StringIO()
    code = roster(list(argv), client=aws.dynamodb, stdout=out, stderr=out)
    return code, out.getvalue()


def test_apply_stores_a_pending_director_once_and_emails_ops_and_the_applicant_once(
    aws: Aws, post: Post
) -> None:
    # When a physician applies, and the same application arrives again (a double click, a retry)
    first = post(application())
    again = post(application())

    # Then both answers name the same PENDING application
    assert first["statusCode"] == again["statusCode"] == 201, first["body"]
    answer = json.loads(first["body"])
    assert answer == json.loads(again["body"])
    assert answer["status"] == "PENDING"
    director_id = answer["application_id"]

    # And one director is stored, as the roster writes one, inactive, keyed by an opaque id only
    items = director_items(aws)
    assert set(items) == {keys.PROFILE_SK, "LICENSE#TX", "LICENSE#OK", "DEA#TX"}
    assert {item["pk"] for item in items.values()} == {director_id}
    profile = items[keys.PROFILE_SK]
    assert profile["application_status"] == "PENDING"
    assert profile["phone"] == "+15125550162"
    assert profile["fees"]["base"] == 1200
    assert profile["fees"]["per_additional_state"] == 400
    assert profile["active"] is False
    assert items["LICENSE#TX"]["active"] is False
    assert items["DEA#TX"]["dea_number"] == "BV1234563"

    # And ops and the applicant got one email each, the ops one listing the details to verify
    assert emails_by_kind(aws) == {
        "ops_application": [aws.environment["OPS_EMAIL"]],
        "application_received": ["elena.vasquez@practice.example"],
    }
    ops_email = next(m.raw_data for m in aws.sent_emails() if "ops_application." in m.raw_data)
    assert "Q4821" in ops_email
    assert f"python -m ops.roster approve {director_id}" in ops_email


def test_apply_another_application_under_the_same_npi_is_refused_naming_the_npi(aws: Aws, post: Post) -> None:
    # Given an application on file
    assert post(application())["statusCode"] == 201
    before = director_items(aws)

    # When another one with the same NPI and other answers arrives
    response = post(application(max_clinics=5))

    # Then it is refused as a conflict on the NPI, and nothing stored changed
    assert response["statusCode"] == 409
    [error] = json.loads(response["body"])["errors"]
    assert (error["field"], error["type"]) == ("npi", "already_applied")
    assert director_items(aws) == before


@pytest.mark.parametrize(
    ("changes", "field", "type_"),
    [
        ({"npi": "1234567890"}, "npi", "value_error"),
        (
            {"licenses": [{"state": "XX", "number": "Q4821", "expires_on": "2028-08-31"}]},
            "licenses.0.state",
            None,
        ),
        (
            {"licenses": [{"state": "TX", "number": "Q4821", "expires_on": "2020-01-31"}]},
            "licenses.0.expires_on",
            "date_too_early",
        ),
        (
            {"licenses": [{"state": "TX", "number": "Q4821", "expires_on": 1830000000}]},
            "licenses.0.expires_on",
            "value_error",
        ),
        (
            {"dea": [{"state": "CA", "number": "BV1234563", "expires_on": "2028-06-30"}]},
            "dea.0.state",
            "no_license",
        ),
        (
            {"dea": [{"state": "TX", "number": "BV1234564", "expires_on": "2028-06-30"}]},
            "dea.0.number",
            "value_error",
        ),
        ({"fees": {"base": 150000}}, "fees.base", "less_than_equal"),
        ({"fees": {"base": 1000, "chart_review_percent": 10}}, "fees", "value_error"),
        ({"specialties": ["family_medicine", "family_medicine"]}, "specialties", "duplicates"),
        ({"malpractice_aggregate": 500000}, "malpractice_aggregate", "aggregate_below_per_claim"),
        ({"phone": "555-0162"}, "phone", "us_phone"),
        ({"consent": False}, "consent", "consent_required"),
        ({"first_name": "Elena\u202e"}, "first_name", "bidi_control"),
    ],
)
def test_apply_invalid_field_is_named_and_nothing_is_stored(
    aws: Aws,
    post: Post,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, Any],
    field: str,
    type_: str | None,
) -> None:
    response = post(application(**changes))
    printed = metrics_printed(capsys.readouterr().out)

    assert response["statusCode"] == 422, response["body"]
    errors = json.loads(response["body"])["errors"]
    assert [e["field"] for e in errors] == [field]
    assert type_ is None or errors[0]["type"] == type_
    assert director_items(aws) == {}
    assert aws.sent_emails() == []
    # And the log names the field (never its value), for ops to see what applicants trip on
    logged = [record.__dict__.get("fields") for record in caplog.records if record.msg == "request invalid"]
    assert logged == [[field]]
    # And ops count it as a refused application, never as a refused quote
    assert printed["ApplicationRejected"] == 1
    assert "QuoteRejected" not in printed


@pytest.mark.parametrize(("body", "status"), [('{"npi": ', 400), ("", 422)])
def test_apply_body_unreadable_or_missing_is_named(aws: Aws, post: Post, body: str, status: int) -> None:
    response = post(body)

    assert response["statusCode"] == status
    assert json.loads(response["body"])["errors"][0]["field"] == "body"
    assert director_items(aws) == {}


def form_fields(**changes: Any) -> list[tuple[str, str]]:
    """The application form's fields as a browser without script posts them (rows repeat names)."""
    fields = {
        "first_name": "Elena",
        "last_name": "Vasquez",
        "npi": "1234 567 893",
        "email": "elena.vasquez@practice.example",
        "phone": "512-555-0162",
        "max_clinics": "3",
        "fee_base": "$1,200",
        "malpractice_per_claim": "1,000,000",
        "malpractice_aggregate": "3,000,000",
        "consent": "yes",
        **changes,
    }
    rows = [
        ("specialties", "family_medicine"),
        ("modalities", "aesthetics"),
        ("license_state", "tx"),
        ("license_number", "Q4821"),
        ("license_expires_on", "2028-08-31"),
        ("license_state", ""),
        ("license_number", ""),
        ("license_expires_on", ""),
        ("dea_state", ""),
        ("dea_number", ""),
        ("dea_expires_on", ""),
    ]
    return [*fields.items(), *rows]


def test_apply_form_without_script_gets_pages_and_a_blank_row_is_no_row(aws: Aws, post: Post) -> None:
    form = "application/x-www-form-urlencoded"

    # When the form is posted with a bad NPI, it answers a page naming the field by its label
    invalid = post(urlencode(form_fields(npi="1234567890")), form)
    assert invalid["statusCode"] == 422
    assert 'data-field="npi"' in invalid["body"]
    assert "<strong>NPI</strong> must be your 10-digit NPI" in invalid["body"]

    # When it is posted right, it answers the thank-you page with the application number
    received = post(urlencode(form_fields()), form)
    assert received["statusCode"] == 201, received["body"]
    assert "Thank you. Your application is with our team." in received["body"]
    items = director_items(aws)
    assert set(items) == {keys.PROFILE_SK, "LICENSE#TX"}
    assert items[keys.PROFILE_SK]["fees"]["base"] == 1200
    assert items[keys.PROFILE_SK]["pk"] in received["body"]


def match(
    aws: Aws, intake_app: ModuleType, match_app: ModuleType, context: Any, state: str = "TX"
) -> dict[str, Any]:
    """A quote in `state` posted through intake and matched from its stream record: the MATCH item."""
    from tests.events import api_event, quote_body

    aws.use_function("IntakeFunction")
    event = api_event(body=quote_body(states=[state]), without_headers=("Idempotency-Key",))
    response = intake_app.lambda_handler(event, context)
    request = aws.request_store().get_request(json.loads(response["body"])["request_id"])
    assert request is not None
    aws.use_function("MatchFunction")
    assert match_app.lambda_handler(stream_event(stream_record(request)), context) == {
        "batchItemFailures": []
    }
    found = aws.request_store().get_match(request.request_id)
    assert found is not None
    return dict(found)


@pytest.fixture
def pipeline(aws: Aws, post: Post, lambda_context: Any) -> Callable[[str], dict[str, Any]]:
    from tests.integration.conftest import function_app

    intake_app = function_app(aws, "IntakeFunction")
    match_app = function_app(aws, "MatchFunction")
    return lambda state: match(aws, intake_app, match_app, lambda_context, state)


def test_apply_pending_never_matched_approved_matched_on_the_next_request_in_their_state(
    aws: Aws, post: Post, pipeline: Callable[[str], dict[str, Any]]
) -> None:
    # Given an application, the only physician licensed in TX
    director_id = json.loads(post(application())["body"])["application_id"]

    # When a TX clinic asks while it is pending, the applicant is excluded as inactive
    pending = pipeline("TX")
    assert pending["shortlist"] == []
    assert pending["excluded"] == {"INACTIVE": 1}

    # When ops approve it
    code, said = decide(aws, "approve", director_id, "--by", "ops-jane")
    assert code == 0, said

    # Then every item is verified, the director ACTIVE, and the next TX request offers them the work
    items = director_items(aws)
    assert items[keys.PROFILE_SK]["application_status"] == "APPROVED"
    assert all(item["verified_by"] == "ops-jane" for item in items.values())
    assert items["LICENSE#TX"]["active"] is True
    assert items["LICENSE#OK"]["active"] is True
    assert [pick["director_id"] for pick in pipeline("TX")["shortlist"]] == [director_id]
    # And the applicant was told, once
    assert emails_by_kind(aws)["application_decided"] == ["elena.vasquez@practice.example"]


def test_apply_rejected_never_matched_and_decisions_are_final(
    aws: Aws, post: Post, pipeline: Callable[[str], dict[str, Any]]
) -> None:
    # Given an application ops reject, with a reason
    director_id = json.loads(post(application())["body"])["application_id"]
    code, said = decide(
        aws, "reject", director_id, "--reason", "The TX license number does not match the board's."
    )
    assert code == 0, said
    before = director_items(aws)

    # When ops try to approve it after all, or reject it again
    approve_code, approve_said = decide(aws, "approve", director_id)
    reject_code, _ = decide(aws, "reject", director_id)

    # Then both are refused saying why, and nothing changed
    assert approve_code == reject_code == 1
    assert f"application {director_id} was already rejected on" in approve_said
    assert director_items(aws) == before
    # And the applicant heard once, with the reason
    assert emails_by_kind(aws)["application_decided"] == ["elena.vasquez@practice.example"]
    decided = next(m.raw_data for m in aws.sent_emails() if "application_decided." in m.raw_data)
    assert "does not match the board" in decided
    # And a TX request never offers them work
    assert pipeline("TX")["shortlist"] == []


def test_apply_approve_twice_is_refused_and_unknown_or_roster_ids_are_refused(
    aws: Aws, post: Post, load_directors: Callable[..., list[dict[str, Any]]]
) -> None:
    director_id = json.loads(post(application())["body"])["application_id"]
    assert decide(aws, "approve", director_id)[0] == 0

    code, said = decide(aws, "approve", director_id)
    assert code == 1
    assert "already approved" in said

    code, said = decide(aws, "approve", "D0000000000000000000")
    assert code == 1
    assert "no application D0000000000000000000" in said

    [roster_profile, *_] = load_directors(1)
    code, said = decide(aws, "reject", roster_profile["pk"])
    assert code == 1
    assert "came from the roster, not an application" in said


def test_apply_receipt_lost_to_a_failure_is_sent_by_the_retry_and_nothing_stored_twice(
    aws: Aws, post: Post, monkeypatch: pytest.MonkeyPatch
) -> None:
    from directormatch.errors import EmailNotSent
    from directormatch.mail import render

    # Given SES failing the first send
    real_send = render.Mailer.send
    calls: list[str] = []

    def flaky(self: render.Mailer, email: render.Email) -> str:
        calls.append(email.kind)
        if len(calls) == 1:
            raise EmailNotSent("Throttling")
        return real_send(self, email)

    monkeypatch.setattr(render.Mailer, "send", flaky)

    # When the application is posted (an error answer), then retried
    failed = post(application())
    retried = post(application())

    # Then the retry stored nothing new and each email went once
    assert failed["statusCode"] == 500
    assert retried["statusCode"] == 201
    assert len(director_items(aws)) == 4
    assert sorted(emails_by_kind(aws)) == ["application_received", "ops_application"]
    assert [len(v) for v in emails_by_kind(aws).values()] == [1, 1]


def test_apply_body_hash_ignores_key_order_and_spacing() -> None:
    from datetime import date

    from directormatch.applications.contract import validate_application

    body = application()
    shuffled = dict(reversed(list(copy.deepcopy(body).items())))
    shuffled["first_name"] = "  Elena  "

    today = date(2026, 12, 6)
    assert validate_application(body, today).body_hash() == validate_application(shuffled, today).body_hash()


def test_apply_decision_whose_email_failed_is_told_when_ops_run_it_again(
    aws: Aws, post: Post, monkeypatch: pytest.MonkeyPatch
) -> None:
    from directormatch.errors import EmailNotSent
    from directormatch.mail import render

    # Given an application, and SES failing the next send
    director_id = json.loads(post(application())["body"])["application_id"]
    real_send = render.Mailer.send
    failures = [EmailNotSent("Throttling")]

    def flaky(self: render.Mailer, email: render.Email) -> str:
        if failures:
            raise failures.pop()
        return real_send(self, email)

    monkeypatch.setattr(render.Mailer, "send", flaky)

    # When ops approve it (the email fails), then run the command again
    first_code, first_said = decide(aws, "approve", director_id)
    again_code, again_said = decide(aws, "approve", director_id)

    # Then the approval stood the first time, and the second run told the applicant, once
    assert first_code == 2
    assert "run the command again to send it" in first_said
    assert director_items(aws)[keys.PROFILE_SK]["application_status"] == "APPROVED"
    assert again_code == 1
    assert "already approved" in again_said
    assert "the applicant has been told that decision" in again_said
    assert emails_by_kind(aws)["application_decided"] == ["elena.vasquez@practice.example"]
