"""Runtime configuration, read from environment variables at the first call that needs it.

A plain dataclass and stdlib parsing: the stream, sweep and feedback functions would otherwise
import pydantic for their configuration alone. Resource names (tables, index, addresses, origins)
are required: template.yaml sets them for every function, and a missing one is an error naming
the variable rather than a default that points at some other table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from directormatch.matching.engine import Weights


class SettingsError(ValueError):
    """A variable set in template.yaml (or the shell) that cannot be used; names the variable."""


def _integer(env: Mapping[str, str], name: str, default: int, low: int = 1, high: int = 10**9) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set; template.yaml sets it for every function")
    return value


def _weights(env: Mapping[str, str]) -> dict[str, float]:
    raw = env.get("MATCH_WEIGHTS", "").strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise SettingsError(f"MATCH_WEIGHTS is not JSON: {error.msg}") from None
    from directormatch.matching.engine import Weights  # only when weights are set: most functions never match

    known = {f.name for f in fields(Weights)}
    if not isinstance(parsed, dict):
        raise SettingsError('MATCH_WEIGHTS must be a JSON object such as {"fairness": 5}')
    weights: dict[str, float] = {}
    for name, value in parsed.items():
        if name not in known:
            raise SettingsError(f"MATCH_WEIGHTS names an unknown weight {name!r}; known: {sorted(known)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"MATCH_WEIGHTS[{name!r}] must be a number, got {value!r}")
        weights[name] = float(value)
    return weights


# Resource names every function needs: attribute -> variable.
REQUIRED = {
    "requests_table": "REQUESTS_TABLE",
    "directors_table": "DIRECTORS_TABLE",
    "directors_by_state_index": "DIRECTORS_BY_STATE_INDEX",
    "availability_table": "AVAILABILITY_TABLE",
    "site_origin": "SITE_ORIGIN",
    "public_base_url": "PUBLIC_BASE_URL",
    "sender_email": "SENDER_EMAIL",
    "ops_email": "OPS_EMAIL",
}


@dataclass(frozen=True)
class Settings:
    """Environment of every function; the comments name the variables set in template.yaml."""

    requests_table: str  # REQUESTS_TABLE
    directors_table: str  # DIRECTORS_TABLE
    directors_by_state_index: str  # DIRECTORS_BY_STATE_INDEX
    availability_table: str  # AVAILABILITY_TABLE
    site_origin: str  # SITE_ORIGIN
    public_base_url: str  # PUBLIC_BASE_URL
    sender_email: str  # SENDER_EMAIL
    ops_email: str  # OPS_EMAIL
    # Optional features: empty turns them off.
    ses_configuration_set: str = ""  # SES_CONFIGURATION_SET
    # Replies to offers arrive at offer-<request>-<director>@INBOUND_DOMAIN; empty turns replies off.
    inbound_domain: str = ""  # INBOUND_DOMAIN
    # One-time schedules that call the sweep function for one request; an empty group turns them off.
    schedule_group: str = ""  # SCHEDULE_GROUP
    sweep_function_arn: str = ""  # SWEEP_FUNCTION_ARN
    scheduler_role_arn: str = ""  # SCHEDULER_ROLE_ARN
    schedule_dead_letter_arn: str = ""  # SCHEDULE_DEAD_LETTER_ARN
    wave_size: int = 3  # OFFER_WAVE_SIZE, 1-20
    offer_hours: int = 4  # OFFER_HOURS, 1-72
    max_waves: int = 3  # MAX_WAVES, 1-10
    max_body_bytes: int = 32 * 1024  # MAX_BODY_BYTES
    idempotency_hours: int = 24  # IDEMPOTENCY_HOURS
    email_lease_seconds: int = 120  # EMAIL_LEASE_SECONDS
    # The queue emails wait in for the sender function, and the pace it drains them at: the account's
    # SES rate (emails a second) shared by the sender's concurrent invocations.
    send_queue_url: str = ""  # SEND_QUEUE_URL
    ses_send_rate: int = 14  # SES_SEND_RATE
    send_concurrency: int = 2  # SEND_CONCURRENCY
    # The send queue's maxReceiveCount: a letter failing its last receive goes to the dead-letter queue.
    send_max_receives: int = 10  # SEND_MAX_RECEIVES
    # Score weights as JSON, e.g. {"fairness": 5}; unnamed weights keep their defaults.
    match_weights: dict[str, float] = field(default_factory=dict)  # MATCH_WEIGHTS

    @property
    def weights(self) -> Weights:
        from directormatch.matching.engine import Weights

        return Weights(**self.match_weights)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        default: dict[str, Any] = {f.name: f.default for f in fields(cls)}
        return cls(
            **{attribute: _required(env, name) for attribute, name in REQUIRED.items()},
            ses_configuration_set=env.get("SES_CONFIGURATION_SET", ""),
            inbound_domain=env.get("INBOUND_DOMAIN", ""),
            schedule_group=env.get("SCHEDULE_GROUP", ""),
            sweep_function_arn=env.get("SWEEP_FUNCTION_ARN", ""),
            scheduler_role_arn=env.get("SCHEDULER_ROLE_ARN", ""),
            schedule_dead_letter_arn=env.get("SCHEDULE_DEAD_LETTER_ARN", ""),
            wave_size=_integer(env, "OFFER_WAVE_SIZE", default["wave_size"], high=20),
            offer_hours=_integer(env, "OFFER_HOURS", default["offer_hours"], high=72),
            max_waves=_integer(env, "MAX_WAVES", default["max_waves"], high=10),
            max_body_bytes=_integer(env, "MAX_BODY_BYTES", default["max_body_bytes"]),
            idempotency_hours=_integer(env, "IDEMPOTENCY_HOURS", default["idempotency_hours"]),
            email_lease_seconds=_integer(env, "EMAIL_LEASE_SECONDS", default["email_lease_seconds"]),
            send_queue_url=env.get("SEND_QUEUE_URL", ""),
            ses_send_rate=_integer(env, "SES_SEND_RATE", default["ses_send_rate"]),
            send_concurrency=_integer(env, "SEND_CONCURRENCY", default["send_concurrency"]),
            send_max_receives=_integer(env, "SEND_MAX_RECEIVES", default["send_max_receives"]),
            match_weights=_weights(env),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment(os.environ)
