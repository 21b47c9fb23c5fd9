"""Stream batches Lambda gave up on (StreamFailureTopic): one ops alert per record that failed every
retry, in its request's partition, where the clinic's status page reads it (aws.failure_destination)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.aws import tables
from directormatch.aws.failure_destination import parse_message, raise_stream_alerts
from directormatch.observability import MetricName, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raised = 0
    for record in event.get("Records", []):
        batch = parse_message(record["Sns"]["Message"])
        if batch is None or batch.function is None:
            logger.warning("not a stream batch of a known function: left to the failure queue")
            continue
        alerts = raise_stream_alerts(tables.requests(), batch, datetime.now(UTC))
        raised += len(alerts)
        metrics.add_metric(name=MetricName.RECORDS_GIVEN_UP, unit="Count", value=len(alerts))
        span = {"function": batch.function, "first_sequence": batch.first, "last_sequence": batch.last}
        logger.warning("stream batch given up", extra={**span, "alerts": len(alerts)})
        for alert in alerts:
            logger.warning(
                "stream record given up: ops alerted, status page told",
                extra={**span, "request_id": alert.request_id, "item_sk": alert.item_sk},
            )
    return {"alerts": raised}
