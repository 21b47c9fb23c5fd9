"""The SNS topics of template.yaml for the local stack: a message published to a topic reaches each
subscriber the template declares, as SNS delivers it. An SQS subscription gets the message itself
(RawMessageDelivery); a function gets its SNS event as an asynchronous invocation: tried three
times (Lambda's two retries), then sent to its DeadLetterQueue."""

from __future__ import annotations

import json
import logging
from typing import Any

from local import template
from local.inbound import sns_event
from local.lambdas import Functions

log = logging.getLogger("local.topics")
ASYNC_ATTEMPTS = 3


class Topics:
    def __init__(self, sqs: Any, queues: dict[str, str], functions: Functions) -> None:
        self.sqs = sqs
        self.queues = queues
        self.functions = functions

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        for queue, raw in template.topic_queues(topic):
            if not raw:
                raise NotImplementedError(f"{topic} -> {queue}: only raw message delivery is simulated")
            self.sqs.send_message(QueueUrl=self.queues[queue], MessageBody=json.dumps(message))
        for function, subscribed in template.sns_subscribers():
            if subscribed == topic:
                self._invoke(function, sns_event(message, topic, subject=None))

    def _invoke(self, function: str, event: dict[str, Any]) -> None:
        for attempt in range(1, ASYNC_ATTEMPTS + 1):
            try:
                self.functions.invoke(function, event)
                return
            except Exception:
                log.exception("%s failed an SNS event (attempt %d)", function, attempt)
        queue = template.dead_letter_queue(function)
        if queue:
            self.sqs.send_message(QueueUrl=self.queues[queue], MessageBody=json.dumps(event))
