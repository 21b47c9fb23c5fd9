"""Errors the domain raises; api.py maps them to HTTP answers."""

from __future__ import annotations


class DirectorMatchError(Exception):
    """Base of the errors this package raises on purpose."""


class IdempotencyConflict(DirectorMatchError):
    """The Idempotency-Key was already used with a different body."""


class RetryLater(DirectorMatchError):
    """Another worker holds the work right now; the record is retried."""


class StoreUnavailable(DirectorMatchError):
    """DynamoDB throttled or failed; nothing was written."""


class EmailNotSent(DirectorMatchError):
    """SES refused or failed a send. Only its error code is kept: SES messages quote addresses
    ("...the following identities failed the check: <address>"), and an exception's message ends up
    in Lambda's error log and the trace."""
