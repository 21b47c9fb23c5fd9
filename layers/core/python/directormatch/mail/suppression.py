"""Addresses we must not email again: hard bounces and complaints, from SES event publishing.

Keys hold a hash of the address, never the address (personal data stays out of keys and logs).
"""

from __future__ import annotations

import hashlib
from typing import Any

SUPPRESSION_PREFIX = "SUPPRESSED#"
SUPPRESSION_SK = "SUPPRESSION"


def address_key(address: str) -> str:
    return SUPPRESSION_PREFIX + hashlib.sha256(address.strip().lower().encode()).hexdigest()


def addresses_to_suppress(event: dict[str, Any]) -> tuple[str, list[str]]:
    """(reason, addresses) from one SES event; soft bounces and other events suppress nothing."""
    kind = event.get("eventType") or event.get("notificationType") or ""
    if kind == "Bounce":
        bounce = event.get("bounce", {})
        if bounce.get("bounceType") != "Permanent":
            return "TRANSIENT_BOUNCE", []
        return "BOUNCE", [
            r["emailAddress"] for r in bounce.get("bouncedRecipients", []) if r.get("emailAddress")
        ]
    if kind == "Complaint":
        complaint = event.get("complaint", {})
        return "COMPLAINT", [
            r["emailAddress"] for r in complaint.get("complainedRecipients", []) if r.get("emailAddress")
        ]
    return kind or "UNKNOWN", []
