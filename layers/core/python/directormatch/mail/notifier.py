"""Which email a stream record asks for, and sending it exactly once per (request, kind, recipient)."""

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
    filled_email,
    introduction_email,
    offer_email,
    ops_alert_email,
    quote_email,
    receipt_email,
    team_members,
)
from directormatch.mail.no_match import no_match_story
from directormatch.mail.render import Email, Mailer
from directormatch.mail.suppression import address_key
from directormatch.observability import MetricName, logger, metrics
from directormatch.records import Alert, Offer, Profile, Request
from directormatch.references import reference_of
from directormatch.vocabulary import AlertKind, OfferStatus, RequestStatus


@dataclass(eq=False)
class Notifier:
    """Sends each email a stored item or a transition calls for, once, through the mailer."""

    requests: RequestStore
    directors: DirectorStore
    ledger: EmailLedger
    mailer: Mailer
    lease_seconds: int
    ops_email: str
    public_base_url: str
    inbound_domain: str = ""
    # Of the record being handled; goes into X-Correlation-ID.
    correlation_id: str = field(default="", init=False)

    def on_new_item(self, item: Mapping[str, Any]) -> None:
        """INSERT records: the clinic's receipt, a director's offer, an alert to ops."""
        self.correlation_id = str(item.get("correlation_id") or "")
        sk = item["sk"]
        if sk == keys.REQUEST_SK:
            request = Request.from_item(item)
            self.send_once(request.request_id, "receipt", "clinic", lambda: self._receipt_email(request))
        elif sk.startswith(keys.OFFER):
            offer = Offer.from_item(item)
            self.send_once(offer.request_id, "offer", offer.director_id, lambda: self._offer_email(offer))
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
            build = {OfferStatus.SUPERSEDED: filled_email, OfferStatus.DECLINED: declined_email}.get(
                offer.offer_status
            )
            if build is not None:
                profile = self._profile(offer.director_id)
                kind = offer.offer_status.lower()
                self.send_once(offer.request_id, kind, offer.director_id, lambda: build(offer, profile))

    def _alert(self, alert: Alert) -> None:
        """Ops hear of every alert with the clinic's details and the offers made; a clinic whose
        request nobody could take hears it too, in plain words, at the same moment."""
        request_id = alert.request_id
        # A stream failure is told to ops with ids only: the record that failed may be the request
        # itself, unreadable.
        request = None if alert.alert == AlertKind.STREAM_FAILED else self.requests.get_request(request_id)
        if request is None and alert.alert != AlertKind.STREAM_FAILED:
            raise LookupError(f"alert on request {request_id}, which has no REQUEST item")
        offers = self.requests.offers(request_id) if request else []
        # One email per ALERT item: ops_no_match, ..., ops_stream_failed#<function>#<sequence>.
        kind = f"ops_{alert.sk.removeprefix(keys.ALERT).lower()}"
        self.send_once(
            request_id,
            kind,
            "ops",
            lambda: ops_alert_email(alert, self.ops_email, reference_of(request or alert), request, offers),
        )
        if request is not None and alert.alert == AlertKind.NO_MATCH:
            story = no_match_story(request, alert, offers)
            self.send_once(request_id, "no_match", "clinic", lambda: clinic_no_match_email(request, story))

    def _request_changed(self, old: Mapping[str, Any], request: Request) -> None:
        status = request.request_status
        if status == RequestStatus.MATCHED and old.get("request_status") != RequestStatus.MATCHED:
            self._introduce(request)
        if status == RequestStatus.OFFERED and old.get("request_status") == RequestStatus.NEW:
            self._quote(request)
        if status == RequestStatus.OFFERED and request.current_wave > int(old.get("wave", 1)):
            kind = f"clinic_update_w{request.current_wave}"
            self.send_once(request.request_id, kind, "clinic", lambda: clinic_update_email(request))

    def _introduce(self, request: Request) -> None:
        request_id = request.request_id
        offers = self.requests.offers(request_id)
        accepted = [o for o in offers if o.offer_status == OfferStatus.ACCEPTED]
        if any(o.offer_status == OfferStatus.OPEN for o in offers):
            # The accepting call closes the other offers; if it died before finishing, close them here
            # (conditional on OPEN, so it never races that call) so their directors hear it is filled.
            winner = accepted[0].director_id if accepted else ""
            self.requests.supersede_open_offers(request_id, except_director=winner, now=datetime.now(UTC))
        self.send_once(request_id, "introduction", "all", lambda: self._introduction_email(request, accepted))

    def _introduction_email(self, request: Request, accepted: list[Offer]) -> Email:
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
        if match is None or match.quote is None or match.quote.low is None:
            return
        link = status_link(self.public_base_url, request.request_id, request.created_at)
        members = team_members(request.states, self.requests.offers(request.request_id)) if match.team else []
        self.send_once(
            request.request_id, "quote", "clinic", lambda: quote_email(request, match, link, members)
        )

    def _receipt_email(self, request: Request) -> Email:
        link = status_link(self.public_base_url, request.request_id, request.created_at)
        return receipt_email(request, link)

    def _profile(self, director_id: str) -> Profile:
        director = self.directors.get_profile(director_id)
        if director is None:
            raise LookupError(f"director {director_id} has no profile")
        return director

    def _offer_email(self, offer: Offer) -> Email:
        return offer_email(offer, self._profile(offer.director_id), self.public_base_url, self.inbound_domain)

    def send_once(self, request_id: str, kind: str, recipient_id: str, build: Callable[[], Email]) -> bool:
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
            self.ledger.release_email(request_id, marker)
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
