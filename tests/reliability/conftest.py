"""The reliability battery: fixtures shared with tests/integration, and the table that
`make reliability` (and `make test`) prints at the end: case, tries, passed, lost, duplicated.

Each test module here names its case in a module constant `CASE`; tests that already existed
elsewhere are mapped below by node id. A test that repeats an attempt (or delivers a batch again)
records each try with the `tally` fixture, with the emails or items it found lost or duplicated;
a test that records nothing counts as one try, with lost and duplicated not measured ("-").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from tests.integration import conftest as integration

# The integration suite's fixtures, for this folder too (pytest_plugins stays in the root conftest):
# pytest finds a fixture by its name among the module's attributes.
SHARED_FIXTURES = (
    "aws dynamodb_endpoint intake_app match_app notify_app respond_app apps load_directors load_roster"
    " notify_stream offered_request submit_quote one_call_at_a_time sweep_app"
)
globals().update({name: getattr(integration, name) for name in SHARED_FIXTURES.split()})

ROOT = Path(__file__).resolve().parents[2]
LOAD_RESULT = ROOT / ".local" / "reliability" / "load.json"

CASES = {
    "1": "bad input (intake)",
    "2": "schema fuzzing (intake)",
    "3a": "same Idempotency-Key x20 (intake)",
    "3b": "same stream batch x3",
    "4": "poison record, replay",
    "5a": "DynamoDB throttling (intake)",
    "5b": "SES throttling, timeouts",
    "5c": "SES lost answer (at-least-once)",
    "6": "races",
    "7": "tokens and replies",
    "8": "privacy",
    "9": "template security",
    "10": "load (make load)",
}

# Tests written before the battery that prove part of a case.
EXISTING = {
    "tests/integration/test_match.py::test_match_redelivered_record_writes_nothing_new": "3b",
    "tests/integration/test_notify.py::test_notify_redelivered_batch_sends_nothing_more": "3b",
    "tests/integration/test_match.py::test_match_garbage_record_fails_alone": "4",
    "tests/integration/test_match.py::test_match_batch_where_every_record_fails": "4",
    "tests/integration/test_notify.py::test_notify_ses_failure_reports_the_record": "5b",
    "tests/integration/test_respond.py::test_respond_twenty_concurrent_accepts": "6",
    "tests/integration/test_respond.py::test_respond_accept_cancelled_by_a_concurrent_accept": "6",
    "tests/integration/test_respond.py::test_respond_accept_while_another_answer_is_in_flight": "6",
    "tests/integration/test_sweep.py::test_sweep_two_sweeps_at_the_same_moment": "6",
    "tests/unit/test_tokens.py::": "7",
    "tests/integration/test_respond.py::test_respond_post_with_bad_token_refused": "7",
    "tests/integration/test_respond.py::test_respond_late_or_repeated_answer_refused": "7",
    "tests/integration/test_replies.py::": "7",
}


@dataclass
class Tries:
    tries: int = 0
    passed: int = 0
    lost: int = 0
    duplicated: int = 0
    measured: bool = False


_case_of: dict[str, str] = {}
_tries: dict[str, Tries] = {}


class Tally:
    """Records the tries of one test: `tally.tried(ok, lost=..., duplicated=...)` per attempt."""

    def __init__(self, record: Tries) -> None:
        self.record = record

    def tried(self, ok: bool = True, lost: int = 0, duplicated: int = 0) -> None:
        self.record.tries += 1
        self.record.passed += int(ok and lost == 0 and duplicated == 0)
        self.record.lost += lost
        self.record.duplicated += duplicated
        self.record.measured = True

    def accepted_duplicates(self, ok: bool, lost: int, duplicated: int) -> None:
        """A try whose duplicates are the documented at-least-once outcome (still counted)."""
        self.record.tries += 1
        self.record.passed += int(ok and lost == 0)
        self.record.lost += lost
        self.record.duplicated += duplicated
        self.record.measured = True


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    record = _tries.setdefault(request.node.nodeid, Tries())
    yield Tally(record)
    # On the test's reports too: under pytest-xdist the table is printed by the controller, which
    # sees the workers' reports only (pytest_runtest_logreport below).
    request.node.user_properties.append((TRIES_PROPERTY, asdict(record)))


def case_of(nodeid: str, module: Any) -> str | None:
    case = getattr(module, "CASE", None)
    if isinstance(case, str) and nodeid.startswith("tests/reliability/"):
        return case
    return next((c for prefix, c in EXISTING.items() if nodeid.startswith(prefix)), None)


CASE_PROPERTY, TRIES_PROPERTY = "reliability_case", "reliability_tries"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        case = case_of(item.nodeid, getattr(item, "module", None))
        if case is not None:
            _case_of[item.nodeid] = case
            item.user_properties.append((CASE_PROPERTY, case))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Cases and tries from the reports: the same process's, or pytest-xdist workers' (whose
    collection and fixtures the controller never sees)."""
    for name, value in report.user_properties:
        if name == CASE_PROPERTY:
            _case_of[report.nodeid] = str(value)
        elif name == TRIES_PROPERTY and isinstance(value, dict):
            _tries[report.nodeid] = Tries(**{f.name: value[f.name] for f in fields(Tries)})


