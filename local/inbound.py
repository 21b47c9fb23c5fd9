"""Simulated replies: the SES receipt notification an SNS action would deliver, for the local stack."""

from __future__ import annotations

import email
import json
import re
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, getaddresses
from typing import Any

from directormatch.offers.inbound_mail import SES_AUTHSERV_ID, unfold
from local.outbox import parse, text_part

VERDICT_NAMES = ("spfVerdict", "dkimVerdict", "dmarcVerdict", "spamVerdict", "virusVerdict")
# How SES's Authentication-Results header words each verdict.
RESULT_WORDS = {"PASS": "pass", "FAIL": "fail", "GRAY": "none", "PROCESSING_FAILED": "temperror"}
# POST /_inbound's parameters: the verdicts (PASS when absent), the domain DMARC was evaluated for,
# and the envelope recipients (the To and Cc addresses when absent).
VERDICT_PARAMS = {
    "spf": "spfVerdict",
    "dkim": "dkimVerdict",
    "dmarc": "dmarcVerdict",
    "spam": "spamVerdict",
    "virus": "virusVerdict",
}
VERDICT_VALUES = ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED")
INBOUND_PARAMS = (*VERDICT_PARAMS, "dmarc_domain", "rcpt")
LENIENT_DOMAIN = re.compile(r"@([^@\s<>()\[\]\",;:\x00]+)[^@]*$")


def reply_to_offer(offer_raw: bytes, body: str, sender: str | None = None) -> tuple[str, list[str]]:
    """A reply to an offer email: the given first lines, then the original quoted below."""
    original = parse(offer_raw)
    to = str(original.get("Reply-To") or "")
    reply = EmailMessage()
    reply["From"] = sender or str(original["To"])
    reply["To"] = to
    reply["Subject"] = f"Re: {original['Subject']}"
    reply["In-Reply-To"] = str(original["Message-ID"])
    reply["Message-ID"] = f"<{uuid.uuid4()}@director.example>"
    quoted = "\n".join(f"> {line}" for line in text_part(original).splitlines())
    reply.set_content(f"{body}\n\nOn {datetime.now(UTC):%a, %d %b %Y}, DirectorMatch wrote:\n{quoted}\n")
    return reply.as_string(), [to]


class InboundRequestError(ValueError):
    """A POST /_inbound the local stack cannot receive: names the parameter (or "body") at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def received(content: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """The notification SES would publish for a raw message received with POST /_inbound's parameters."""
    unknown = sorted(set(query) - set(INBOUND_PARAMS))
    if unknown:
        raise InboundRequestError(
            unknown[0], f"unknown parameter; the known ones: {', '.join(INBOUND_PARAMS)}"
        )
    verdicts = {}
    for param, name in VERDICT_PARAMS.items():
        values = [v.upper() for v in query.get(param, [])]
        if len(values) > 1 or (values and values[0] not in VERDICT_VALUES):
            raise InboundRequestError(param, f"one of {', '.join(VERDICT_VALUES)}")
        if values:
            verdicts[name] = values[0]
    domains = query.get("dmarc_domain", [])
    if len(domains) > 1:
        raise InboundRequestError("dmarc_domain", "at most one")
    if not content.strip():
        raise InboundRequestError("body", "a raw RFC 5322 message is required")
    recipients = query.get("rcpt") or header_recipients(content)
    if not recipients:
        raise InboundRequestError("rcpt", "no recipient: the message has no To or Cc, and no rcpt was given")
    return ses_notification(content, recipients, verdicts, domains[0] if domains else None)


