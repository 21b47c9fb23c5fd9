"""SES bounce and complaint events (configuration set -> SNS): put the address on the suppression list."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.aws import tables
from directormatch.mail.suppression import address_key, addresses_to_suppress
from directormatch.observability import MetricName, logger, metrics, tracer

REASON_METRICS = {"BOUNCE": MetricName.EMAIL_BOUNCED, "COMPLAINT": MetricName.EMAIL_COMPLAINED}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ledger = tables.email_ledger()
    added = 0
    for record in event.get("Records", []):
        reason, addresses = addresses_to_suppress(json.loads(record["Sns"]["Message"]))
        if reason in REASON_METRICS:
            metrics.add_metric(name=REASON_METRICS[reason], unit="Count", value=len(addresses))
        for address in addresses:
            added += ledger.suppress(address_key(address), reason, datetime.now(UTC).isoformat())
        logger.info("ses feedback", extra={"reason": reason, "addresses": len(addresses)})
    return {"suppressed": added}
