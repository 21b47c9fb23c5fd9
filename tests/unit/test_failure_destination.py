"""Which records of a batch Lambda gave up on failed its last attempt, the alert each gets, and when
the clinic's status page says the request is delayed (pure: no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from directormatch.aws.failure_destination import last_attempt_failures, stream_alert
from directormatch.intake.status_page import Partition, delayed
from tests.unit.test_emails import request_item

NOW = datetime(2026, 11, 25, 17, 20, tzinfo=UTC)


def entry(
    sequence: str, invocation: str | None, failed_at: str = "2026-11-25T17:00:00.000+00:00"
) -> dict[str, Any]:
    found = {
        "sequence_number": sequence,
        "item_pk": "R1",
        "item_sk": f"OFFER#{sequence}",
        "failed_at": failed_at,
    }
    return found | ({"invocation": invocation} if invocation else {})


def test_last_attempt_failures_are_those_of_the_first_records_last_failure() -> None:
    # Given a batch from 10: 10 and 14 failed the last attempt (b); 12 failed only an earlier one (a)
    entries = [entry("10", "b"), entry("12", "a"), entry("14", "b")]

    # When the records that failed the last attempt are picked
    picked = last_attempt_failures(entries, "10")

    # Then 12, which went through on a retry, is left out
    assert [e["sequence_number"] for e in picked] == ["10", "14"]


def test_last_attempt_failures_without_the_first_records_entry_take_the_latest_invocation() -> None:
    # Given a batch from 10 whose first record left no entry (its ledger write failed)
    entries = [
        entry("12", "a", "2026-11-25T17:00:00.000+00:00"),
        entry("14", "b", "2026-11-25T17:05:00.000+00:00"),
        entry("16", "b", "2026-11-25T17:05:00.100+00:00"),
    ]

    # When the records that failed the last attempt are picked
    picked = last_attempt_failures(entries, "10")

    # Then the most recent invocation recorded stands for it
    assert [e["sequence_number"] for e in picked] == ["14", "16"]


def test_last_attempt_failures_of_entries_naming_no_invocation_are_all_of_them() -> None:
    entries = [entry("10", None), entry("12", None)]
    assert last_attempt_failures(entries, "10") == entries
    assert last_attempt_failures([], "10") == []


def test_stream_alert_names_the_record_and_the_requests_status_with_ids_only() -> None:
    # Given a ledger entry of notify's, and the request it belongs to
    failed = {"sequence_number": "10", "item_pk": "R1", "item_sk": "OFFER#D1", "error": "EmailNotSent"}
    request = {"request_status": "OFFERED", "correlation_id": "c1", "contact": {"email": "a@b.example"}}

    # When its alert is made
    alert = stream_alert("notify", failed, request, NOW).to_item()

    # Then it lives in the request's partition, one per record, and holds no contact
    assert alert == {
        "pk": "R1",
        "sk": "ALERT#STREAM_FAILED#notify#10",
        "request_id": "R1",
        "alert": "STREAM_FAILED",
        "created_at": "2026-11-25T17:20:00.000+00:00",
        "correlation_id": "c1",
        "function": "notify",
        "item_sk": "OFFER#D1",
        "sequence_number": "10",
        "error": "EmailNotSent",
        "status_at_failure": "OFFERED",
    }


def test_status_page_delayed_while_an_alert_is_unresolved_and_the_request_where_it_was() -> None:
    request = {**request_item(), "request_status": "MATCHED"}
    alert = {
        "pk": request["pk"],
        "sk": "ALERT#STREAM_FAILED#notify#10",
        "request_id": request["request_id"],
        "alert": "STREAM_FAILED",
        "created_at": "2026-11-25T17:00:00.000+00:00",
        "status_at_failure": "MATCHED",
    }

    def shown(*alerts: dict[str, Any]) -> bool:
        partition = Partition.of([request, *alerts])
        assert partition is not None
        return delayed(partition)

    assert shown(alert)
    # not once a replay put the record through, nor once the request moved on, nor for other alerts
    assert not shown({**alert, "resolved_at": "2026-11-25T18:00:00.000+00:00"})
    assert not shown({**alert, "status_at_failure": "OFFERED"})
    assert not shown({**alert, "sk": "ALERT#SLA_20H", "alert": "SLA_20H"})
