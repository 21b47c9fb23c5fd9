"""The sweep function on its schedule: expiry, next waves, giving up, escalation, and two sweeps at once."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from directormatch.matching.sweep import SweepReport, SweepSettings, Swept, sweep
from directormatch.offers import lifecycle as offers
from local.clock import scheduled_event
from local.lambdas import Functions, LambdaContext
from local.schedules import OneTimeSchedules
from tests.events import api_event, quote_body
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest

OFFER_HOURS = 4  # template default (Settings.offer_hours)


@pytest.fixture
def offered(
    aws: Aws, load_directors: LoadDirectors, offered_request: OfferedRequest, sweep_app: ModuleType
) -> dict[str, Any]:
    """A TX request whose first wave went to three of nine TX directors (enough for three waves)."""
    load_directors(9)
    request = offered_request()
    aws.use_function("SweepFunction")
    assert (request["request_status"], request["wave"]) == ("OFFERED", 1)
    return request


def run_sweep(sweep_app: ModuleType, moment: datetime, context: LambdaContext) -> dict[str, Any]:
    """At `moment`: the one-time schedules due by then fire (as Scheduler would, local.schedules),
    then the periodic safety net runs; their counts summed."""
    fired = OneTimeSchedules(boto3.Session(), Functions()).fire_due(moment)
    net = sweep_app.lambda_handler(scheduled_event(moment, "SweepFunction"), context)
    total: Counter[str] = Counter()
    for report in [*fired, net]:
        total.update(report)
    return {count: total[count] for count in net}


def offers_by_wave(aws: Aws, request_id: str) -> dict[int, dict[str, str]]:
    """{wave: {director id: offer status}}"""
    waves: dict[int, dict[str, str]] = {}
    for offer in aws.request_store().offers(request_id):
        waves.setdefault(offer["wave"], {})[offer["director_id"]] = offer["offer_status"]
    return waves


def alerts(aws: Aws, request_id: str) -> list[dict[str, Any]]:
    return [i for i in aws.items() if i["pk"] == request_id and i["sk"].startswith("ALERT#")]


def expiry(aws: Aws, request_id: str, wave: int) -> datetime:
    found = {o["expires_at"] for o in aws.request_store().offers(request_id) if o["wave"] == wave}
    assert len(found) == 1
    return datetime.fromisoformat(found.pop())


def test_sweep_expired_first_wave_expires_and_offers_the_next_directors(
    aws: Aws, sweep_app: ModuleType, offered: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given a first wave of three open offers
    request_id = offered["request_id"]
    first = offers_by_wave(aws, request_id)[1]
    assert set(first.values()) == {"OPEN"}
    moment = expiry(aws, request_id, 1) + timedelta(minutes=1)

    # When the schedule fires a minute after they expire
    report = run_sweep(sweep_app, moment, lambda_context)

    # Then they are EXPIRED, and a second wave of open offers went to three directors not offered before
    assert (report["offers_expired"], report["waves_sent"]) == (3, 1)
    waves = offers_by_wave(aws, request_id)
    assert waves[1] == dict.fromkeys(first, "EXPIRED")
    assert set(waves[2].values()) == {"OPEN"}
    assert len(waves[2]) == 3
    assert not set(waves[2]) & set(first)
    # And the request is on wave 2, still OFFERED, its new offers open OFFER_HOURS from the sweep
    request = aws.request_store().get_request(request_id)
    assert request is not None
    assert (request["request_status"], request["wave"]) == ("OFFERED", 2)
    assert expiry(aws, request_id, 2) == moment.replace(microsecond=0) + timedelta(hours=OFFER_HOURS)


def test_sweep_third_wave_expired_gives_up_with_no_match_alert(
    aws: Aws, sweep_app: ModuleType, offered: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given three waves sent, each expiring unanswered
    request_id = offered["request_id"]
    for wave in (1, 2):
        sent = run_sweep(sweep_app, expiry(aws, request_id, wave) + timedelta(minutes=1), lambda_context)
        assert sent["waves_sent"] == 1

    # When the schedule fires after the third wave expired
    report = run_sweep(sweep_app, expiry(aws, request_id, 3) + timedelta(minutes=1), lambda_context)

    # Then the request is NO_MATCH with an ops alert, and all nine offers expired
    assert (report["offers_expired"], report["waves_sent"], report["gave_up"]) == (3, 0, 1)
    request = aws.request_store().get_request(request_id)
    assert request is not None
    assert (request["request_status"], request["wave"]) == ("NO_MATCH", 3)
    [alert] = alerts(aws, request_id)
    assert (alert["sk"], alert["alert"]) == ("ALERT#NO_MATCH", "NO_MATCH")
    assert alert["reason"] == "all 3 waves answered or expired without an accept"
    waves = offers_by_wave(aws, request_id)
    assert sorted(waves) == [1, 2, 3]
    assert Counter(s for wave in waves.values() for s in wave.values()) == {"EXPIRED": 9}


def test_sweep_no_director_left_for_next_wave_gives_up_at_once(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    sweep_app: ModuleType,
    lambda_context: LambdaContext,
) -> None:
    # Given only three directors, all offered in the first wave
    load_directors(3)
    request_id = offered_request()["request_id"]
    aws.use_function("SweepFunction")

    # When the first wave expires
    report = run_sweep(sweep_app, expiry(aws, request_id, 1) + timedelta(minutes=1), lambda_context)

    # Then there is nobody new to offer: NO_MATCH with an ops alert, no second wave
    assert (report["waves_sent"], report["gave_up"]) == (0, 1)
    request = aws.request_store().get_request(request_id)
    assert request is not None
    assert request["request_status"] == "NO_MATCH"
    assert [a["sk"] for a in alerts(aws, request_id)] == ["ALERT#NO_MATCH"]
    assert sorted(offers_by_wave(aws, request_id)) == [1]


def test_sweep_request_20_hours_old_without_accept_escalated_once(
    aws: Aws, sweep_app: ModuleType, offered: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given a request submitted 20 hours ago and still OFFERED
    created = datetime.fromisoformat(offered["created_at"])

    # When the schedule fires at 20 hours, and again five minutes later
    first = run_sweep(sweep_app, created + timedelta(hours=20, minutes=1), lambda_context)
    escalated = alerts(aws, offered["request_id"])
    second = run_sweep(sweep_app, created + timedelta(hours=20, minutes=6), lambda_context)

    # Then one SLA alert was raised, by the first run only
    assert (first["escalated"], second["escalated"]) == (1, 0)
    [alert] = [a for a in escalated if a["sk"] == "ALERT#SLA_20H"]
    assert (alert["alert"], alert["request_created_at"]) == ("SLA_20H", offered["created_at"])
    assert alerts(aws, offered["request_id"]) == escalated


def test_sweep_new_request_stuck_over_15_minutes_raises_stuck_alert(
    aws: Aws, intake_app: ModuleType, sweep_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a request that was stored but never matched (still NEW)
    posted = intake_app.lambda_handler(
        api_event(body=quote_body(), without_headers=("Idempotency-Key",)), lambda_context
    )
    request = aws.request_store().get_request(json.loads(posted["body"])["request_id"])
    assert request is not None
    created = datetime.fromisoformat(request["created_at"])
    aws.use_function("SweepFunction")

    # When the schedule fires at 10 minutes, then at 16
    early = run_sweep(sweep_app, created + timedelta(minutes=10), lambda_context)
    assert alerts(aws, request["request_id"]) == []
    late = run_sweep(sweep_app, created + timedelta(minutes=16), lambda_context)

    # Then only the later run raised a STUCK_NEW alert, and the request is left as it was
    assert (early["escalated"], late["escalated"]) == (0, 1)
    [alert] = alerts(aws, request["request_id"])
    assert (alert["sk"], alert["alert"]) == ("ALERT#STUCK_NEW", "STUCK_NEW")
    assert aws.request_store().get_request(request["request_id"]) == request


def test_sweep_two_sweeps_at_the_same_moment_send_one_wave_and_one_alert(
    aws: Aws, offered: dict[str, Any], one_call_at_a_time: None
) -> None:
    # Given a 20-hour-old request whose first wave expired
    request_id = offered["request_id"]
    moment = datetime.fromisoformat(offered["created_at"]) + timedelta(hours=20, minutes=1)
    settings = SweepSettings(wave_size=3, offer_hours=OFFER_HOURS, max_waves=3)
    start = threading.Barrier(2)

    def sweep_now() -> SweepReport:
        start.wait()
        return sweep(aws.request_store(), aws.director_store(), settings, moment)

    # When two sweeps run at that same moment (a retried schedule overlapping the next one)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: sweep_now(), range(2)))

    # Then between them: three offers expired, one second wave, one alert
    total = sum(reports, SweepReport())
    assert (total[Swept.OFFERS_EXPIRED], total[Swept.WAVES_SENT], total[Swept.ESCALATED]) == (3, 1, 1)
    waves = offers_by_wave(aws, request_id)
    assert sorted(waves) == [1, 2]
    assert (len(waves[1]), len(waves[2])) == (3, 3)
    assert set(waves[2].values()) == {"OPEN"}
    request = aws.request_store().get_request(request_id)
    assert request is not None
    assert (request["request_status"], request["wave"]) == ("OFFERED", 2)
    assert [a["sk"] for a in alerts(aws, request_id)] == ["ALERT#SLA_20H"]


def test_sweep_offers_still_open_change_nothing(
    aws: Aws, sweep_app: ModuleType, offered: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given a first wave that is open for another hour
    before = aws.items(), aws.items(aws.directors_table)
    moment = expiry(aws, offered["request_id"], 1) - timedelta(hours=1)

    # When the sweep runs
    report = run_sweep(sweep_app, moment, lambda_context)

    # Then no schedule was due and the safety net did not read the request: nothing changed
    assert report["requests_checked"] == 0
    assert (report["offers_expired"], report["waves_sent"], report["escalated"]) == (0, 0, 0)
    assert (aws.items(), aws.items(aws.directors_table)) == before


def test_sweep_matched_request_is_not_touched(
    aws: Aws, sweep_app: ModuleType, offered: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given the request was accepted (MATCHED) and its accepted offer's time has long passed
    request_id = offered["request_id"]
    director_id = next(iter(offers_by_wave(aws, request_id)[1]))
    accepted = offers.accept(aws.request_store(), aws.director_store(), request_id, director_id, "link")
    assert accepted.outcome == offers.Outcome.ACCEPTED
    before = aws.items(), aws.items(aws.directors_table)

    # When the schedule fires a day after submission
    report = run_sweep(
        sweep_app, datetime.fromisoformat(offered["created_at"]) + timedelta(hours=25), lambda_context
    )

    # Then only its two schedules (wave 1's expiry, the SLA) read it, and changed nothing: no
    # expiry, no wave, no alert; the safety net did not read it
    assert report["requests_checked"] == 2
    assert (aws.items(), aws.items(aws.directors_table)) == before
