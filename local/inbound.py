"""Simulated replies: the SES receipt notification an SNS action would deliver, for the local stack."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from local.outbox import parse, text_part

PASS = {"status": "PASS"}


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


def ses_notification(
    content: str, recipients: list[str], verdicts: dict[str, str] | None = None
) -> dict[str, Any]:
    """The SES 'Received' notification (SNS action, UTF-8) for one message."""
    verdicts = verdicts or {}
    receipt = {
        name: {"status": verdicts.get(name, "PASS")}
        for name in ("spfVerdict", "dkimVerdict", "dmarcVerdict", "spamVerdict", "virusVerdict")
    }
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    message_id = str(uuid.uuid4())
    return {
        "notificationType": "Received",
        "mail": {"timestamp": now, "source": "", "messageId": message_id, "destination": recipients},
        "receipt": {
            "timestamp": now,
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


def sns_event(message: dict[str, Any], topic: str) -> dict[str, Any]:
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
                    "Subject": "Amazon SES Email Receipt Notification",
                },
            }
        ]
    }
