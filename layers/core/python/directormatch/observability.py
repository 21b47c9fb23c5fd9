"""Logger, Tracer and Metrics shared by every function, and every metric name in one place."""

from __future__ import annotations

from enum import StrEnum

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "directormatch"

logger = Logger(service=SERVICE)
# Only botocore is patched: the functions make no other outbound calls, and patching everything
# (the default) imports requests, sqlite3 and httplib into every cold start.
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
metrics = Metrics(namespace="DirectorMatch", service=SERVICE)


def seconds_since(iso_timestamp: str) -> float:
    """Seconds from a stored ISO timestamp to now (for the time-to-* metrics)."""
    from datetime import UTC, datetime

    return max(0.0, (datetime.now(UTC) - datetime.fromisoformat(iso_timestamp)).total_seconds())


class MetricName(StrEnum):
    QUOTE_RECEIVED = "QuoteReceived"
    QUOTE_REJECTED = "QuoteRejected"
    QUOTE_REPLAYED = "QuoteReplayed"
    QUOTE_CONFLICT = "QuoteIdempotencyConflict"
    QUOTE_HONEYPOT = "QuoteHoneypot"
    APPLICATION_RECEIVED = "ApplicationReceived"
    APPLICATION_REJECTED = "ApplicationRejected"
    LINK_POST_REJECTED = "LinkPostRejected"
    APPLICATION_REPLAYED = "ApplicationReplayed"
    OFFERS_CREATED = "OffersCreated"
    NO_MATCH = "NoMatch"
    TIME_TO_FIRST_OFFER = "TimeToFirstOffer"
    TIME_TO_ACCEPTANCE = "TimeToAcceptance"
    OFFER_ACCEPTED = "OfferAccepted"
    OFFER_DECLINED = "OfferDeclined"
    REPLY_RECEIVED = "ReplyReceived"
    OFFERS_EXPIRED = "OffersExpired"
    WAVES_SENT = "WavesSent"
    SLA_ESCALATIONS = "SlaEscalations"
    EXPIRY_WARNINGS = "ExpiryWarnings"
    EMAIL_QUEUED = "EmailQueued"
    SCHEDULE_FAILED = "ScheduleCreateFailed"
    AVAILABILITY_UNSETTLED = "AvailabilityUnsettled"
    EMAIL_SENT = "EmailSent"
    EMAIL_SUPPRESSED = "EmailSuppressed"
    EMAIL_BOUNCED = "EmailBounced"
    EMAIL_COMPLAINED = "EmailComplained"
    DUPLICATE_SKIPPED = "DuplicateSkipped"
    RECORD_FAILED = "RecordFailed"
    RECORDS_GIVEN_UP = "RecordsGivenUp"
