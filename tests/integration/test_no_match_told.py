"""A request that ends NO_MATCH tells its clinic and ops, from the stream (nobody fits) and from the
sweep (every wave spent), and its status page says what the clinic's email says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from directormatch.directors import Fees
from directormatch.intake.status_page import status_page
from local.lambdas import LambdaContext
from tests.fee_oracle import fee_by_hand
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest, roster_director
from tests.integration.test_notify import parse, parts
from tests.integration.test_sweep import expiry, run_sweep
from tests.unit.test_emails_notices import words

Stream = Callable[[], list[dict[str, Any]]]


def notify_from_stream(
    aws: Aws, notify_app: ModuleType, notify_stream: Stream, context: LambdaContext
) -> None:
    """Hand notify every record the Requests stream holds (as its event source mapping would)."""
    aws.use_function("NotifyFunction")
    assert notify_app.lambda_handler({"Records": notify_stream()}, context) == {"batchItemFailures": []}


def emails_by_kind(aws: Aws) -> dict[str, tuple[str, dict[str, str]]]:
    """{kind: (To, {content type: body})} of the emails sent, the last of each kind."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for sent in aws.sent_emails():
        message = parse(sent)
        kind = str(message["Message-ID"]).strip("<").split(".", 1)[0]
        found[kind] = (str(message["To"]), parts(message))
    return found


def test_request_nobody_fits_tells_the_clinic_and_ops_from_the_stream(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    notify_app: ModuleType,
    notify_stream: Stream,
    lambda_context: LambdaContext,
) -> None:
    # Given three directors licensed in WY, none offering ketamine, and a WY ketamine request
    load_directors(3, states=("WY",))
    request = offered_request(states=["WY"], modalities=["ketamine"], controlled_substances=True)
    assert request["request_status"] == "NO_MATCH"

    # When notify reads the stream the match left
    notify_from_stream(aws, notify_app, notify_stream, lambda_context)

    # Then the clinic is told why in plain words, and by when our team writes
    emails = emails_by_kind(aws)
    assert sorted(emails) == ["no_match", "ops_no_match", "receipt"]
    to, body = emails["no_match"]
    assert to == request["contact"]["email"]
    for part in (body["text/plain"], words(body["text/html"])):
        assert "We checked the 3 physicians in our network licensed in WY against your request." in part
        assert "No physician licensed in WY offers ketamine." in part
        assert "You will hear from us by " in part
    # And ops get the clinic's name, contact, services and states
    ops_text = emails["ops_no_match"][1]["text/plain"]
    assert request["clinic"]["name"] in ops_text
    assert request["contact"]["phone"] == "+15125550147"
    assert f"{request['contact']['email']}, (512) 555-0147" in ops_text
    assert "Services:        ketamine" in ops_text
    assert "States:          WY" in ops_text
    assert "No offers were made." in ops_text
    # And the status page says what the email said
    page = words(status_page(request["request_id"], aws.request_store(), aws.director_store()).html)
    assert "No physician licensed in WY offers ketamine." in page
    assert "You will hear from us by " in page


