"""The signed links our emails carry: a clinic's status page, a director's accept and decline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from directormatch import tokens
from directormatch.vocabulary import Action

STATUS_LINK_DAYS = 90


def status_link(base_url: str, request_id: str, created_at: str) -> str:
    """The receipt email's link to the status page, valid for STATUS_LINK_DAYS."""
    expires = datetime.fromisoformat(created_at) + timedelta(days=STATUS_LINK_DAYS)
    token = tokens.issue(tokens.keyring(), Action.STATUS, request_id, "clinic", expires)
    return f"{base_url.rstrip('/')}/quote-requests/{request_id}?token={token}"


def offer_links(offer: Mapping[str, Any], base_url: str) -> dict[str, str]:
    """Signed accept and decline links, valid while the offer is open."""
    expires = datetime.fromisoformat(str(offer["expires_at"]))
    ring = tokens.keyring()
    return {
        f"{action.value}_url": f"{base_url.rstrip('/')}/offers/"
        + tokens.issue(ring, action, offer["request_id"], offer["director_id"], expires)
        for action in (Action.ACCEPT, Action.DECLINE)
    }
