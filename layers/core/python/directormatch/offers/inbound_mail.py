"""Replies to offer emails, as SES receipt notifications (SNS action, raw content included).

Pure functions: which offer a reply is for, whether its sender is authentic and unambiguous, and what
its first line says. A reply can act only when all of these hold:

- SES's SPF, DKIM and DMARC verdicts are PASS, and neither spam nor virus scanning says FAIL;
- the message has exactly one From header, holding exactly one mailbox, parsed strictly by
  `email.headerregistry` (any defect refuses it): no comment, an ASCII dot-atom local part, a host
  name for domain, a display name with no "@" (nor a look-alike of one);
- SES read the same single mailbox (`mail.commonHeaders.from`);
- SES's own Authentication-Results header says `dmarc=pass` for exactly that address's domain
  (`header.from`): a DMARC pass for some other domain SES parsed out of the header proves nothing;
- a Sender header, if there is one, names that same address.

Whether the address is the offered director's is for `replies.handle_reply`, which reads the roster.
The first line decides (see `first_line_intent`), quoted text ignored.
"""

from __future__ import annotations

import base64
import binascii
import email
import re
import unicodedata
from dataclasses import dataclass
from email import errors, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from enum import StrEnum
from typing import Any

from directormatch.offers.reply_to import REPLY_LOCAL_PART

REQUIRED_VERDICTS = ("spfVerdict", "dkimVerdict", "dmarcVerdict")
DMARC_ALIGNMENT = "dmarcAlignment"
QUOTE_HEADER = re.compile(r"^(on .+ wrote:|-----\s*original message\s*-----|from:\s)", re.IGNORECASE)

# SES adds its Authentication-Results above the message's own headers; any lower down came with the
# message and may be forged (RFC 8601 section 5), so only the topmost one is read.
SES_AUTHSERV_ID = "amazonses.com"
DMARC_RESULT = re.compile(r"\bdmarc=([a-z]+)\b[^;]*?\bheader\.from=([^\s;]+)", re.IGNORECASE)
FOLD = re.compile(r"\r?\n(?=[ \t])")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
QUOTED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"(?=.{{1,253}}$)(?:{LABEL}\.)+{LABEL}")
# Defects of the header block itself: a line that is no header, a continuation first, a "From " line.
HEADER_BLOCK_DEFECTS = (
    errors.MissingHeaderBodySeparatorDefect,
    errors.FirstHeaderLineIsContinuationDefect,
    errors.MisplacedEnvelopeHeaderDefect,
)


class Intent(StrEnum):
    ACCEPT = "ACCEPT"
    DECLINE = "DECLINE"
    PAUSE = "PAUSE"  # decline, and pause new offers for 14 days
    UNCLEAR = "UNCLEAR"


# The whole first line, lower-cased with every run of punctuation and spaces made one space: these
# and nothing else decide ("No problem, I accept" is UNCLEAR). The README lists the same phrases.
PHRASES = {
    "accept": Intent.ACCEPT,
    "yes": Intent.ACCEPT,
    "i accept": Intent.ACCEPT,
    "yes i accept": Intent.ACCEPT,
    "yes please": Intent.ACCEPT,
    "decline": Intent.DECLINE,
    "no": Intent.DECLINE,
    "i decline": Intent.DECLINE,
    "no i decline": Intent.DECLINE,
    "no thank you": Intent.DECLINE,
    "no thanks": Intent.DECLINE,
    "pause": Intent.PAUSE,
    "decline and pause": Intent.PAUSE,
}
NOT_A_WORD = re.compile(r"[\W_]+")


class Refusal(StrEnum):
    """Why a reply's sender cannot be read as one plain mailbox (reason codes, safe to log)."""

    HEADER_BLOCK_MALFORMED = "header_block_malformed"
    FROM_MISSING = "from_missing"
    FROM_REPEATED = "from_repeated"
    FROM_MALFORMED = "from_malformed"
    FROM_COMMENT = "from_comment"
    FROM_NOT_ONE_MAILBOX = "from_not_one_mailbox"
    DISPLAY_NAME_ADDRESS = "display_name_address"
    ADDRESS_FORM = "address_form"
    SENDER_MISMATCH = "sender_mismatch"
    SES_FROM_MISMATCH = "ses_from_mismatch"


@dataclass(frozen=True)
class Reply:
    request_id: str
    director_id: str
    # The one From address, lower-cased; "" when the From header was refused.
    sender: str
    # Verdicts that did not pass, and dmarcAlignment when DMARC did not pass for the sender's domain.
    failed_checks: tuple[str, ...]
    refusal: Refusal | None
    intent: Intent
    message_id: str

    @property
    def authentic(self) -> bool:
        return not self.failed_checks


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
    """What the first non-empty line the director wrote says (quoted text and signatures never count)."""
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">") or QUOTE_HEADER.match(line):
            return Intent.UNCLEAR
        return PHRASES.get(NOT_A_WORD.sub(" ", line).strip().lower(), Intent.UNCLEAR)
    return Intent.UNCLEAR


