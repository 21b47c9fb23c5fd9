"""Composing a queued email from the items as stored when it is sent, and sending each email exactly
once per (request, kind, recipient): the sender function's part, and the inline sends of replies,
applications and ops decisions."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from directormatch import keys
from directormatch.aws import tables
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.email_ledger import EmailLedger
from directormatch.aws.requests_table import RequestStore
from directormatch.links import status_link
from directormatch.mail.introduction import IntroducedDirector, Introduction
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
from directormatch.mail.notifier import CLINIC_UPDATE, EXPIRY_WARNING_KIND, OPS_EXPIRY_WARNING_KIND
from directormatch.mail.render import Email, Mailer
from directormatch.mail.send_queue import Letter
from directormatch.mail.suppression import address_key
from directormatch.observability import MetricName, logger, metrics
from directormatch.records import Alert, Offer, Profile, Request
from directormatch.references import reference_of
from directormatch.vocabulary import AlertKind, OfferStatus


@dataclass(eq=False)
class Delivery:
    """Composes each queued email from the stored items and sends every email once, through the
    mailer, skipping suppressed addresses."""

    requests: RequestStore
    directors: DirectorStore
    ledger: EmailLedger
    mailer: Mailer
    lease_seconds: int
    ops_email: str
    public_base_url: str
    inbound_domain: str = ""
    # Of the letter or record being handled; goes into X-Correlation-ID.
    correlation_id: str = field(default="", init=False)

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
            return clinic_update_email(replace(request, wave=int(kind.removeprefix(CLINIC_UPDATE))))
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


def delivery_from_settings() -> Delivery:
    """The Delivery of the functions that send: the sender, and the replies, applications and
    decisions people wait on (sent inline, a handful at a time)."""
    from directormatch.settings import get_settings

    settings = get_settings()
    return Delivery(
        tables.requests(),
        tables.directors(),
        tables.email_ledger(),
        Mailer(settings.sender_email, settings.ses_configuration_set),
        lease_seconds=settings.email_lease_seconds,
        ops_email=settings.ops_email,
        public_base_url=settings.public_base_url,
        inbound_domain=settings.inbound_domain,
    )


# How the sender composes each kind the Delivery queues (besides those compose() reads itself).
COMPOSERS: dict[str, Callable[[Delivery, Letter], Email]] = {
    "receipt": Delivery._receipt_email,
    "offer": Delivery._offer_email,
    "superseded": Delivery._closed_offer_email,
    "declined": Delivery._closed_offer_email,
    "introduction": Delivery._introduction_email,
    "quote": Delivery._quote_email,
}
