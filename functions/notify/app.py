"""Stream consumer: every email a new item or a status change calls for (see Notifier)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.emails import Mailer
from directormatch.notifications import Notifier
from directormatch.observability import logger, metrics, tracer
from directormatch.settings import get_settings
from directormatch.store import DirectorStore, RequestStore, from_attributes

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def notifier() -> Notifier:
    settings = get_settings()
    return Notifier(
        RequestStore(settings.requests_table),
        DirectorStore(settings.directors_table, settings.directors_by_state_index),
        Mailer(settings.sender_email, settings.ses_configuration_set),
        lease_seconds=settings.email_lease_seconds,
        ops_email=settings.ops_email,
        public_base_url=settings.public_base_url,
    )


def record_handler(record: DynamoDBRecord) -> None:
    change = record.raw_event.get("dynamodb") or {}
    new_image, old_image = change.get("NewImage"), change.get("OldImage")
    if not new_image:
        return
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
