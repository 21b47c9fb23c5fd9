"""Shared by every suite: a fake AWS environment, fresh caches per test, a Lambda context, item factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from directormatch import keys
from directormatch.aws import clients as aws
from directormatch.records import License
from directormatch.settings import get_settings
from local.lambdas import LambdaContext

ACCOUNT_ID = "123456789012"
TEST_TOKEN_KEYS = '{"active": "t1", "keys": {"t1": "test-signing-key-0123456789abcdef0123"}}'
REGION = "us-east-1"
# The resource names template.yaml gives every function (required: settings has no defaults for them).
FUNCTION_ENVIRONMENT = {
    "REQUESTS_TABLE": "RequestsTable",
    "DIRECTORS_TABLE": "DirectorsTable",
    "DIRECTORS_BY_STATE_INDEX": "ByState",
    "AVAILABILITY_TABLE": "AvailabilityTable",
    "SITE_ORIGIN": "http://127.0.0.1:3000",
    "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
    "SENDER_EMAIL": "matches@directormatch.example",
    "OPS_EMAIL": "ops@directormatch.example",
}


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region: nothing can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "DirectorMatch",
        "POWERTOOLS_SERVICE_NAME": "directormatch",
        "TOKEN_KEYS": TEST_TOKEN_KEYS,
        **FUNCTION_ENVIRONMENT,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Settings and clients are cached per process; each test starts and ends without them."""
    get_settings.cache_clear()
    aws.clear_clients()
    yield
    get_settings.cache_clear()
    aws.clear_clients()


class EachCallContext(LambdaContext):
    """The context a test hands each of its handler calls. Every call stands for an invocation of its
    own, with its whole timeout ahead (Lambda gives each invocation its deadline): a deadline counted
    from the test's start runs out during a long test, and the sender then refuses to send."""

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return EachCallContext(function_name="test-function")


def make_candidate(director_id: str = "D-ACTIVE", state: str = "TX", **overrides: Any) -> License:
    """A LICENSE record passing every filter for a TX aesthetics + weight-loss request starting within
    60 days. Overrides may be Python values (dates, sets, tuples): they are stored as the roster stores
    them (ISO strings, lists)."""
    fields: dict[str, Any] = {
        "license_status": "ACTIVE",
        "license_expires_on": date.today() + timedelta(days=400),
        "modalities": ["aesthetics", "weight_loss"],
        "active": True,
        "paused": False,
        "max_clinics": 5,
        "active_clinics": 1,
        **overrides,
    }
    stored = {name: _stored(value) for name, value in fields.items()}
    return License(pk=director_id, sk=keys.LICENSE(state), license_state=state, **stored)


def _stored(value: Any) -> Any:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value)
    return value


def director_items(
    director_id: str,
    states: dict[str, dict[str, Any]] | list[str],
    email: str | None = None,
    **profile_overrides: Any,
) -> list[dict[str, Any]]:
    """PROFILE and LICENSE#<state> items of one director, shaped like ops.roster writes them.

    `states` lists states with active licenses valid 400 days, or maps each state to license overrides.
    """
    profile: dict[str, Any] = {
        "pk": director_id,
        "sk": keys.PROFILE_SK,
        "director_id": director_id,
        "first_name": "Avery",
        "last_name": "Okafor",
        "email": email or f"{director_id.lower()}@roster.directormatch.example",
        "specialties": ["family_medicine"],
        "modalities": ["aesthetics", "weight_loss"],
        "max_clinics": 5,
        "active_clinics": 1,
        "active": True,
        "paused": False,
    }
    profile.update(profile_overrides)
    per_state = states if isinstance(states, dict) else {state: {} for state in states}
    items = [profile]
    for state, overrides in per_state.items():
        license_item = {
            "pk": director_id,
            "sk": keys.LICENSE(state),
            "license_state": state,
            "license_number": f"{state}123456",
            "license_status": "ACTIVE",
            "license_expires_on": (date.today() + timedelta(days=400)).isoformat(),
            **{k: profile[k] for k in ("modalities", "max_clinics", "active_clinics", "active", "paused")},
        }
        license_item.update(overrides)
        items.append(license_item)
    return items


@pytest.fixture
def director_factory() -> Callable[..., list[dict[str, Any]]]:
    return director_items
