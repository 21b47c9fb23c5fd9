"""Replies to offer emails, as SES receipt notifications (SNS action, raw content included).

Pure functions: which offer a reply is for, whether it is authentic, and what its first line says.
A reply acts only when SPF, DKIM and DMARC all pass and the From address is the offered
director's; its first line decides (ACCEPT/YES or DECLINE/NO, any case), quoted text ignored.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr
from enum import StrEnum
from typing import Any

REPLY_LOCAL_PART = re.compile(r"^offer-([0-9A-Za-z]{26})-(d[0-9a-f]{20})$", re.IGNORECASE)
REQUIRED_VERDICTS = ("spfVerdict", "dkimVerdict", "dmarcVerdict")
QUOTE_HEADER = re.compile(r"^(on .+ wrote:|-----\s*original message\s*-----|from:\s)", re.IGNORECASE)


class Intent(StrEnum):
    ACCEPT = "ACCEPT"
    DECLINE = "DECLINE"
    UNCLEAR = "UNCLEAR"


WORDS = {"ACCEPT": Intent.ACCEPT, "YES": Intent.ACCEPT, "DECLINE": Intent.DECLINE, "NO": Intent.DECLINE}


@dataclass(frozen=True)
class Reply:
    request_id: str
    director_id: str
    sender: str
    authentic: bool
    failed_checks: tuple[str, ...]
    intent: Intent
    message_id: str


def reply_address(request_id: str, director_id: str, domain: str) -> str:
    return f"offer-{request_id}-{director_id}@{domain}"


def offer_of(recipients: list[str], domain: str) -> tuple[str, str] | None:
    """(request_id, director_id) from the first recipient on our inbound domain that names an offer."""
    for recipient in recipients:
        local, _, host = parseaddr(recipient)[1].partition("@")
        match = REPLY_LOCAL_PART.match(local)
        if match and host.lower() == domain.lower():
            # Mail systems may change the case of the local part; ids have one canonical case.
            return match.group(1).upper(), "D" + match.group(2)[1:].lower()
    return None


def failed_verdicts(receipt: dict[str, Any]) -> tuple[str, ...]:
    failed = [name for name in REQUIRED_VERDICTS if receipt.get(name, {}).get("status") != "PASS"]
    failed += [
        name for name in ("spamVerdict", "virusVerdict") if receipt.get(name, {}).get("status") == "FAIL"
    ]
    return tuple(failed)


def first_line_intent(body: str) -> Intent:
    """The first non-empty line the director wrote (quoted text and signatures never count)."""
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">") or QUOTE_HEADER.match(line):
            return Intent.UNCLEAR
        word = re.sub(r"[^A-Za-z]", " ", line).split()
        return WORDS.get(word[0].upper(), Intent.UNCLEAR) if word else Intent.UNCLEAR
    return Intent.UNCLEAR


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", "\n", content)
    return str(content)


def parse_notification(notification: dict[str, Any], domain: str) -> Reply | None:
    """A Reply from an SES 'Received' notification, or None when it is not a reply to an offer."""
    if notification.get("notificationType") != "Received":
        return None
    mail, receipt = notification.get("mail", {}), notification.get("receipt", {})
    offer = offer_of(list(receipt.get("recipients") or mail.get("destination") or []), domain)
    if offer is None:
        return None
    message = email.message_from_string(notification.get("content", ""), policy=policy.default)
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default always gives one
        return None
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    failed = failed_verdicts(receipt)
    return Reply(
        request_id=offer[0],
        director_id=offer[1],
        sender=sender,
        authentic=not failed,
        failed_checks=failed,
        intent=first_line_intent(text_of(message)),
        message_id=str(mail.get("messageId", "")),
    )
