"""One-time schedules: each wave's expiry and each request's SLA, created by the match and the sweep,
fired by Scheduler (local.schedules here), and the paged safety net for a schedule that is missing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from directormatch.aws import schedules as schedules_module
from directormatch.aws.schedules import SweepSchedules
from directormatch.matching.sweep import Cursor, SweepSettings, safety_net
from directormatch.settings import get_settings
from local.clock import scheduled_event
from local.lambdas import Functions, LambdaContext
from local.schedules import OneTimeSchedules, due_at
from tests.faults import FaultyClient, client_error
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest
from tests.integration.test_sweep import expiry, offers_by_wave

GROUP = "SweepScheduleGroup"  # the local name of template.yaml's schedule group


def schedules(aws: Aws) -> dict[str, dict[str, Any]]:
    scheduler = aws.session.client("scheduler")
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]]
    return {name: scheduler.get_schedule(Name=name, GroupName=GROUP) for name in names}


def test_a_first_wave_schedules_its_expiry_and_the_sla_by_ids_only(
    aws: Aws, load_directors: LoadDirectors, offered_request: OfferedRequest
) -> None:
    # Given a request matched by the match handler
    load_directors(9)
    request = offered_request()
    request_id = request["request_id"]

    # Then its group holds the wave's expiry and the 20-hour SLA, named and filled with its id only
    found = schedules(aws)
    assert set(found) == {f"wave-{request_id}-1", f"sla-{request_id}"}
    wave, sla = found[f"wave-{request_id}-1"], found[f"sla-{request_id}"]
    assert due_at(wave["ScheduleExpression"]) == expiry(aws, request_id, 1)
    created = datetime.fromisoformat(request["created_at"])
    assert due_at(sla["ScheduleExpression"]) == (created + timedelta(hours=20)).replace(microsecond=0)
    assert json.loads(wave["Target"]["Input"]) == {"task": "advance", "request_id": request_id}
    assert json.loads(sla["Target"]["Input"]) == {"task": "sla", "request_id": request_id}
    # And each calls the sweep function with the scheduler role, retries, and a dead-letter queue
    for schedule in found.values():
        target = schedule["Target"]
        assert target["Arn"].endswith(":function:directormatch-sweep")
        assert target["RoleArn"].endswith(":role/SweepSchedulerRole")
        assert target["DeadLetterConfig"]["Arn"].endswith(":ScheduleDeadLetterQueue")
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
        assert schedule["ActionAfterCompletion"] == "DELETE"
    # And the request's index entry carries the wave's expiry
    assert request["wave_expires_at"] == expiry(aws, request_id, 1).isoformat()


def test_a_redelivered_create_is_done_not_an_error(
    aws: Aws, load_directors: LoadDirectors, offered_request: OfferedRequest
) -> None:
    # Given a request whose wave 1 is scheduled
    load_directors(9)
    request = offered_request()
    aws.use_function("MatchFunction")
    made = SweepSchedules.from_settings(get_settings())
    assert made is not None

    # When the same schedule is created again (a redelivery after the create succeeded)
    again = made.wave_expiry(request["request_id"], 1, expiry(aws, request["request_id"], 1).isoformat())

    # Then that counts as done, and there is still one schedule of that name
    assert again is True
    assert len(schedules(aws)) == 2


def test_a_wave_whose_schedule_failed_is_advanced_by_the_safety_net_after_the_grace(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    sweep_app: ModuleType,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a request matched while Scheduler refused both its creates (it takes later ones)
    load_directors(9)
    faulty = FaultyClient(
        aws.session.client("scheduler"),
        "create_schedule",
        lambda _: client_error("ThrottlingException", "CreateSchedule"),
        times=2,
    )
    monkeypatch.setattr(schedules_module, "client", lambda service: faulty)
    request = offered_request()
    assert len(faulty.refused) == 2
    request_id = request["request_id"]
    assert request["request_status"] == "OFFERED"
    assert schedules(aws) == {}
    aws.use_function("SweepFunction")
    expired = expiry(aws, request_id, 1)

    # When the safety net runs 10 minutes after the wave expired, then 16 minutes after
    early = sweep_app.lambda_handler(scheduled_event(expired + timedelta(minutes=10), "r"), lambda_context)
    late = sweep_app.lambda_handler(scheduled_event(expired + timedelta(minutes=16), "r"), lambda_context)

    # Then it left the request to its (missing) schedule at first, then expired the wave and sent the next
    assert (early["requests_checked"], early["offers_expired"]) == (0, 0)
    assert (late["offers_expired"], late["waves_sent"]) == (3, 1)
    assert set(offers_by_wave(aws, request_id)[1].values()) == {"EXPIRED"}
    # And the next wave's expiry is scheduled, by the sweep, in the stack's own group
    assert set(schedules(aws)) == {f"wave-{request_id}-2"}


def test_schedules_fire_once_when_due_and_are_deleted(
    aws: Aws, load_directors: LoadDirectors, offered_request: OfferedRequest
) -> None:
    # Given a request with its two schedules
    load_directors(9)
    request_id = offered_request()["request_id"]
    aws.use_function("SweepFunction")
    fire = OneTimeSchedules(boto3.Session(), Functions())
    moment = expiry(aws, request_id, 1)

    # When the clock reaches the wave's expiry, and again a second later
    first = fire.fire_due(moment)
    second = fire.fire_due(moment + timedelta(seconds=1))

    # Then the wave's schedule fired once, advanced the request, and was deleted; the SLA waits
    assert [(r["offers_expired"], r["waves_sent"]) for r in first] == [(3, 1)]
    assert second == []
    assert set(schedules(aws)) == {f"sla-{request_id}", f"wave-{request_id}-2"}


def test_the_safety_net_handles_a_page_of_requests_and_continues_after_it(
    aws: Aws, load_directors: LoadDirectors, offered_request: OfferedRequest
) -> None:
    # Given five OFFERED requests whose first waves all expired over an hour ago
    load_directors(40)
    ids = [offered_request(wave_size=1)["request_id"] for _ in range(5)]
    aws.use_function("SweepFunction")
    moment = max(expiry(aws, request_id, 1) for request_id in ids) + timedelta(hours=1)
    settings = SweepSettings(wave_size=1, offer_hours=4, max_waves=3)
    requests, directors = aws.request_store(), aws.director_store()

    # When the safety net runs with pages of two
    pages, after = [], None
    while True:
        report, after = safety_net(requests, directors, settings, moment, after=after, limit=2)
        pages.append(report)
        if after is None:
            break

    # Then no page handled more than two requests, and every request was handled once
    assert [page["requests_checked"] for page in pages] == [2, 2, 1]
    assert sum(page["waves_sent"] for page in pages) == 5
    assert {request_id: len(offers_by_wave(aws, request_id)) for request_id in ids} == dict.fromkeys(ids, 2)


def test_the_sweep_function_schedules_its_next_page_when_a_page_is_full(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    sweep_app: ModuleType,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given three overdue requests and pages of two
    load_directors(40)
    ids = [offered_request(wave_size=1)["request_id"] for _ in range(3)]
    aws.use_function("SweepFunction")
    monkeypatch.setattr(sweep_app, "PAGE", 2)
    moment = max(expiry(aws, request_id, 1) for request_id in ids) + timedelta(hours=1)

    # When the periodic safety net runs
    report = sweep_app.lambda_handler(scheduled_event(moment, "SweepFunction"), lambda_context)

    # Then it handled two and scheduled its next page a minute later, starting after the second
    assert report["requests_checked"] == 2
    [page] = [s for name, s in schedules(aws).items() if name.startswith("sweep-")]
    assert due_at(page["ScheduleExpression"]) == (moment + timedelta(minutes=1)).replace(microsecond=0)
    assert Cursor(**json.loads(page["Target"]["Input"])["after"]).request_id in ids

    # And when that schedule fires, the next page handles the third and schedules nothing more
    answers = OneTimeSchedules(boto3.Session(), Functions()).fire_due(moment + timedelta(minutes=1))
    assert sum(answer["requests_checked"] for answer in answers if "requests_checked" in answer) >= 1
    assert not [name for name in schedules(aws) if name.startswith("sweep-")]
    assert all(len(offers_by_wave(aws, request_id)) == 2 for request_id in ids)
