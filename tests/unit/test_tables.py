"""The store factory: one store per table for the process, built from settings on first use."""

from __future__ import annotations

import pytest

from directormatch.aws import tables
from directormatch.settings import SettingsError, get_settings


def test_tables_same_store_for_every_call_in_a_process() -> None:
    # Given the function environment of the tests
    # When the stores are asked for twice
    # Then the same ones come back, for the tables the settings name
    assert tables.requests() is tables.requests()
    assert tables.directors() is tables.directors()
    assert (tables.requests().table, tables.directors().by_state_index) == ("RequestsTable", "ByState")


def test_tables_other_settings_give_stores_for_the_other_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a store built, then the settings changed (another stack's names)
    before = tables.requests()
    monkeypatch.setenv("REQUESTS_TABLE", "dm-Requests")
    get_settings.cache_clear()

    # When the store is asked for again
    after = tables.requests()

    # Then it is a store of the table now named
    assert (before.table, after.table) == ("RequestsTable", "dm-Requests")


def test_tables_missing_table_name_is_a_settings_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a function without DIRECTORS_TABLE
    monkeypatch.delenv("DIRECTORS_TABLE")

    # When / Then asking for the store names the variable
    with pytest.raises(SettingsError, match="DIRECTORS_TABLE is not set"):
        tables.directors()


def test_tables_email_ledger_is_in_the_requests_table() -> None:
    # Given the function environment of the tests
    # When the email ledger is asked for
    # Then it keeps its markers and suppressions in the Requests table, one ledger per process
    assert tables.email_ledger().table == tables.requests().table
    assert tables.email_ledger() is tables.email_ledger()
