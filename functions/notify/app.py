"""Stream consumer: every email a new item or a status change calls for (see Notifier)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.aws.attributes import from_attributes
from directormatch.aws.streams import StreamProcessor
from directormatch.mail.notifier import notifier_from_settings
from directormatch.observability import logger, metrics, tracer

# Failed records are reported, logged and written down for replay (directormatch.aws.streams).
processor = StreamProcessor("notify")


notifier = notifier_from_settings


def record_handler(record: DynamoDBRecord) -> None:
    change = record.raw_event.get("dynamodb") or {}
    new_image, old_image = change.get("NewImage"), change.get("OldImage")
    if not new_image:
        return
    logger.set_correlation_id(new_image.get("correlation_id", {}).get("S"))
    if record.raw_event.get("eventName") == "INSERT":
        notifier().on_new_item(from_attributes(new_image))
    elif record.raw_event.get("eventName") == "MODIFY" and old_image:
        notifier().on_change(from_attributes(old_image), from_attributes(new_image))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
