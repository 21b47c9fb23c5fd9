"""The outbox as a mail client: the list grouped by request, and one message as a page (headers,
the HTML part in a sandboxed frame, the text part, a "Send reply" form on offers)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from local.outbox import OutboxEntry, html_part, parse, text_part

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"
# Newest requests shown on the list by default; ?all=1 shows every one (a `make load` run sends thousands).
LIST_LIMIT = 50
URL = re.compile(r"https?://[^\s<>\"']+")
HEAD = re.compile(r"<head\b[^>]*>", re.I)
DOCTYPE = re.compile(r"<!doctype[^>]*>", re.I)

KIND_LABELS = {
    "receipt": "Receipt to the clinic",
    "offer": "Offer",
    "introduction": "Introduction: clinic and director(s)",
    "filled": "Position filled",
    "declined": "Decline acknowledged",
    "clinic_update": "Update to the clinic",
    "reply_answer": "Answer to a reply",
    "expiry_warning": "License expiry warning",
    "no_match": "No match: the clinic told",
    "ops_no_match": "Ops: no match",
    "ops_sla_20h": "Ops: 20 hours without a match",
    "ops_stuck_new": "Ops: request stuck",
    "ops_expiry_warning": "Ops: license expiry",
}

# What respond decided about a reply (its SNS handler returns one outcome per record).
REPLY_OUTCOMES = {
    "ACTED": "the reply answered the offer.",
    "TOO_LATE": "nothing changed: the offer could no longer be answered; the director is told why by email.",
    "UNCLEAR": "nothing changed: the first line is not one of the reply words; the director is told how.",
    "NOT_AUTHENTIC": "ignored: SPF, DKIM or DMARC failed for the From domain; no answer (could be forged).",
    "REFUSED_SENDER": "ignored: the From header is not one plain, unambiguous mailbox; no answer is sent.",
    "WRONG_SENDER": "ignored: the sender is not the director the offer went to; no answer is sent.",
    "UNKNOWN_OFFER": "ignored: no such offer or director.",
    "IGNORED": "ignored: the reply did not reach an offer's reply address.",
}


@dataclass(frozen=True)
class RequestState:
    """What the Requests table says now about one request (read when a page is rendered)."""

    status: str = ""
    clinic: str = ""
    states: tuple[str, ...] = ()
    # director id -> (offer status, how it was answered: "link", "reply" or "")
    offers: dict[str, tuple[str, str]] = field(default_factory=dict)
    reference: str = ""  # the code the clinic was given


def request_state(items: Iterable[dict[str, Any]]) -> RequestState:
    """From the items of one request's partition (RequestStore.partition)."""
    request: dict[str, Any] = {}
    offers: dict[str, tuple[str, str]] = {}
    for item in items:
        if item.get("sk") == "REQUEST":
            request = item
        elif str(item.get("sk", "")).startswith("OFFER#"):
            offers[str(item["director_id"])] = (str(item["offer_status"]), str(item.get("answered_via", "")))
    return RequestState(
        status=str(request.get("request_status", "")),
        clinic=str((request.get("clinic") or {}).get("name", "")),
        states=tuple(request.get("states") or ()),
        reference=str(request.get("reference", "")),
        offers=offers,
    )


@dataclass(frozen=True)
class ReplyRecord:
    """A reply sent from an offer's page (or POST /_outbox/<file>/reply) and what respond decided."""

    body: str
    at: str
    outcomes: tuple[str, ...]
    # How many emails the outbox held when the reply was sent: those after it are what it caused.
    outbox_size: int


@dataclass(frozen=True)
class Group:
    request_id: str
    entries: list[OutboxEntry]
    state: RequestState | None = None


def group_by_request(entries: list[OutboxEntry]) -> list[Group]:
    """One group per request, the group with the newest email first, each group's emails newest first.
    Emails about no request (a director's license expiry) form a group with request_id ""."""
    groups: dict[str, list[OutboxEntry]] = {}
    for entry in reversed(entries):
        groups.setdefault(entry.request_id, []).append(entry)
    return [Group(request_id, found) for request_id, found in groups.items()]


def format_offset(offset: timedelta) -> str:
    """'5 h ahead', '1 d 2 h 30 min behind'; '' at zero."""
    seconds = int(offset.total_seconds())
    if seconds == 0:
        return ""
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) + (" ahead" if seconds > 0 else " behind")


def linkify(text: str) -> Markup:
    """Plain text, escaped, with its URLs as links (trailing punctuation left out of them)."""
    pieces: list[Markup] = []
    last = 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        pieces.append(escape(text[last : match.start()]))
        pieces.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.start() + len(url)
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


def breakable(value: str) -> Markup:
    """Escaped, with line-break opportunities after each @ and before each dot: long addresses wrap
    at their parts on a phone rather than at any letter."""
    parts = (Markup("<wbr>.").join(escape(part).split(".")) for part in value.split("@"))
    return Markup("@<wbr>").join(parts)


def framed_html(document: str) -> str:
    """The HTML part for a sandboxed srcdoc frame: links open in the top window (the frame's
    sandbox lets a click navigate it), not inside the frame."""
    base = '<base target="_top">'
    for pattern in (HEAD, DOCTYPE):
        match = pattern.search(document)
        if match:
            return document[: match.end()] + base + document[match.end() :]
    return base + document


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["kind_label"] = lambda kind: KIND_LABELS.get(kind, kind)
    environment.filters["clock"] = lambda iso: iso.replace("T", " ").replace("+00:00", " UTC")
    environment.filters["wbr"] = breakable
    return environment


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def list_page(
    entries: list[OutboxEntry],
    read_state: Callable[[str], RequestState | None],
    offset: timedelta,
    show_all: bool = False,
    mailbox: str = "",
) -> str:
    """The list, or one address's mailbox (the emails addressed to it); `read_state` is called for each
    request shown (the newest LIST_LIMIT unless show_all)."""
    sent = len(entries)
    if mailbox:
        entries = [e for e in entries if e.addressed_to(mailbox)]
    groups = group_by_request(entries)
    hidden = 0 if show_all else max(0, len(groups) - LIST_LIMIT)
    shown = groups if show_all else groups[:LIST_LIMIT]
    return _render(
        "outbox_list.html",
        groups=[Group(g.request_id, g.entries, read_state(g.request_id)) for g in shown],
        hidden=hidden,
        total=len(entries),
        sent=sent,
        mailbox=mailbox,
        clock=format_offset(offset),
        here="/_outbox",
    )


def message_page(
    entry: OutboxEntry,
    raw: bytes,
    entries: list[OutboxEntry],
    state: RequestState | None,
    replies: list[ReplyRecord],
    offset: timedelta,
) -> str:
    message = parse(raw)
    html = html_part(message)
    director = entry.offer_director_id
    offer = state.offers.get(director) if state and director else None
    answered = [
        (reply, [e for e in entries[reply.outbox_size :] if e.request_id == entry.request_id])
        for reply in reversed(replies)
    ]
    return _render(
        "outbox_message.html",
        entry=entry,
        headers=[
            (name, str(message[name]))
            for name in ("From", "To", "Reply-To", "Subject", "Date")
            if message[name] is not None
        ],
        html=framed_html(html) if html else "",
        text=linkify(text_part(message)),
        is_offer=entry.kind == "offer" and bool(message["Reply-To"]),
        offer=offer,
        state=state,
        answered=answered,
        outcomes=REPLY_OUTCOMES,
        clock=format_offset(offset),
        here=f"/_outbox/{entry.name}",
    )
