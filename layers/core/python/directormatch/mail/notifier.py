"""Which email a stream record asks for (queued once), and sending it exactly once per (request, kind,
recipient)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from directormatch import keys
from directormatch.aws import tables
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.email_ledger import EmailLedger
from directormatch.aws.requests_table import RequestStore
from directormatch.links import status_link
from directormatch.mail.introduction import IntroducedDirector, Introduction

# The builders still annotate their items as dicts; they get records, which read the same way
# (directormatch.records.Record is a Mapping), hence the arg-type ignores at their calls.
from directormatch.mail.messages import (
    clinic_no_match_email,
    clinic_update_email,
    declined_email,
    expiry_email,
    filled_email,
    introduction_email,
    offer_email,
    ops_alert_email,
    ops_expiry_email,
    quote_email,
    receipt_email,
    team_members,
)
from directormatch.mail.no_match import no_match_story
from directormatch.mail.render import Email, Mailer
from directormatch.mail.send_queue import Letter, SendQueue
from directormatch.mail.suppression import address_key
from directormatch.observability import MetricName, logger, metrics
from directormatch.records import Alert, Offer, Profile, Request
from directormatch.references import reference_of
from directormatch.vocabulary import AlertKind, OfferStatus, RequestStatus


@dataclass(eq=False)
class Notifier:
    """Decides each email a stored item or a transition calls for and queues it once (a Letter);
    the sender function composes it from the stored items and sends it once, through the mailer."""

    requests: RequestStore
    directors: DirectorStore
    ledger: EmailLedger
    mailer: Mailer
    lease_seconds: int
    ops_email: str
    public_base_url: str
    inbound_domain: str = ""
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

    def deliver(self, letter: Letter) -> bool:
        """The sender's part: compose the queued email from the items as stored now, send it once."""
        self.correlation_id = letter.correlation_id
        return self.send_once(
            letter.partition, letter.kind, letter.recipient, lambda: self.compose(letter), queued=True
        )

    def compose(self, letter: Letter) -> Email:
        kind = letter.kind
        if kind.startswith(CLINIC_UPDATE):
            # The wave the letter was queued for, though the request may have moved on since.
            request = self._request(letter.partition)
            return clinic_update_email({**request, "wave": int(kind.removeprefix(CLINIC_UPDATE))})
        if kind in (EXPIRY_WARNING_KIND, OPS_EXPIRY_WARNING_KIND):
            return self._expiry_email(letter)
        if kind.startswith("ops_") or kind == "no_match":
            return self._alert_email(letter)
        return COMPOSERS[kind](self, letter)

    def _alert_email(self, letter: Letter) -> Email:
        item = self.requests.item(letter.partition, letter.item)
        if item is None:
            raise LookupError(f"alert {letter.item} on request {letter.partition} is not stored")
        alert = Alert.from_item(item)
        # A stream failure is told to ops with ids only: the record that failed may be the request
        # itself, unreadable.
        request = None if alert.alert == AlertKind.STREAM_FAILED else self._request(alert.request_id)
        offers = self.requests.offers(alert.request_id) if request else []
        if letter.kind == "no_match" and request is not None:
            return clinic_no_match_email(request, no_match_story(request, alert, offers))
        return ops_alert_email(alert, self.ops_email, reference_of(request or alert), request, offers)

    def _expiry_email(self, letter: Letter) -> Email:
        director_id = letter.partition.removeprefix(keys.DIRECTOR)
        registration, expires_on = letter.recipient.rsplit("#", 1)
        if letter.kind == OPS_EXPIRY_WARNING_KIND:
            return ops_expiry_email(self.ops_email, director_id, registration, expires_on)
        return expiry_email(self._profile(director_id), registration, expires_on)

    def _introduction_email(self, letter: Letter) -> Email:
        request = self._request(letter.partition)
        offers = self.requests.offers(request.request_id)
        accepted = [o for o in offers if o.offer_status == OfferStatus.ACCEPTED]
        introduction = Introduction([self._introduced(request, offer) for offer in accepted])
        return introduction_email(request, introduction)

    def _introduced(self, request: Request, offer: Offer) -> IntroducedDirector:
        states = offer.covers_states or request.states
        return IntroducedDirector(
            profile=self._profile(offer.director_id),
            states=states,
            fee_monthly=offer.fee_monthly,
            license_numbers=self.directors.license_numbers(offer.director_id, states),
        )

    def _quote(self, request: Request) -> None:
        """The clinic's quote, once the first wave is out; none when no offered director is priced."""
        match = self.requests.get_match(request.request_id)
        if match is not None and match.quote is not None and match.quote.low is not None:
            self.post(request.request_id, "quote", "clinic")

    def _quote_email(self, letter: Letter) -> Email:
        request = self._request(letter.partition)
        match = self.requests.get_match(request.request_id)
        if match is None or match.quote is None:
            raise LookupError(f"request {request.request_id} has no quote")
        link = status_link(self.public_base_url, request.request_id, request.created_at)
        members = team_members(request.states, self.requests.offers(request.request_id)) if match.team else []
        return quote_email(request, match, link, members)

    def _receipt_email(self, letter: Letter) -> Email:
        request = self._request(letter.partition)
        link = status_link(self.public_base_url, request.request_id, request.created_at)
        return receipt_email(request, link)

    def _offer_email(self, letter: Letter) -> Email:
        offer = self._offer(letter)
        return offer_email(offer, self._profile(offer.director_id), self.public_base_url, self.inbound_domain)

    def _closed_offer_email(self, letter: Letter) -> Email:
        offer = self._offer(letter)
        build = filled_email if letter.kind == "superseded" else declined_email
        return build(offer, self._profile(offer.director_id))

    def _request(self, request_id: str) -> Request:
        request = self.requests.get_request(request_id)
        if request is None:
            raise LookupError(f"request {request_id} has no REQUEST item")
        return request

    def _offer(self, letter: Letter) -> Offer:
        offer = self.requests.get_offer(letter.partition, letter.recipient)
        if offer is None:
            raise LookupError(f"request {letter.partition} has no offer to {letter.recipient}")
        return offer

    def _profile(self, director_id: str) -> Profile:
        director = self.directors.get_profile(director_id)
        if director is None:
            raise LookupError(f"director {director_id} has no profile")
        return director

    def send_once(
        self, request_id: str, kind: str, recipient_id: str, build: Callable[[], Email], queued: bool = False
    ) -> bool:
        """Claim the email's marker, send it, record it sent. `queued`: the send queue brings the
        message back after a failure, so the claim goes back to QUEUED rather than away."""
        marker = keys.EMAIL(kind, recipient_id)
        if not self.ledger.claim_email(request_id, marker, int(time.time()), self.lease_seconds):
            logger.info("email already sent", extra={"request_id": request_id, "kind": kind})
            metrics.add_metric(name=MetricName.DUPLICATE_SKIPPED, unit="Count", value=1)
            return False
        try:
            email = self._deliverable(request_id, kind, build())
            if email is None:
                self.ledger.mark_email_suppressed(request_id, marker, int(time.time()))
                return False
            message_id = self.mailer.send(replace(email, correlation_id=self.correlation_id))
        except Exception:
            self.ledger.release_email(request_id, marker, queued=queued)
            raise
        self.ledger.mark_email_sent(request_id, marker, message_id, int(time.time()))
        metrics.add_metric(name=MetricName.EMAIL_SENT, unit="Count", value=1)
        logger.info(
            "email sent", extra={"request_id": request_id, "kind": kind, "recipient_id": recipient_id}
        )
        return True

    def _deliverable(self, request_id: str, kind: str, email: Email) -> Email | None:
        """The email without its suppressed addresses (a bounce or complaint of one recipient never
        costs the others theirs); None when every address is suppressed."""
        kept = tuple(address for address in email.to if not self.ledger.is_suppressed(address_key(address)))
        dropped = len(email.to) - len(kept)
        if dropped:
            metrics.add_metric(name=MetricName.EMAIL_SUPPRESSED, unit="Count", value=dropped)
            logger.warning(
                "address suppressed: not sent to it",
                extra={"request_id": request_id, "kind": kind, "suppressed": dropped, "kept": len(kept)},
            )
        return replace(email, to=kept) if kept else None


def notifier_from_settings() -> Notifier:
    """The Notifier every function builds from its environment."""
    from directormatch.settings import get_settings

    settings = get_settings()
    return Notifier(
        tables.requests(),
        tables.directors(),
        tables.email_ledger(),
        Mailer(settings.sender_email, settings.ses_configuration_set),
        lease_seconds=settings.email_lease_seconds,
        ops_email=settings.ops_email,
        public_base_url=settings.public_base_url,
        inbound_domain=settings.inbound_domain,
    )


CLINIC_UPDATE = "clinic_update_w"  # + the wave
EXPIRY_WARNING_KIND = "expiry_warning"
OPS_EXPIRY_WARNING_KIND = "ops_expiry_warning"

# How the sender composes each kind the Notifier queues (besides those compose() reads itself).
COMPOSERS: dict[str, Callable[[Notifier, Letter], Email]] = {
    "receipt": Notifier._receipt_email,
    "offer": Notifier._offer_email,
    "superseded": Notifier._closed_offer_email,
    "declined": Notifier._closed_offer_email,
    "introduction": Notifier._introduction_email,
    "quote": Notifier._quote_email,
}
