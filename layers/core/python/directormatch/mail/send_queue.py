"""The send queue between deciding an email and sending it (SQS, drained by the sender function at
the account's SES rate). A message names the email by its marker and the item it tells about: ids
only, never an address or a name; the sender composes the email from the stored items."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from directormatch import keys
from directormatch.aws import clients

if TYPE_CHECKING:
    from directormatch.aws.requests_table import RequestStore
    from directormatch.records import Alert

SENDER = "SenderFunction"


@dataclass(frozen=True)
class Letter:
    """One email to send: its marker's partition, kind and recipient id, and the sort key of the item
    it tells about when the kind alone does not say (an alert's)."""

    partition: str
    kind: str
    recipient: str
    item: str = ""
    correlation_id: str = ""

    def body(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_body(cls, body: str) -> Letter:
        """The letter a message holds; ValueError for anything else (it then ends in the DLQ)."""
        try:
            data: Any = json.loads(body)
        except json.JSONDecodeError as error:
            raise ValueError("send queue message is not JSON") from error
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not set(data) <= names:
            raise ValueError("send queue message is not a letter")
        if not all(isinstance(value, str) for value in data.values()):
            raise ValueError("send queue message is not a letter")
        if not all(data.get(name) for name in ("partition", "kind", "recipient")):
            raise ValueError("send queue message lacks its marker")
        return cls(**data)


class SendQueue:
    def __init__(self, url: str, client: Any = None) -> None:
        if not url:
            raise ValueError("SEND_QUEUE_URL is not set: this function cannot queue emails")
        self.url = url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or clients.client("sqs")

    def put(self, letter: Letter) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=letter.body())


# Each sender paces to this share of its part of the rate: SES counts sends by its own clock, and
# the moments between the pacer and SES's arrival jitter by milliseconds; without headroom two
# senders' jitter could put one send too many into some second.
HEADROOM = 0.95


class Pacer:
    """Spaces one sender's sends evenly at `rate` a second (less the headroom), across the batches its
    execution environment handles: concurrent senders each get rate / concurrency, so together they
    stay under the account's rate."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / (rate * HEADROOM)
        self.clock, self.sleep = clock, sleep
        self.next_at = 0.0

    def wait(self) -> float:
        """Sleep until this sender may send again; the seconds slept."""
        now = self.clock()
        pause = max(0.0, self.next_at - now)
        if pause:
            self.sleep(pause)
        self.next_at = max(now, self.next_at) + self.interval
        return pause


def undelivered_alert(
    message: Mapping[str, Any], error: str, store: RequestStore, now: datetime
) -> Alert | None:
    """A letter failing its last receive (the queue dead-letters it next) raises its request's
    STREAM_FAILED alert, as a stream record given up on does: ops hear which email of which request,
    and the clinic's status page says a step is delayed. Keyed by the message's id, which the
    dead-letter queue keeps (ops.resend resolves it). None for a letter about no request (a director's
    expiry warning: the dead-letter alarm covers it) and for the email of a stream alert itself,
    which would fail the same way; the alert written, or None when it was already."""
    from directormatch.aws.failure_destination import stream_alert

    try:
        letter = Letter.from_body(str(message.get("body", "")))
    except ValueError:
        return None
    if letter.item.startswith(keys.STREAM_ALERT):
        return None
    request = store.item(letter.partition, keys.REQUEST_SK)
    if request is None:
        return None
    entry = {
        "item_pk": letter.partition,
        "item_sk": keys.EMAIL(letter.kind, letter.recipient),
        "sequence_number": str(message["messageId"]),
        "error": error,
    }
    alert = stream_alert(SENDER, entry, request, now)
    return alert if store.raise_alert(alert) else None
