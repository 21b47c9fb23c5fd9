"""The signed links our emails carry: a clinic's status page, a director's answers to an offer and
their "manage my availability" page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from directormatch import tokens
from directormatch.vocabulary import Action

if TYPE_CHECKING:
    from directormatch.records import Offer

STATUS_LINK_DAYS = 90
MANAGE_LINK_DAYS = 30


def status_link(base_url: str, request_id: str, created_at: str) -> str:
    """The receipt email's link to the status page, valid for STATUS_LINK_DAYS."""
    expires = datetime.fromisoformat(created_at) + timedelta(days=STATUS_LINK_DAYS)
    token = tokens.issue(tokens.keyring(), Action.STATUS, request_id, "clinic", expires)
    return f"{base_url.rstrip('/')}/quote-requests/{request_id}?token={token}"


def offer_links(offer: Offer, base_url: str) -> dict[str, str]:
    """Signed accept, decline and "decline and pause" links, valid while the offer is open."""
    expires = datetime.fromisoformat(offer.expires_at)
    ring = tokens.keyring()
    return {
        f"{action.value}_url": f"{base_url.rstrip('/')}/offers/"
        + tokens.issue(ring, action, offer.request_id, offer.director_id, expires)
        for action in (Action.ACCEPT, Action.DECLINE, Action.DECLINE_PAUSE)
    }


def manage_link(base_url: str, director_id: str, source: str, issued_at: datetime) -> str:
    """A director's link to their manage page, valid for MANAGE_LINK_DAYS from the email carrying it.
    `source` names that email (its request id, or the kind of notice): the audit says which link acted."""
    expires = issued_at + timedelta(days=MANAGE_LINK_DAYS)
    token = tokens.issue(tokens.keyring(), Action.MANAGE, source, director_id, expires)
    return f"{base_url.rstrip('/')}/manage/{token}"
