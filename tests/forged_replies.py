"""Forged replies to an offer email, in one list (forged_replies.json). Each is run on the pure parser
(tests/unit/test_forged_replies.py), through respond's handler on the template's tables
(tests/integration/test_replies.py) and through the local stack's POST /_inbound
(tests/e2e/test_forged_replies.py): none changes anything or sends anything, and the director's
genuine reply, built the same way, still acts.

A forgery names the domain SES evaluated DMARC for and passed. Where the attack is in the header's
shape, that is the director's own domain (the worst case: SES was fooled too), so the shape alone
must refuse it; where the attack is on alignment, it is the attacker's domain."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).with_suffix(".json")
ATTACKER = "attacker@evil.example"
ATTACKER_DOMAIN = "evil.example"
CONFUSABLES = {"o": "\u043e", "a": "\u0430", "e": "\u0435"}  # Latin letters and their Cyrillic twins


def lookalike(domain: str) -> str:
    """The domain with its first confusable letter swapped for its Cyrillic twin."""
    for latin, twin in CONFUSABLES.items():
        if latin in domain.lower():
            return domain.lower().replace(latin, twin, 1)
    raise ValueError(f"no confusable letter in {domain}")


def placeholders(director: str) -> dict[str, str]:
    local, _, domain = director.partition("@")
    twin = lookalike(domain)
    return {
        "director": director,
        "local": local,
        "domain": domain,
        "attacker": ATTACKER,
        "attacker_domain": ATTACKER_DOMAIN,
        "lookalike": twin,
        "punycode": twin.encode("idna").decode(),
        "director_q": director.replace("@", "=40"),
        "director_b": base64.b64encode(director.encode()).decode(),
    }


@dataclass(frozen=True)
class Forgery:
    name: str
    # The sender's header lines ("\r\n" between them), with the placeholders above in braces.
    headers: str
    # What respond decides: REFUSED_SENDER, NOT_AUTHENTIC or WRONG_SENDER.
    outcome: str
    # The refusal (REFUSED_SENDER) or failed check (NOT_AUTHENTIC) the parser reports; "" for WRONG_SENDER.
    reason: str
    # The domain SES evaluated DMARC for.
    dmarc_domain: str = "{domain}"
    # Verdicts other than PASS, by the POST /_inbound parameter names (spf, dkim, dmarc, spam, virus).
    verdicts: dict[str, str] = field(default_factory=dict)

    def message(self, director: str, reply_to: str, body: str = "ACCEPT") -> str:
        return reply_message(self.headers.format(**placeholders(director)), reply_to, body)

    def query(self, director: str, reply_to: str) -> dict[str, str]:
        """The POST /_inbound parameters that make the local stack receive it as SES would have."""
        evaluated = self.dmarc_domain.format(**placeholders(director))
        return {"rcpt": reply_to, "dmarc_domain": evaluated, **self.verdicts}


def reply_message(sender_headers: str, reply_to: str, body: str) -> str:
    """A raw RFC 5322 reply to an offer email, the ACCEPT (or `body`) on its first line."""
    return (
        f"{sender_headers}\r\nTo: {reply_to}\r\nSubject: Re: A medical director position\r\n"
        f"Message-ID: <{uuid.uuid4()}@mail.example>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )


GENUINE = Forgery("genuine", 'From: "Dr. Avery Example" <{director}>', "ACTED", "")
FORGERIES = tuple(Forgery(**row) for row in json.loads(CORPUS.read_text()))
