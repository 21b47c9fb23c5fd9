"""The offer lifecycle: a director accepts or declines; the first accept wins.

    OPEN --accept (request OFFERED, director has room)--> ACCEPTED, request MATCHED
    OPEN --decline--> DECLINED
    OPEN --another director accepted--> SUPERSEDED
    OPEN --past expires_at (sweep)--> EXPIRED
Every transition is a conditional write on the expected status, so a repeated click, a reply
racing a click, or a redelivered event changes nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial

from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.errors import RetryLater
from directormatch.observability import MetricName, metrics, seconds_since
from directormatch.records import Offer, Request
from directormatch.vocabulary import OfferStatus, RequestStatus

ACCEPT_ATTEMPTS = 3


class Outcome(StrEnum):
    ACCEPTED = "ACCEPTED"  # this call made the match (or the team's part)
    DECLINED = "DECLINED"
    ALREADY_ACCEPTED = "ALREADY_ACCEPTED"  # this director had accepted before: nothing changed
    ALREADY_DECLINED = "ALREADY_DECLINED"
    FILLED = "FILLED"  # another director was matched first
    EXPIRED = "EXPIRED"
    NO_CAPACITY = "NO_CAPACITY"  # the director filled up since the offer
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    offer: Offer | None = None
    request: Request | None = None

    @property
    def changed(self) -> bool:
        return self.outcome in (Outcome.ACCEPTED, Outcome.DECLINED)


def read_state(
    requests: RequestStore, request_id: str, director_id: str
) -> tuple[Offer | None, Request | None]:
    """The offer and its request, the request read first.

    Two reads are no snapshot, but an accept moves the offer and the request in one transaction
    and neither goes back: read in this order, an OPEN offer beside a MATCHED request means another
    director was matched. Read the other way round, an accept landing between the reads looked the
    same, and the director who had just accepted in another tab was told the position was filled.
    """
    request = requests.get_request(request_id)
    return requests.get_offer(request_id, director_id), request


def explain(offer: Offer | None, request: Request | None, now: datetime) -> Outcome | None:
    """Why an offer can no longer be answered, from what is stored; None when it still can."""
    if offer is None or request is None:
        return Outcome.NOT_FOUND
    status = offer.offer_status
    if status == OfferStatus.ACCEPTED:
        return Outcome.ALREADY_ACCEPTED
    if status == OfferStatus.DECLINED:
        return Outcome.ALREADY_DECLINED
    if status == OfferStatus.SUPERSEDED or request.request_status == RequestStatus.MATCHED:
        return Outcome.FILLED
    if status == OfferStatus.EXPIRED or datetime.fromisoformat(offer.expires_at) <= now:
        return Outcome.EXPIRED
    return None


def _answer(
    requests: RequestStore,
    request_id: str,
    director_id: str,
    now: datetime,
    act: Callable[[Offer, Request], Answer],
) -> Answer:
    """What `act` answers while the offer can be answered; else the Answer saying why not."""
    offer, request = read_state(requests, request_id, director_id)
    blocked = explain(offer, request, now)
    if blocked is not None or offer is None or request is None:
        return Answer(blocked or Outcome.NOT_FOUND, offer, request)
    return act(offer, request)


def accept(
    requests: RequestStore,
    directors: DirectorStore,
    request_id: str,
    director_id: str,
    via: str,
    now: datetime | None = None,
) -> Answer:
    now = now or datetime.now(UTC)
    act = partial(_accept, requests, directors, director_id, via, now)
    for attempt in range(1, ACCEPT_ATTEMPTS):
        try:
            return _answer(requests, request_id, director_id, now, act)
        except RetryLater:
            # DynamoDB cancelled the transaction because another answer to this request was in
            # flight (TransactionConflict). Once that lands, reading again says what happened.
            time.sleep(0.05 * attempt)
    return _answer(requests, request_id, director_id, now, act)


def _accept(
    requests: RequestStore,
    directors: DirectorStore,
    director_id: str,
    via: str,
    now: datetime,
    offer: Offer,
    request: Request,
) -> Answer:
    profile = directors.get_profile(director_id)
    if profile is None:
        return Answer(Outcome.NOT_FOUND, offer, request)
    result = requests.accept_offer(request, offer, profile, directors.table, via, now)
    if result == "ok":
        directors.follow_availability(director_id)
        metrics.add_metric(name=MetricName.OFFER_ACCEPTED, unit="Count", value=1)
        metrics.add_metric(
            name=MetricName.TIME_TO_ACCEPTANCE, unit="Seconds", value=seconds_since(request.created_at)
        )
        if offer.team:
            requests.complete_team_if_covered(request.request_id, now)
        else:
            requests.supersede_open_offers(request.request_id, except_director=director_id, now=now)
        return Answer(Outcome.ACCEPTED, offer, request)
    if result == "no_capacity":
        return Answer(Outcome.NO_CAPACITY, offer, request)
    return _after_lost_race(requests, request.request_id, director_id, now, Outcome.FILLED)


def decline(
    requests: RequestStore, request_id: str, director_id: str, via: str, now: datetime | None = None
) -> Answer:
    now = now or datetime.now(UTC)
    return _answer(requests, request_id, director_id, now, partial(_decline, requests, director_id, via, now))


def _decline(
    requests: RequestStore, director_id: str, via: str, now: datetime, offer: Offer, request: Request
) -> Answer:
    if requests.decline_offer(request.request_id, director_id, via, now):
        metrics.add_metric(name=MetricName.OFFER_DECLINED, unit="Count", value=1)
        return Answer(Outcome.DECLINED, offer, request)
    return _after_lost_race(requests, request.request_id, director_id, now, Outcome.ALREADY_DECLINED)


def _after_lost_race(
    requests: RequestStore, request_id: str, director_id: str, now: datetime, otherwise: Outcome
) -> Answer:
    """A write whose condition failed lost to another answer: read again to say what happened."""
    offer, request = read_state(requests, request_id, director_id)
    return Answer(explain(offer, request, now) or otherwise, offer, request)
