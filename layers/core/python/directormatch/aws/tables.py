"""The stores every function uses, built from settings on first use and kept for the process."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.email_ledger import EmailLedger
from directormatch.aws.requests_table import RequestStore
from directormatch.settings import get_settings


def requests() -> RequestStore:
    settings = get_settings()
    return _requests(settings.requests_table, timedelta(hours=settings.offer_hours * settings.max_waves))


def email_ledger() -> EmailLedger:
    return _email_ledger(get_settings().requests_table)


def directors() -> DirectorStore:
    settings = get_settings()
    return _directors(
        settings.directors_table, settings.directors_by_state_index, settings.availability_table
    )


# Keyed by the names, so a process whose settings change (tests) gets stores for the new tables.
@cache
def _requests(table: str, offered_for: timedelta) -> RequestStore:
    return RequestStore(table, offered_for=offered_for)


@cache
def _directors(table: str, by_state_index: str, availability_table: str) -> DirectorStore:
    return DirectorStore(table, by_state_index, availability_table)


@cache
def _email_ledger(table: str) -> EmailLedger:
    return EmailLedger(table)
