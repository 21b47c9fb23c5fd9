"""Errors the package raises on purpose; directormatch.resolvers maps each to its HTTP answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from directormatch.intake.contract import FieldError


class DirectorMatchError(Exception):
    """Base of the errors this package raises on purpose."""


class RequestRejected(DirectorMatchError):
    """A request refused before validation: wrong size or media type, or unreadable JSON."""

    def __init__(self, status: HTTPStatus, field: str, message: str, type_: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message
        self.type = type_


class QuoteInvalid(DirectorMatchError):
    """The fields of a quote request (JSON body or form post, and Idempotency-Key) break the contract."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid fields")
        self.errors = errors


class ApplicationInvalid(QuoteInvalid):
    """The fields of a director's application break its contract (answered as a quote's are)."""


class ApplicationConflict(DirectorMatchError):
    """An application, or a roster director, already holds this NPI: nothing was written."""


class TokenError(DirectorMatchError):
    """A signed link (directormatch.tokens) that cannot be used."""


class TokenInvalid(TokenError):
    """Malformed, tampered, signed with an unknown key, or for another action."""


class TokenExpired(TokenError):
    """Well signed, but past its expiry."""


class IdempotencyConflict(DirectorMatchError):
    """The Idempotency-Key was already used with a different body."""


class ReferenceTaken(DirectorMatchError):
    """A new request's reference code is already another request's: nothing was written."""


class RetryLater(DirectorMatchError):
    """Another worker holds the work right now; the record is retried."""


class StoreUnavailable(DirectorMatchError):
    """DynamoDB throttled or failed; nothing was written."""


class EmailNotSent(DirectorMatchError):
    """SES refused or failed a send. Only its error code is kept: SES messages quote addresses
    ("...the following identities failed the check: <address>"), and an exception's message ends up
    in Lambda's error log and the trace."""


class ProfileChanged(DirectorMatchError):
    """A self-service change whose conditions failed: the profile (or a license item) changed since
    it was read, or the director took on a clinic meanwhile. Nothing was written."""
