"""Item keys of both tables in one place (ids only: never personal data)."""

from __future__ import annotations

REQUEST_SK = "REQUEST"
MATCH_SK = "MATCH"
PROFILE_SK = "PROFILE"
OFFER_PREFIX = "OFFER#"
EMAIL_PREFIX = "EMAIL#"
ALERT_PREFIX = "ALERT#"
LICENSE_PREFIX = "LICENSE#"
DEA_PREFIX = "DEA#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
STREAM_FAILURE_PREFIX = "STREAM_FAILURE#"
# Stream sequence numbers are decimal strings of 21 to 40 digits: padded, they sort as numbers.
SEQUENCE_DIGITS = 40


def offer_sk(director_id: str) -> str:
    return f"{OFFER_PREFIX}{director_id}"


def email_sk(kind: str, recipient_id: str) -> str:
    return f"{EMAIL_PREFIX}{kind}#{recipient_id}"


def alert_sk(kind: str) -> str:
    return f"{ALERT_PREFIX}{kind}"


def license_sk(state: str) -> str:
    return f"{LICENSE_PREFIX}{state}"


def dea_sk(state: str) -> str:
    return f"{DEA_PREFIX}{state}"


def idempotency_pk(key_hash: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{key_hash}"


def stream_failure_pk(function: str) -> str:
    """Ledger partition of one stream function's failed records ("match", "notify")."""
    return f"{STREAM_FAILURE_PREFIX}{function}"


def sequence_sk(sequence_number: str) -> str:
    return sequence_number.zfill(SEQUENCE_DIGITS)
