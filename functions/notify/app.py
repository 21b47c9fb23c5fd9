"""Stream consumer: every email a new item or a status change calls for (see Notifier)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from directormatch.aws.attributes import from_attributes
from directormatch.aws.streams import stream_handler
from directormatch.mail.notifier import notifier_from_settings
from directormatch.observability import logger

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


lambda_handler = stream_handler("notify", record_handler)