@pytest.mark.parametrize("directors", [3, 9], ids=["nobody_left_after_wave_1", "three_waves_spent"])
def test_request_whose_waves_are_spent_tells_the_clinic_and_ops_from_the_sweep(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    sweep_app: ModuleType,
    notify_app: ModuleType,
    notify_stream: Stream,
    lambda_context: LambdaContext,
    directors: int,
) -> None:
    # Given a TX request offered in waves of three, one director declining the first wave
    load_directors(directors)
    request = offered_request()
    request_id = request["request_id"]
    store = aws.request_store()
    first = store.offers(request_id)[0]
    store.close_offer(
        request_id, first.director_id, "DECLINED", expiry(aws, request_id, 1) - timedelta(hours=1)
    )
    aws.use_function("SweepFunction")

    # When the sweep runs after each wave expires, until the request gives up
    waves = directors // 3
    for wave in range(1, waves + 1):
        run_sweep(sweep_app, expiry(aws, request_id, wave) + timedelta(minutes=1), lambda_context)
    assert store.get_request(request_id)["request_status"] == "NO_MATCH"  # type: ignore[index]
    notify_from_stream(aws, notify_app, notify_stream, lambda_context)

    # Then the clinic hears what was tried and how each offer ended
    emails = emails_by_kind(aws)
    assert {"no_match", "ops_no_match"} <= set(emails)
    rounds = "1 round" if waves == 1 else f"{waves} rounds"
    tried = (
        f"We offered your request to {directors} physicians over {rounds}: "
        f"{directors - 1} did not answer in time and 1 declined."
    )
    to, body = emails["no_match"]
    assert to == request["contact"]["email"]
    assert tried in body["text/plain"]
    assert tried in words(body["text/html"])
    # And ops get every wave's offers and how each ended
    ops_text = emails["ops_no_match"][1]["text/plain"]
    assert request["clinic"]["name"] in ops_text
    for wave in range(1, waves + 1):
        assert f"Wave {wave}:" in ops_text
    assert f"{first.director_id} (TX): declined" in ops_text
    assert ops_text.count("(TX): expired") == directors - 1


def test_budget_that_excludes_everyone_tells_the_clinic_the_lowest_fee_once(
    aws: Aws,
    offered_request: OfferedRequest,
    notify_app: ModuleType,
    notify_stream: Stream,
    lambda_context: LambdaContext,
) -> None:
    # Given three TX directors who fit, each priced by their schedule above the clinic's $1,000 budget
    schedules = [Fees(base=base, per_np=250, per_additional_location=300) for base in (1_100, 900, 1_000)]
    aws.director_store().put_items(
        [item for n, fees in enumerate(schedules, 1) for item in roster_director(n, fees=fees)]
    )
    request = offered_request(budget_monthly=1_000)
    assert request["request_status"] == "NO_MATCH"
    lowest = min(
        fee_by_hand(fees.model_dump(), np=2, pa=0, states=1, locations=1, controlled=False)
        for fees in schedules
    )
    assert lowest == 1_400

    # When notify reads the stream the match left, twice (a redelivery)
    aws.use_function("NotifyFunction")
    records = notify_stream()
    for _ in range(2):
        assert notify_app.lambda_handler({"Records": records}, lambda_context) == {"batchItemFailures": []}

    # Then the clinic gets one email, and ops one alert
    sent = {str(m["Message-ID"]).strip("<").split(".", 1)[0]: m for m in map(parse, aws.sent_emails())}
    assert len(aws.sent_emails()) == 3
    assert sorted(sent) == ["no_match", "ops_no_match", "receipt"]
    emails = emails_by_kind(aws)
    to, body = emails["no_match"]
    assert to == request["contact"]["email"]
    subject = str(sent["no_match"]["Subject"])
    # And it gives the budget, the lowest fee for exactly what was asked, what that covers, what to do
    told = [
        "No physician licensed in TX charges within your budget of $1,000 a month.",
        "The lowest fee for exactly what you asked is $1,400 a month, above your budget of $1,000 a month.",
        "What $1,400 a month covers, each month",
        "If you can go ahead at $1,400 a month, or name another budget, reply to this email",
        "You will hear from us by ",
    ]
    text, html = body["text/plain"], words(body["text/html"])
    for part in (text, html):
        for sentence in told:
            assert sentence in part
    assert "Supervision:     2 NPs, 0 PAs" in text
    assert "the lowest fee is above your budget" in subject
    # And ops read the same figures
    ops_text = emails["ops_no_match"][1]["text/plain"]
    assert (
        "the lowest fee for the whole request is $1,400 a month, above the clinic's budget of $1,000"
        in ops_text
    )
    assert "OVER_BUDGET: 3" in ops_text
    assert "Budget:          $1,000 a month" in ops_text
    # And the status page says what the email said
    page = words(status_page(request["request_id"], aws.request_store(), aws.director_store()).html)
    assert told[1] in page
    assert "$1,400 a month, above your budget" in page