def text_of(message: EmailMessage) -> str:
    """The reply's text; "" when there is none or it cannot be decoded (an unknown charset, ...)."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        content = str(part.get_content()) if part is not None else ""
    except Exception:  # decoding hostile mail raises LookupError, ValueError and others
        return ""
    if part is not None and part.get_content_type() == "text/html":
        content = re.sub(r"<[^>]+>", "\n", content)
    return content


def unfold(value: str) -> str:
    return FOLD.sub("", value)


def header_values(message: EmailMessage, name: str) -> list[str]:
    """Every raw value of a header, in order, however many times it appears and however it is cased."""
    return [unfold(str(value)) for key, value in message.raw_items() if key.strip().lower() == name]


def sole_mailbox(value: str) -> tuple[Address | None, Refusal | None]:
    """The one plain mailbox an address header holds, or why it holds no such thing."""
    if CONTROL.search(value):
        return None, Refusal.FROM_MALFORMED
    # Parsers disagree about comments (some read an address inside one): none is taken.
    if "(" in QUOTED_STRING.sub("", value):
        return None, Refusal.FROM_COMMENT
    try:
        header = policy.strict.header_factory("from", value)
    except Exception:  # the stdlib parser raises ValueError, IndexError, ... on some hostile values
        return None, Refusal.FROM_MALFORMED
    if header.defects:
        return None, Refusal.FROM_MALFORMED
    groups = header.groups
    if len(groups) != 1 or groups[0].display_name is not None or len(groups[0].addresses) != 1:
        return None, Refusal.FROM_NOT_ONE_MAILBOX
    address = groups[0].addresses[0]
    if CONTROL.search(address.display_name):  # an encoded word can decode to a line break
        return None, Refusal.FROM_MALFORMED
    if "@" in unicodedata.normalize("NFKC", address.display_name):
        return None, Refusal.DISPLAY_NAME_ADDRESS
    if not (DOT_ATOM.fullmatch(address.username) and HOST_NAME.fullmatch(address.domain)):
        return None, Refusal.ADDRESS_FORM
    return address, None


def _lowered(address: Address) -> str:
    return f"{address.username}@{address.domain}".lower()


def _plain_address(value: str) -> str:
    address, _ = sole_mailbox(unfold(value))
    return _lowered(address) if address is not None else ""


def sender_of(message: EmailMessage, mail: dict[str, Any]) -> tuple[str, Refusal | None]:
    """The message's one From address, lower-cased, or why it cannot be read unambiguously."""
    if any(isinstance(defect, HEADER_BLOCK_DEFECTS) for defect in message.defects):
        return "", Refusal.HEADER_BLOCK_MALFORMED
    froms = header_values(message, "from")
    if not froms:
        return "", Refusal.FROM_MISSING
    if len(froms) > 1:
        return "", Refusal.FROM_REPEATED
    address, refusal = sole_mailbox(froms[0])
    if address is None:
        return "", refusal
    sender = _lowered(address)
    senders = header_values(message, "sender")
    if senders and (len(senders) > 1 or _plain_address(senders[0]) != sender):
        return "", Refusal.SENDER_MISMATCH
    ses_from = (mail.get("commonHeaders") or {}).get("from")
    if not (isinstance(ses_from, list) and len(ses_from) == 1 and _plain_address(str(ses_from[0])) == sender):
        return "", Refusal.SES_FROM_MISMATCH
    return sender, None


def dmarc_domain(message: EmailMessage) -> str:
    """The domain SES's DMARC check passed for (header.from of its Authentication-Results), or ""."""
    results = header_values(message, "authentication-results")
    if not results:
        return ""
    authserv_id, _, rest = results[0].partition(";")
    found = DMARC_RESULT.search(rest)
    if authserv_id.split()[:1] != [SES_AUTHSERV_ID] or found is None or found.group(1).lower() != "pass":
        return ""
    return found.group(2).lower()


def _content(notification: dict[str, Any]) -> EmailMessage | None:
    content = notification.get("content")
    if not isinstance(content, str):
        return None
    action = (notification.get("receipt") or {}).get("action") or {}
    if action.get("encoding") == "BASE64":
        try:
            raw = base64.b64decode(content, validate=True)
        except binascii.Error:
            return None
        message = email.message_from_bytes(raw, policy=policy.default)
    else:
        message = email.message_from_string(content, policy=policy.default)
    return message if isinstance(message, EmailMessage) else None


def parse_notification(notification: dict[str, Any], domain: str) -> Reply | None:
    """A Reply from an SES 'Received' notification, or None when it is not a reply to an offer."""
    if notification.get("notificationType") != "Received":
        return None
    mail, receipt = notification.get("mail") or {}, notification.get("receipt") or {}
    offer = offer_of(list(receipt.get("recipients") or mail.get("destination") or []), domain)
    message = _content(notification)
    if offer is None or message is None:
        return None
    sender, refusal = sender_of(message, mail)
    failed = failed_verdicts(receipt)
    if sender and dmarc_domain(message) != sender.rpartition("@")[2]:
        failed += (DMARC_ALIGNMENT,)
    return Reply(
        request_id=offer[0],
        director_id=offer[1],
        sender=sender,
        failed_checks=failed,
        refusal=refusal,
        intent=first_line_intent(text_of(message)),
        message_id=str(mail.get("messageId", "")),
    )
