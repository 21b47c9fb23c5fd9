"""EventBridge schedule: expire offers, next waves, give up after the last wave, escalate late requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.aws import tables
from directormatch.mail.notifier import notifier_from_settings
from directormatch.matching.sweep import SweepReport, SweepSettings, Swept, sweep, warn_expiring
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
    settings = get_settings()
    if event.get("task") == "expiry_warnings":
        report = SweepReport()
        warn_expiring(tables.directors(), notifier_from_settings(), event_time(event), report)
        return _done("expiry warnings done", report, {Swept.EXPIRY_WARNINGS: MetricName.EXPIRY_WARNINGS})
    report = sweep(
        tables.requests(),
        tables.directors(),
        SweepSettings(settings.wave_size, settings.offer_hours, settings.max_waves, settings.weights),
        event_time(event),
    )
    published = {
        Swept.OFFERS_EXPIRED: MetricName.OFFERS_EXPIRED,
        Swept.WAVES_SENT: MetricName.WAVES_SENT,
        Swept.ESCALATED: MetricName.SLA_ESCALATIONS,
    }
    return _done("sweep done", report, published)


def _done(message: str, report: SweepReport, published: dict[Swept, MetricName]) -> dict[str, int]:
    """Publish the task's metrics; log and answer every count, zeros included."""
    for swept, metric in published.items():
        metrics.add_metric(name=metric, unit="Count", value=report[swept])
    counts = {swept.value: report[swept] for swept in Swept}
    logger.info(message, extra=counts)
    return counts
