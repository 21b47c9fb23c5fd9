"""Schedules: a wave's expiry or a request's SLA for one request (one-time schedules, by ids), the
periodic safety net a page at a time, and the daily expiry warnings."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.aws import tables
from directormatch.aws.schedules import SweepSchedules, Task
from directormatch.mail.notifier import notifier_from_settings
from directormatch.matching.sweep import (
    PAGE,
    Cursor,
    SweepReport,
    SweepSettings,
    Swept,
    advance_request,
    escalate_request,
    safety_net,
    warn_expiring,
)
from directormatch.observability import MetricName, logger, metrics, tracer
from directormatch.settings import get_settings


def event_time(event: dict[str, Any]) -> datetime:
    """The schedule's own time (so a replayed or test event sweeps as of its moment); now if absent."""
    if event.get("time"):
        return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    return datetime.now(UTC)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("task") == "expiry_warnings":
        report = SweepReport()
        warn_expiring(tables.directors(), notifier_from_settings(), event_time(event), report)
        return _done("expiry warnings done", report, {Swept.EXPIRY_WARNINGS: MetricName.EXPIRY_WARNINGS})
    settings = get_settings()
    schedules = SweepSchedules.from_settings(settings)
    sweep_settings = SweepSettings(
        settings.wave_size, settings.offer_hours, settings.max_waves, settings.weights, schedules
    )
    now = event_time(event)
    task = event.get("task")
    if task == Task.ADVANCE:
        report = advance_request(
            str(event["request_id"]), tables.requests(), tables.directors(), sweep_settings, now
        )
    elif task == Task.SLA:
        report = escalate_request(str(event["request_id"]), tables.requests(), now)
    else:
        after = Cursor(**event["after"]) if task == Task.SWEEP else None
        requests, directors = tables.requests(), tables.directors()
        report, rest = safety_net(requests, directors, sweep_settings, now, after=after, limit=PAGE)
        if rest is not None:
            _continue(schedules, rest, now)
    published = {
        Swept.OFFERS_EXPIRED: MetricName.OFFERS_EXPIRED,
        Swept.WAVES_SENT: MetricName.WAVES_SENT,
        Swept.ESCALATED: MetricName.SLA_ESCALATIONS,
    }
    return _done("sweep done", report, published)


def _continue(schedules: SweepSchedules | None, after: Cursor, now: datetime) -> None:
    """The safety net's next page, a minute from now, through the same schedule group. Without
    schedules the next periodic pass starts over."""
    if schedules is None:
        return
    name = f"sweep-{now:%Y%m%d%H%M%S}-{after.request_id or 'start'}"
    schedules.create(name, now + timedelta(minutes=1), {"task": Task.SWEEP, "after": asdict(after)})


def _done(message: str, report: SweepReport, published: dict[Swept, MetricName]) -> dict[str, int]:
    """Publish the task's metrics; log and answer every count, zeros included."""
    for swept, metric in published.items():
        metrics.add_metric(name=metric, unit="Count", value=report[swept])
    counts = {swept.value: report[swept] for swept in Swept}
    logger.info(message, extra=counts)
    return counts
