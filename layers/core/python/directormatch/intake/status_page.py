"""The clinic's status page: where its request stands, from the items in its partition, behind
the signed link of the receipt email."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from directormatch import keys, tokens
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.errors import TokenInvalid
from directormatch.mail.labels import modality_label, quote_range
from directormatch.mail.messages import team_members
from directormatch.mail.no_match import NoMatchStory, no_match_story
from directormatch.mail.render import render_page
from directormatch.offers.pages import Page
from directormatch.records import Alert, Match, Offer, Profile, Request
from directormatch.references import reference_of
from directormatch.timezones import clinic_zone
from directormatch.vocabulary import Action, AlertKind, OfferStatus, RequestStatus

HEADLINES = {
    RequestStatus.NEW: (
        "Received",
        "We are finding physicians licensed in your state(s) who fit your services.",
        False,
    ),
    RequestStatus.OFFERED: (
        "Offered to physicians",
        "We have asked matching physicians; the first to accept is introduced.",
        False,
    ),
    RequestStatus.MATCHED: (
        "Matched",
        "Your medical director has accepted and has your contact details.",
        False,
    ),
    RequestStatus.NO_MATCH: (
        "Needs our team",
        "We have not found a physician who can take your request yet; our team is searching by hand.",
        True,
    ),
}
# A team is introduced once every state is covered, not on the first acceptance.
TEAM_OFFERED = (
    "We have asked physicians who cover your states between them; they are introduced to you together"
    " once every state is covered."
)

DELAYED = (
    "Part of your request is delayed on our side. Our team has been alerted and is on it; you do not"
    " need to do anything or send your request again."
)


@dataclass(frozen=True)
class Partition:
    """The items of a request's partition the page reads, as their records."""

    request: Request
    match: Match | None
    offers: list[Offer]
    alerts: list[Alert]

    @classmethod
    def of(cls, items: Sequence[Mapping[str, Any]]) -> Partition | None:
        """None when the partition holds no REQUEST item."""
        request = next((i for i in items if i["sk"] == keys.REQUEST_SK), None)
        if request is None:
            return None
        match = next((i for i in items if i["sk"] == keys.MATCH_SK), None)
        return cls(
            Request.from_item(request),
            Match.from_item(match) if match else None,
            [Offer.from_item(i) for i in items if i["sk"].startswith(keys.OFFER)],
            [Alert.from_item(i) for i in items if i["sk"].startswith(keys.ALERT)],
        )


def delayed(partition: Partition) -> bool:
    """Whether a step of the request failed every retry (a STREAM_FAILED alert) and is still held
    up: not put through by a replay since, and the request not moved on from the status it had."""
    return any(
        alert.sk.startswith(keys.STREAM_ALERT)
        and not alert.resolved_at
        and alert.status_at_failure == partition.request.request_status
        for alert in partition.alerts
    )


def timeline(partition: Partition) -> list[tuple[str, str]]:
    """Dated events a clinic may see: no director is named before one accepts."""
    request, offers = partition.request, partition.offers
    events = [(request.created_at, "Request received")]
    if request.matched_at:
        events.append((request.matched_at, "A physician accepted: you are matched"))
    for wave in sorted({o.wave for o in offers}):
        in_wave = [o for o in offers if o.wave == wave]
        first = min(o.created_at for o in in_wave)
        events.append(
            (first, f"Offered to {len(in_wave)} physician{'s' if len(in_wave) != 1 else ''} (round {wave})")
        )
    return sorted(events)


def page_context(partition: Partition, accepted: Sequence[tuple[Profile, Sequence[str]]]) -> dict[str, Any]:
    """What the page shows; `accepted` gives each director who accepted (their profile, the states they
    cover, none but for a team's member)."""
    request, match = partition.request, partition.match
    quote = match.quote if match else None
    offered_team = bool(match and match.team) and request.request_status == RequestStatus.OFFERED
    headline, explanation, bad = HEADLINES.get(request.request_status, HEADLINES[RequestStatus.NEW])
    story = story_of(partition)
    return {
        "headline": headline,
        "explanation": TEAM_OFFERED if offered_team else explanation,
        "bad": bad,
        "clinic_name": request.clinic.name,
        "request_id": request.request_id,
        "reference": reference_of(request),
        "zone": clinic_zone(request.states),
        "states": request.states,
        "modalities": [modality_label(m) for m in request.modalities],
        "start_by": request.start_by,
        "directors": [(f"Dr. {p.first_name} {p.last_name}", p.email, s) for p, s in accepted],
        "quote": quote_range(quote),
        "team": bool(match and match.team),
        # The team now asked, as the quote email lists the first: who would cover which state, and for what.
        "members": team_members(request.states, partition.offers, request.current_wave)
        if offered_team
        else [],
        # What the clinic's no-match email said, when there is one (a later wave may have found
        # the rest over budget); else the first match's figure.
        "lowest_available": story.lowest_available if story else (quote.lowest_available if quote else None),
        "timeline": timeline(partition),
        "delayed": DELAYED if delayed(partition) else "",
        "story": story,
    }


def story_of(partition: Partition) -> NoMatchStory | None:
    """What the clinic's no-match email says, once its request has ended NO_MATCH."""
    alert = next((a for a in partition.alerts if a.sk == keys.ALERT(AlertKind.NO_MATCH)), None)
    if partition.request.request_status != RequestStatus.NO_MATCH or alert is None:
        return None
    return no_match_story(partition.request, alert, partition.offers)


def check_link(token: str, request_id: str) -> None:
    """Raises TokenError unless `token` is the status link of `request_id`."""
    claims = tokens.verify(tokens.keyring(), token)
    if claims.action != Action.STATUS or claims.request_id != request_id:
        raise TokenInvalid("link is for another request")


def status_page(request_id: str, requests: RequestStore, directors: DirectorStore) -> Page:
    """The page, naming the directors who accepted once the request is matched."""
    partition = Partition.of(requests.partition(request_id))
    if partition is None:
        html = render_page(
            "page_result", heading="Not found", message="We could not find this request.", bad=True
        )
        return Page(HTTPStatus.NOT_FOUND, html)
    matched = partition.request.request_status == RequestStatus.MATCHED
    accepted = [o for o in partition.offers if o.offer_status == OfferStatus.ACCEPTED] if matched else []
    named = [
        (profile, offer.covers_states if offer.team else [])
        for offer in accepted
        if (profile := directors.get_profile(offer.director_id))
    ]
    return Page(HTTPStatus.OK, render_page("page_status", **page_context(partition, named)))
