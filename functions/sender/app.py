"""SQS: the send queue's letters -> one email each through SES, paced to this sender's share of the
account's SES rate (SES_SEND_RATE / SEND_CONCURRENCY, the event source mapping's MaximumConcurrency).

A letter that cannot be sent now (SES throttled, a lease held elsewhere, too little time left in the
invocation) is reported as a batch item failure: SQS brings it back after the visibility timeout and,
after maxReceiveCount, moves it to the dead-letter queue (`python -m ops.resend`). Its marker stays
QUEUED meanwhile, so no redelivered stream record queues it a second time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.aws import tables
from directormatch.aws.streams import QueueProcessor, batch_handler
from directormatch.errors import RetryLater
from directormatch.mail.delivery import delivery_from_settings
from directormatch.mail.send_queue import Letter, Pacer, undelivered_alert
from directormatch.observability import MetricName, logger, metrics
from directormatch.settings import get_settings

# Time an SES call may take at worst (connect, read, botocore's retries) and the marker's writes.
SEND_MARGIN_MS = 10_000

delivery = delivery_from_settings


# One pacer per execution environment (Lambda runs one invocation at a time in each); the local
# stack and the bench run several environments as threads, hence one per thread.
_environment = threading.local()


def pacer() -> Pacer:
    if not hasattr(_environment, "pacer"):
        settings = get_settings()
        _environment.pacer = Pacer(settings.ses_send_rate / settings.send_concurrency)
    paced: Pacer = _environment.pacer
    return paced


def reset_pacer() -> None:
    """Read the rate again on the next send (tests change SES_SEND_RATE)."""
    _environment.__dict__.pop("pacer", None)


def last_receive(message: dict[str, Any], error: str) -> None:
    """The letter goes to the dead-letter queue next: its request's ops alert, once."""
    if undelivered_alert(message, error, tables.requests(), datetime.now(UTC)):
        metrics.add_metric(name=MetricName.RECORDS_GIVEN_UP, unit="Count", value=1)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    letter = Letter.from_body(record.body)
    logger.set_correlation_id(letter.correlation_id or None)
    if lambda_context.get_remaining_time_in_millis() < SEND_MARGIN_MS:
        raise RetryLater("too little time left in this invocation to send")
    sender = delivery()
    sender.mailer.pace = pacer().wait
    sender.deliver(letter)


lambda_handler = batch_handler(
    QueueProcessor(lambda: get_settings().send_max_receives, last_receive), record_handler
)
