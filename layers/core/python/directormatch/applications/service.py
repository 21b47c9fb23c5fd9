"""Joining: an application stored once as a PENDING director, ops told and the applicant sent a
receipt; later ops' decision, and the applicant told it. Every email goes once (the email ledger's
markers, in the director's partition of the Requests table, keys.DIRECTOR): a retried submission or a
repeated decision sends what is missing and nothing twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from directormatch import keys
from directormatch.applications.contract import DirectorApplication
from directormatch.aws.applications import ApplicationStore, Decision, DecisionRefused, Submitted
from directormatch.mail.delivery import Delivery
from directormatch.mail.messages import (
    application_decided_email,
    application_received_email,
    ops_application_email,
)
from directormatch.vocabulary import ApplicationStatus


def submit(
    application: DirectorApplication, store: ApplicationStore, delivery: Delivery, now: datetime | None = None
) -> Submitted:
    """Store the application (once) and send ops and the applicant their emails (once each)."""
    items = application.items(now or datetime.now(UTC))
    submitted = store.submit(items)
    profile, registrations = items[0], items[1:]
    partition = keys.DIRECTOR(submitted.director_id)
    delivery.send_once(
        partition,
        "ops_application",
        "ops",
        lambda: ops_application_email(profile, registrations, delivery.ops_email),
    )
    delivery.send_once(
        partition,
        "application_received",
        submitted.director_id,
        lambda: application_received_email(profile, registrations),
    )
    return submitted


def decide(
    director_id: str,
    status: ApplicationStatus,
    by: str,
    store: ApplicationStore,
    delivery: Delivery,
    reason: str = "",
    now: datetime | None = None,
) -> Decision:
    """Approve or reject a PENDING application and tell the applicant. Refused (DecisionRefused) when
    it is not pending; an application decided before still has its applicant told, once."""
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    try:
        decision = store.decide(director_id, status, by, at, reason)
    except DecisionRefused:
        earlier = store.decision(director_id)
        if earlier is not None:
            _tell(earlier, store, delivery)
        raise
    _tell(decision, store, delivery)
    return decision


def _tell(decision: Decision, store: ApplicationStore, delivery: Delivery) -> None:
    items = store.partition(decision.director_id, consistent=True)
    profile = next(item for item in items if item["sk"] == keys.PROFILE_SK)
    registrations: Sequence[Mapping[str, Any]] = [item for item in items if item["sk"] != keys.PROFILE_SK]
    delivery.send_once(
        keys.DIRECTOR(decision.director_id),
        "application_decided",
        decision.director_id,
        lambda: application_decided_email(profile, registrations, decision),
    )
