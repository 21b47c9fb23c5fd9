"""What a director sees when answering an offer from a link, and what anyone holding a link that
fails (offer or clinic status) is told: status code and page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from directormatch.errors import TokenError, TokenExpired
from directormatch.mail.labels import accepting
from directormatch.mail.render import render_page
from directormatch.offers.lifecycle import Answer, Outcome
from directormatch.records import Offer, Profile
from directormatch.references import reference_of
from directormatch.timezones import director_zone, local_time

INTRODUCING = "We are introducing you to the clinic by email now."

RESULT_PAGES: dict[Outcome, tuple[HTTPStatus, str, str]] = {
    Outcome.ACCEPTED: (
        HTTPStatus.OK,
        "You accepted",
        "Thank you. " + INTRODUCING,
    ),
    Outcome.DECLINED: (
        HTTPStatus.OK,
        "You declined",
        "Thank you for letting us know. We will offer it to someone else.",
    ),
    Outcome.ALREADY_ACCEPTED: (HTTPStatus.CONFLICT, "Already accepted", "You accepted this offer earlier."),
    Outcome.ALREADY_DECLINED: (HTTPStatus.CONFLICT, "Already declined", "You declined this offer earlier."),
    Outcome.FILLED: (HTTPStatus.CONFLICT, "Position filled", "Another physician accepted first. Thank you."),
    Outcome.EXPIRED: (HTTPStatus.GONE, "Offer expired", "This offer is no longer open."),
    Outcome.NO_CAPACITY: (
        HTTPStatus.CONFLICT,
        "No room left",
        "Your profile shows no room for another clinic, so we could not accept for you. "
        "Reply to the offer email if that has changed.",
    ),
    Outcome.NOT_FOUND: (HTTPStatus.NOT_FOUND, "Offer not found", "We could not find this offer."),
}


CONFIRM_HEADINGS = {
    "accept": "Accept this directorship?",
    "decline": "Decline this directorship?",
    "decline_pause": "Decline, and pause new offers for 14 days?",
}


@dataclass(frozen=True)
class Page:
    status: HTTPStatus
    html: str


def result_page(answer: Answer, paused: Profile | None = None) -> Page:
    """The answer's page; with `paused`, the profile a "decline and pause" left, its pause told too."""
    status, heading, message = RESULT_PAGES[answer.outcome]
    if answer.outcome == Outcome.ACCEPTED and answer.offer is not None:
        message = accepted(answer.offer)
    if paused is not None and paused.paused:
        message = f"{message} {pause_told(paused, answer.offer)}"
    return Page(status, render_page("page_result", heading=heading, message=message, bad=not answer.changed))


def accepted(offer: Offer) -> str:
    """What a director who accepted is told: the fee they accepted, and when the introduction goes
    (a team member's once every state is covered)."""
    at = accepting(offer.fee_monthly)
    if offer.team:
        return (
            f"Thank you: you accepted to cover {', '.join(offer.covers_states)}{at}. The clinic needs "
            f"{', '.join(offer.summary.states)}; we introduce you to the clinic, with the physicians "
            "covering the other states, by one email once every state is covered."
        )
    if offer.fee_monthly is None:
        return "Thank you: you accepted; your fee is to be agreed with the clinic. " + INTRODUCING
    return f"Thank you: you accepted{at}. {INTRODUCING}"


def pause_told(profile: Profile, offer: Offer | None) -> str:
    """A director's pause in words, its end in their zone."""
    if profile.paused_until is None:
        until = "until you resume them"
    else:
        states = offer.summary.states if offer is not None else profile.licensed_states
        until = f"until {local_time(profile.paused_until, director_zone(profile.licensed_states, states))}"
    return (
        f"New offers are paused {until}; offers you have now stay open. "
        'To resume sooner, use the "Manage my availability" link in our emails.'
    )


class LinkHolder(StrEnum):
    """Who was sent the link that failed: the page tells them what to do with what they have."""

    DIRECTOR = "director"  # offer links, in offer emails
    CLINIC = "clinic"  # status links, in the clinic's receipt email
    MANAGER = "manager"  # a director's manage link, in every email to them


# (expired, not valid) messages per holder; the headings are the same for both.
TOKEN_ERROR_MESSAGES: dict[LinkHolder, tuple[str, str]] = {
    LinkHolder.DIRECTOR: (
        "This link has expired. If you still want the position, reply to the offer email.",
        "This link is not valid. Use the buttons in the offer email, or reply to it.",
    ),
    LinkHolder.MANAGER: (
        "This link has expired. Open the link in our latest email to you: each email brings a new one.",
        'This link is not valid. Open the "Manage my availability" link in one of our emails to you.',
    ),
    LinkHolder.CLINIC: (
        "This status link has expired. To hear where your request stands, reply to the receipt email "
        "we sent you and quote your reference.",
        "This status link is not valid. Open the link in the receipt email we sent you, or reply to "
        "that email and quote your reference.",
    ),
}


def token_error_page(error: TokenError, holder: LinkHolder = LinkHolder.DIRECTOR) -> Page:
    expired, invalid = TOKEN_ERROR_MESSAGES[holder]
    if isinstance(error, TokenExpired):
        return Page(
            HTTPStatus.GONE, render_page("page_result", heading="Link expired", message=expired, bad=True)
        )
    return Page(
        HTTPStatus.FORBIDDEN, render_page("page_result", heading="Link not valid", message=invalid, bad=True)
    )


def confirm_page(
    action: str, offer: Mapping[str, Any], post_url: str, blocked: Outcome | None, zone: str
) -> Page:
    """GET: show the offer and one button; changes nothing (mail scanners open links). Times are
    written in `zone`, the director's (mail.messages.reading_zone)."""
    status = HTTPStatus.OK
    heading = CONFIRM_HEADINGS[action]
    message = None
    if blocked is not None:
        # The heading says what the notice says: "Offer expired" over a question would contradict it.
        status, heading, message = RESULT_PAGES[blocked]
    html = render_page(
        "page_offer",
        action=action,
        heading=heading,
        blocked=message,
        post_url=post_url,
        offer=offer,
        reference=reference_of(offer),
        zone=zone,
    )
    return Page(status, html)
