"""Which email a stream record asks for, queued once (a Letter on the send queue); the sender
function composes and sends it (mail.delivery)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from directormatch import keys
from directormatch.aws import tables
from directormatch.aws.email_ledger import EmailLedger
from directormatch.aws.requests_table import RequestStore
from directormatch.mail.send_queue import Letter, SendQueue
from directormatch.observability import MetricName, logger, metrics
from directormatch.records import Alert, Offer, Request
from directormatch.vocabulary import AlertKind, OfferStatus, RequestStatus

CLINIC_UPDATE = "clinic_update_w"  # + the wave
EXPIRY_WARNING_KIND = "expiry_warning"
OPS_EXPIRY_WARNING_KIND = "ops_expiry_warning"


@dataclass(eq=False)
class Notifier:
    """Decides each email a stored item or a transition calls for and queues it once (a Letter);
    the sender function composes it from the stored items and sends it once (mail.delivery)."""

    requests: RequestStore
    ledger: EmailLedger
    queue: SendQueue | None = None
    # Of the record being handled; goes into X-Correlation-ID.
    correlation_id: str = field(default="", init=False)

    def on_new_item(self, item: Mapping[str, Any]) -> None:
        """INSERT records: the clinic's receipt, a director's offer, an alert to ops."""
        self.correlation_id = str(item.get("correlation_id") or "")
        sk = item["sk"]
        if sk == keys.REQUEST_SK:
            # Decoded though only its id is queued: a record no request could be fails here, where
            # the stream's failure handling and replay see it.
            self.post(Request.from_item(item).request_id, "receipt", "clinic")
        elif sk.startswith(keys.OFFER):
            offer = Offer.from_item(item)
            self.post(offer.request_id, "offer", offer.director_id)
        elif sk.startswith(keys.ALERT):
            self._alert(Alert.from_item(item))

    def on_change(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """MODIFY records: the transitions that someone must hear about. `old` may hold only the
        statuses and wave (a replay from the stream-failure ledger)."""
        self.correlation_id = str(new.get("correlation_id") or "")
        sk = new["sk"]
        if sk == keys.REQUEST_SK:
            self._request_changed(old, Request.from_item(new))
        elif sk.startswith(keys.OFFER) and old.get("offer_status") == OfferStatus.OPEN:
            offer = Offer.from_item(new)
            if offer.offer_status in (OfferStatus.SUPERSEDED, OfferStatus.DECLINED):
                self.post(offer.request_id, offer.offer_status.lower(), offer.director_id)

    def _alert(self, alert: Alert) -> None:
        """Ops hear of every alert with the clinic's details and the offers made; a clinic whose
        request nobody could take hears it too, in plain words, at the same moment."""
        # One email per ALERT item: ops_no_match, ..., ops_stream_failed#<function>#<sequence>.
        kind = f"ops_{alert.sk.removeprefix(keys.ALERT).lower()}"
        self.post(alert.request_id, kind, "ops", item=alert.sk)
        if alert.alert == AlertKind.NO_MATCH:
            self.post(alert.request_id, "no_match", "clinic", item=alert.sk)

    def _request_changed(self, old: Mapping[str, Any], request: Request) -> None:
        status = request.request_status
        if status == RequestStatus.MATCHED and old.get("request_status") != RequestStatus.MATCHED:
            self._introduce(request)
        if status == RequestStatus.OFFERED and old.get("request_status") == RequestStatus.NEW:
            self._quote(request)
        if status == RequestStatus.OFFERED and request.current_wave > int(old.get("wave", 1)):
            self.post(request.request_id, f"{CLINIC_UPDATE}{request.current_wave}", "clinic")

    def _introduce(self, request: Request) -> None:
        request_id = request.request_id
        offers = self.requests.offers(request_id)
        if any(o.offer_status == OfferStatus.OPEN for o in offers):
            # The accepting call closes the other offers; if it died before finishing, close them here
            # (conditional on OPEN, so it never races that call) so their directors hear it is filled.
            accepted = [o for o in offers if o.offer_status == OfferStatus.ACCEPTED]
            winner = accepted[0].director_id if accepted else ""
            self.requests.supersede_open_offers(request_id, except_director=winner, now=datetime.now(UTC))
        self.post(request_id, "introduction", "all")

    def post(self, partition: str, kind: str, recipient: str, item: str = "") -> bool:
        """Queue the email once: a redelivered record finds its marker and queues nothing. The message
        goes first and the QUEUED marker after it, so a marker never stands for a message that is not
        there; a crash between the two queues it again on the redelivery, and the sender's claim on
        the marker still sends it once."""
        marker = keys.EMAIL(kind, recipient)
        if self.ledger.email_decided(partition, marker):
            logger.info("email already queued", extra={"request_id": partition, "kind": kind})
            metrics.add_metric(name=MetricName.DUPLICATE_SKIPPED, unit="Count", value=1)
            return False
        self.send_queue.put(Letter(partition, kind, recipient, item, self.correlation_id))
        self.ledger.mark_email_queued(partition, marker, int(time.time()))
        metrics.add_metric(name=MetricName.EMAIL_QUEUED, unit="Count", value=1)
        return True

    @property
    def send_queue(self) -> SendQueue:
        if self.queue is None:
            from directormatch.settings import get_settings

            self.queue = SendQueue(get_settings().send_queue_url)
        return self.queue

    def _quote(self, request: Request) -> None:
        """The clinic's quote, once the first wave is out; none when no offered director is priced."""
        match = self.requests.get_match(request.request_id)
        if match is not None and match.quote is not None and match.quote.low is not None:
            self.post(request.request_id, "quote", "clinic")


def notifier_from_settings() -> Notifier:
    """The Notifier of the functions that decide emails (notify, the sweep's expiry warnings)."""
    return Notifier(tables.requests(), tables.email_ledger())
