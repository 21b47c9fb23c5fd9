"""The daily sweep task warns directors and ops 30 days before a license or DEA registration lapses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType

from directormatch.directors import DeaRegistration, Director, StateLicense, director_items, npi_check_digit
from local.lambdas import LambdaContext
from tests.integration.conftest import Aws

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def director(n: int, license_days: int, dea_days: int | None = None) -> Director:
    npi = f"12345678{n}"[:9]
    return Director(
        npi=npi + npi_check_digit(npi),
        first_name="Avery",
        last_name=f"Okafor{n}",
        email=f"avery{n}@roster.directormatch.example",
        specialties=["family_medicine"],
        modalities=["aesthetics"],
        max_clinics=3,
        licenses=[
            StateLicense(
                state="TX", number=f"TX{n}1234", expires_on=NOW.date() + timedelta(days=license_days)
            )
        ],
        dea=[
            DeaRegistration(state="TX", number="AB1234563", expires_on=NOW.date() + timedelta(days=dea_days))
        ]
        if dea_days is not None
        else [],
    )


def expiry_event(moment: datetime) -> dict[str, str]:
    return {"task": "expiry_warnings", "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_expiry_warnings_within_30_days_email_director_and_ops_once(
    aws: Aws, sweep_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given one director whose TX license lapses in 10 days and DEA in 40, one lapsing in 31 days, one in 5
    soon, later, dea_soon = director(1, 10, dea_days=40), director(2, 31), director(3, 400, dea_days=5)
    aws.director_store().put_items([i for d in (soon, later, dea_soon) for i in director_items(d)])

    # When the daily task runs, twice (a retry)
    first = sweep_app.lambda_handler(expiry_event(NOW), lambda_context)
    second = sweep_app.lambda_handler(expiry_event(NOW), lambda_context)

    # Then the 10-day license and the 5-day DEA registration were warned about, once each
    assert first["expiry_warnings"] == 2
    assert second["expiry_warnings"] == 0
    sent = [(sorted(set(m.destinations)), m.raw_data) for m in aws.sent_emails()]
    to_directors = [s for s in sent if s[0] != [aws.environment["OPS_EMAIL"]]]
    to_ops = [s for s in sent if s[0] == [aws.environment["OPS_EMAIL"]]]
    assert sorted(s[0][0] for s in to_directors) == [str(soon.email), str(dea_soon.email)]
    assert len(to_ops) == 2
    assert any("TX license expires on" in raw for _, raw in to_directors)
    assert any("TX DEA registration expires on" in raw for _, raw in to_directors)


def test_expiry_warnings_nothing_expiring_sends_nothing(
    aws: Aws, sweep_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a director whose registrations last more than a month
    aws.director_store().put_items(director_items(director(4, 200, dea_days=90)))

    # When the daily task runs
    report = sweep_app.lambda_handler(expiry_event(NOW), lambda_context)

    # Then no email goes out
    assert report["expiry_warnings"] == 0
    assert aws.sent_emails() == []