def header_recipients(content: str) -> list[str]:
    message = email.message_from_string(content, policy=policy.compat32)
    values = [str(v) for name in ("To", "Cc") for v in message.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def ses_notification(
    content: str,
    recipients: list[str],
    verdicts: dict[str, str] | None = None,
    dmarc_domain: str | None = None,
) -> dict[str, Any]:
    """The SES 'Received' notification (SNS action, UTF-8) for one message, as SES builds it: its own
    headers above the message's (Authentication-Results among them), `mail.headers`,
    `mail.commonHeaders` and the receipt's verdicts (PASS unless `verdicts` says otherwise, keyed
    spfVerdict, dkimVerdict, ...). DMARC is evaluated for `dmarc_domain`, by default the domain a
    lenient parser finds in the first From header (after its last "@"), as the attack on display
    names relies on."""
    status = {name: (verdicts or {}).get(name, "PASS") for name in VERDICT_NAMES}
    domain = lenient_from_domain(content) if dmarc_domain is None else dmarc_domain
    source = f"bounce@{domain or 'unknown.example'}"
    message_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    content = ses_headers(status, domain, source, message_id, recipients, now) + content
    message = email.message_from_string(content, policy=policy.default)
    headers = [{"name": name, "value": str(value)} for name, value in message.raw_items()]
    timestamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    receipt: dict[str, Any] = {name: {"status": value} for name, value in status.items()}
    if status["dmarcVerdict"] == "FAIL":
        receipt["dmarcPolicy"] = "reject"
    return {
        "notificationType": "Received",
        "mail": {
            "timestamp": timestamp,
            "source": source,
            "messageId": message_id,
            "destination": recipients,
            "headersTruncated": False,
            "headers": headers,
            "commonHeaders": common_headers(message, source),
        },
        "receipt": {
            "timestamp": timestamp,
            "processingTimeMillis": 12,
            "recipients": recipients,
            **receipt,
            "action": {
                "type": "SNS",
                "topicArn": "arn:aws:sns:us-east-1:123456789012:InboundMailTopic",
                "encoding": "UTF8",
            },
        },
        "content": content,
    }


def lenient_from_domain(content: str) -> str:
    """The domain after the last "@" of the first From header, read as loosely as a careless parser."""
    message = email.message_from_string(content, policy=policy.compat32)
    first = message.get("From")
    found = LENIENT_DOMAIN.search(str(first)) if first is not None else None
    return found.group(1).lower() if found else ""


def ses_headers(
    status: dict[str, str], domain: str, source: str, message_id: str, recipients: list[str], now: datetime
) -> str:
    """The headers SES puts above a received message, its Authentication-Results the topmost one."""
    word = {name: RESULT_WORDS.get(value, "temperror") for name, value in status.items()}
    dmarc = f"dmarc={word['dmarcVerdict']} header.from={domain};" if domain else "dmarc=none;"
    lines = [
        f"Return-Path: <{source}>",
        f"Received: from mail.{domain or 'unknown.example'} (203.0.113.7) by inbound-smtp.us-east-1"
        f".amazonaws.com with SMTP id {message_id} for {', '.join(recipients)}; {format_datetime(now)}",
        f"X-SES-Spam-Verdict: {status['spamVerdict']}",
        f"X-SES-Virus-Verdict: {status['virusVerdict']}",
        f"Received-SPF: {word['spfVerdict']} client-ip=203.0.113.7; envelope-from={source};",
        f"Authentication-Results: {SES_AUTHSERV_ID};",
        f" spf={word['spfVerdict']} smtp.mailfrom={source};",
        f" dkim={word['dkimVerdict']} header.i=@{domain or 'unknown.example'};",
        f" {dmarc}",
        f"X-SES-RECEIPT: {message_id}",
    ]
    return "".join(f"{line}\r\n" for line in lines)


def common_headers(message: Message, source: str) -> dict[str, Any]:
    """mail.commonHeaders: what SES read in the message's usual headers (address headers as lists)."""
    common: dict[str, Any] = {"returnPath": source}
    for key in ("from", "sender", "to", "cc"):
        values = [unfold(str(v)) for k, v in message.raw_items() if k.strip().lower() == key]
        if values:
            common[key] = values
    for name, key in (("Date", "date"), ("Message-ID", "messageId"), ("Subject", "subject")):
        if message.get(name) is not None:
            common[key] = unfold(str(message.get(name)))
    return common


def sns_event(
    message: dict[str, Any], topic: str, subject: str | None = "Amazon SES Email Receipt Notification"
) -> dict[str, Any]:
    """The SNS event Lambda receives (`sam local generate-event sns notification` shape)."""
    arn = f"arn:aws:sns:us-east-1:123456789012:{topic}"
    return {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{arn}:{uuid.uuid4()}",
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "Signature": "local",
                    "SigningCertUrl": "",
                    "MessageId": str(uuid.uuid4()),
                    "Message": json.dumps(message),
                    "MessageAttributes": {},
                    "Type": "Notification",
                    "UnsubscribeUrl": "",
                    "TopicArn": arn,
                    "Subject": subject,
                },
            }
        ]
    }
