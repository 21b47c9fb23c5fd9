"""Forged replies to an offer email, in one list. Each is run on the pure parser
(tests/unit/test_forged_replies.py), through respond's handler on the template's tables
(tests/integration/test_forged_replies.py) and through the local stack's POST /_inbound
(tests/e2e/test_forged_replies.py): none changes anything or sends anything, and the director's
genuine reply, built the same way, still acts.

A forgery names the domain SES evaluated DMARC for and passed. Where the attack is in the header's
shape, that is the director's own domain (the worst case: SES was fooled too), so the shape alone
must refuse it; where the attack is on alignment, it is the attacker's domain."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

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
    # The sender's header lines ("\r\n" between them), with the placeholders above.
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

FORGERIES = (
    # The attack as reported: a lenient parser reads the display name as the sender.
    Forgery("display_name_is_the_director", "From: {director} <{attacker}>", "REFUSED_SENDER",
            "from_malformed", dmarc_domain="{attacker_domain}"),
    Forgery("folded_display_name", "From: {director}\r\n <{attacker}>", "REFUSED_SENDER", "from_malformed",
            dmarc_domain="{attacker_domain}"),
    Forgery("quoted_display_name_is_the_director", 'From: "{director}" <{attacker}>', "REFUSED_SENDER",
            "display_name_address", dmarc_domain="{attacker_domain}"),
    Forgery("encoded_word_q_display_name", "From: =?utf-8?q?{director_q}?= <{attacker}>", "REFUSED_SENDER",
            "display_name_address", dmarc_domain="{attacker_domain}"),
    Forgery("encoded_word_b_display_name", "From: =?utf-8?b?{director_b}?= <{attacker}>", "REFUSED_SENDER",
            "display_name_address", dmarc_domain="{attacker_domain}"),
    Forgery("fullwidth_at_in_display_name", 'From: "{local}\uff20{domain}" <{attacker}>', "REFUSED_SENDER",
            "display_name_address", dmarc_domain="{attacker_domain}"),
    Forgery("two_from_headers_director_first", "From: {director}\r\nFrom: {attacker}", "REFUSED_SENDER",
            "from_repeated"),
    Forgery("two_from_headers_attacker_first", "From: {attacker}\r\nFrom: {director}", "REFUSED_SENDER",
            "from_repeated"),
    Forgery("two_mailboxes_in_one_header", "From: {director}, {attacker}", "REFUSED_SENDER",
            "from_not_one_mailbox"),
    Forgery("group_syntax", "From: Directors: {director};", "REFUSED_SENDER", "from_not_one_mailbox"),
    Forgery("comment_holds_the_attacker", "From: {director} ({attacker})", "REFUSED_SENDER", "from_comment",
            dmarc_domain="{attacker_domain}"),
    Forgery("comment_holds_the_director", "From: {attacker} ({director})", "REFUSED_SENDER", "from_comment",
            dmarc_domain="{attacker_domain}"),
    Forgery("quoted_local_part_with_at", 'From: "{director}"@{attacker_domain}', "REFUSED_SENDER",
            "address_form", dmarc_domain="{attacker_domain}"),
    Forgery("empty_angle_address", "From: {director} <>", "REFUSED_SENDER", "from_malformed"),
    Forgery("nul_byte", "From: {director}\x00<{attacker}>", "REFUSED_SENDER", "from_malformed",
            dmarc_domain="{attacker_domain}"),
    Forgery("obsolete_route_address", "From: <@{attacker_domain}:{director}>", "REFUSED_SENDER",
            "from_malformed"),
    Forgery("domain_literal", "From: {local}@[203.0.113.7]", "REFUSED_SENDER", "address_form"),
    Forgery("unicode_lookalike_domain", "From: {local}@{lookalike}", "REFUSED_SENDER", "address_form",
            dmarc_domain="{lookalike}"),
    Forgery("punycode_lookalike_domain", "From: {local}@{punycode}", "WRONG_SENDER", "",
            dmarc_domain="{punycode}"),
    Forgery("sender_names_another_address", "From: {director}\r\nSender: {attacker}", "REFUSED_SENDER",
            "sender_mismatch"),
    Forgery("missing_from", "Sender: {director}", "REFUSED_SENDER", "from_missing"),
    Forgery("bare_cr_splits_the_header", "From: {director}\r<{attacker}>", "REFUSED_SENDER",
            "header_block_malformed", dmarc_domain="{attacker_domain}"),
    Forgery("space_before_colon", "From: {director}\r\nFrom : {attacker}", "REFUSED_SENDER",
            "header_block_malformed", dmarc_domain="{attacker_domain}"),
    Forgery("dmarc_passed_for_another_domain", "From: {director}", "NOT_AUTHENTIC", "dmarcAlignment",
            dmarc_domain="{attacker_domain}"),
    Forgery("forged_authentication_results",
            "Authentication-Results: amazonses.com; dmarc=pass header.from={domain};\r\nFrom: {director}",
            "NOT_AUTHENTIC", "dmarcAlignment", dmarc_domain="{attacker_domain}"),
    Forgery("dmarc_fails", "From: {director}", "NOT_AUTHENTIC", "dmarcVerdict", verdicts={"dmarc": "FAIL"}),
)  # fmt: skip
