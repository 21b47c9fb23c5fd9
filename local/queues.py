"""A queue poller that behaves like Lambda's SQS event source mapping, for the local stack and tests.

Per SQS event source in template.yaml: batches of up to BatchSize in Lambda's record shape,
ReportBatchItemFailures honoured (the messages that succeeded are deleted, the failed ones stay), the
queue's RedrivePolicy applied by moto (after maxReceiveCount receives a message moves to the
dead-letter queue). One difference: a failed message is visible again after RETRY_SECONDS here, not
after the queue's VisibilityTimeout (minutes), so a retry shows within a test or a demo.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from local import template
from local.pump import Pump
from local.resources import REGION

log = logging.getLogger("local.queues")
RETRY_SECONDS = 1

Invoke = Callable[[str, dict[str, Any]], Any]


class QueuePoller:
    def __init__(
        self,
        sqs: Any,
        spec: template.QueueSubscription,
        queue_url: str,
        invoke: Invoke,
        retry_seconds: int = 0,
    ) -> None:
        self.sqs, self.spec, self.url, self.invoke = sqs, spec, queue_url, invoke
        self.retry_seconds = retry_seconds
        self.arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.delivered = 0

    def poll(self) -> int:
        """One batch: the number of messages handed to the function (0 when the queue was empty)."""
        messages = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=min(self.spec.batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        failed = self._failed(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)]
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
        for message in messages:
            if message["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.retry_seconds,
                )
        self.delivered += len(done)
        return len(messages)

    def drain(self, rounds: int = 1000) -> int:
        """Poll until the queue gives nothing (or `rounds` batches); the messages handed over."""
        handed = 0
        for _ in range(rounds):
            count = self.poll()
            if not count:
                break
            handed += count
        return handed

    def _failed(self, messages: list[dict[str, Any]]) -> set[str]:
        event = {"Records": [self._record(m) for m in messages]}
        try:
            response = self.invoke(self.spec.function, event)
        except Exception:
            log.exception("%s failed a batch of %d", self.spec.function, len(messages))
            return {m["MessageId"] for m in messages}
        if not self.spec.report_batch_item_failures:
            return set()
        return {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """What Lambda hands a function for one message."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": REGION,
        }


def pollers(
    session: Any, queues: dict[str, str], parameters: dict[str, str], invoke: Invoke, retry_seconds: int = 0
) -> list[QueuePoller]:
    """A poller for each SQS event source of template.yaml."""
    sqs = session.client("sqs", region_name=REGION)
    return [
        QueuePoller(sqs, spec, queues[spec.queue], invoke, retry_seconds)
        for spec in template.queue_subscriptions(parameters)
    ]


class QueuePump(Pump):
    """The pollers on a thread of their own, as `make run` runs them."""

    name = "queue-pump"

    def __init__(self, pollers: list[QueuePoller]) -> None:
        self.pollers = pollers
        super().__init__()

    def tick(self) -> bool:
        busy = 0
        for poller in self.pollers:
            try:
                busy += poller.poll()
            except Exception:
                log.exception("queue pump error for %s", poller.spec.function)
        return busy > 0