@dataclass
class Row(Tries):
    """One case's line of the table: its tries summed over its tests."""

    tests: int = 0


def _outcomes(reporter: Any) -> dict[str, bool]:
    """Node id -> passed, from every phase's report (a failed setup or teardown fails the test)."""
    passed: dict[str, bool] = {}
    for reports in reporter.stats.values():
        for report in reports:
            nodeid, when = getattr(report, "nodeid", None), getattr(report, "when", None)
            if nodeid not in _case_of or when is None or getattr(report, "skipped", False):
                continue
            ok = bool(getattr(report, "passed", False))
            if when == "call" or not ok:
                passed[nodeid] = passed.get(nodeid, True) and ok
    return passed


def rows(outcomes: dict[str, bool]) -> dict[str, Row]:
    table: dict[str, Row] = {}
    for nodeid, ok in outcomes.items():
        row = table.setdefault(_case_of[nodeid], Row())
        record = _tries.get(nodeid, Tries())
        tries = max(record.tries, 1)
        row.tests += 1
        row.tries += tries
        if record.measured:
            # A failed test cannot show all its tries passed.
            row.passed += record.passed if ok else min(record.passed, tries - 1)
            row.lost += record.lost
            row.duplicated += record.duplicated
            row.measured = True
        else:
            row.passed += int(ok)
    return table


def _load_row() -> tuple[Row, str] | None:
    """The last `make load` run, if any (it writes its measured figures there)."""
    if not LOAD_RESULT.is_file():
        return None
    figures = json.loads(LOAD_RESULT.read_text())
    row = Row(
        tries=figures["submitted"],
        passed=figures["complete"],
        lost=figures["lost"],
        duplicated=figures["duplicated"],
        measured=True,
        tests=1,
    )
    return row, f"last run {figures['finished_at'][:16]}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    outcomes = _outcomes(terminalreporter)
    if not any(nodeid.startswith("tests/reliability/") for nodeid in outcomes):
        return
    table = rows(outcomes)
    terminalreporter.write_sep("=", "reliability")
    header = f"{'case':<40} {'tests':>5} {'tries':>6} {'passed':>6} {'lost':>5} {'duplicated':>10}"
    terminalreporter.write_line(header)
    for case, title in CASES.items():
        name = f"{case:>3} {title}"
        row, note = table.get(case), ""
        if case == "10" and row is None and (load := _load_row()) is not None:
            row, note = load
        if row is None:
            terminalreporter.write_line(f"{name:<40} {'not run':>5}")
            continue
        lost = str(row.lost) if row.measured else "-"
        duplicated = str(row.duplicated) if row.measured else "-"
        terminalreporter.write_line(
            f"{name:<40} {row.tests:>5} {row.tries:>6} {row.passed:>6} {lost:>5} {duplicated:>10}"
            + (f"  ({note})" if note else "")
        )


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard retries without their backoff sleeps (the attempts still happen)."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@dataclass(frozen=True)
class SendBatch:
    """A request matched to three directors, and the batch of send-queue messages the sender receives
    for it once notify queued them: the receipt first, then the three offers."""

    request_id: str
    records: list[dict[str, Any]]
    handler: Callable[[dict[str, Any], Any], Any]
    context: Any

    def deliver(self) -> Any:
        """The sender's answer to the batch, delivered (or redelivered) as Lambda does."""
        return self.handler({"Records": self.records}, self.context)


@pytest.fixture
def send_batch(
    aws: Any,
    load_directors: Any,
    intake_app: Any,
    match_app: Any,
    notify_app: Any,
    lambda_context: Any,
    no_retry_delay: None,
) -> SendBatch:
    """The batch, for a sender whose SES retries run without backoff sleeps."""
    from functions.sender import app as sender_app
    from tests.reliability.helpers import post_quote, queued_records, stream_reader

    load_directors(3)
    to_match, to_notify = stream_reader(aws, "MatchFunction"), stream_reader(aws, "NotifyFunction")
    request_id = post_quote(intake_app, lambda_context)
    assert match_app.lambda_handler({"Records": to_match()}, lambda_context) == {"batchItemFailures": []}
    aws.use_function("NotifyFunction")
    records = to_notify()
    assert records[0]["dynamodb"]["NewImage"]["sk"] == {"S": "REQUEST"}
    assert notify_app.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}
    handed = queued_records(aws)
    assert [json.loads(r["body"])["kind"] for r in handed] == ["receipt", "offer", "offer", "offer"]
    aws.monkeypatch.setenv("SES_SEND_RATE", "1000")
    sender_app.reset_pacer()
    return SendBatch(request_id, handed, sender_app.lambda_handler, lambda_context)
