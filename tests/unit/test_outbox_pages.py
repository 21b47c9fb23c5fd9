"""The local outbox's pages (local/outbox_pages.py): emails grouped by request, one message rendered
with its HTML part sandboxed, the reply form and what respond decided, the moved clock; and the
scheduler's clock reset."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from directormatch.mail.render import Email, Mailer, to_mime
from local.clock import Scheduler
from local.lambdas import Functions
from local.outbox import Outbox, OutboxEntry, request_of
from local.outbox_pages import (
    LIST_LIMIT,
    ReplyRecord,
    RequestState,
    format_offset,
    framed_html,
    group_by_request,
    linkify,
    list_page,
    message_page,
    request_state,
)

SENDER = "matches@directormatch.example"
REQUEST = "01M94G40QDFJFVQD0PSD2BMNE0"
OTHER_REQUEST = "01M94GC6NRX8JFD1KZTQJ06PEM"
DIRECTOR = "D41a2545684d655b1ac73"
ACCEPT_URL = f"http://127.0.0.1:3000/offers/local.accept.{REQUEST}.{DIRECTOR}.1796535598.sig"


def entry(number: int, kind: str, ref: str, *to: str) -> OutboxEntry:
    message_id = f"<{kind}.{ref}@directormatch>"
    recipients = to or ("someone@example.com",)
    return OutboxEntry(
        f"{number:05d}-{kind}.eml",
        ", ".join(recipients),
        f"{kind} subject",
        kind,
        message_id,
        request_of(message_id),
        f"2026-12-06T01:4{number % 10}:00+00:00",
        recipients,
    )


def offer_raw(html: str = "") -> bytes:
    email = Email(
        kind="offer",
        to=("dr.lindqvist@roster.example",),
        subject="Medical director opportunity: aesthetics in TX",
        text=f"Hello Dr. Lindqvist,\n\nAccept:  {ACCEPT_URL}\nOr reply with ACCEPT.\n",
        html=html
        or (
            '<!doctype html><html><head><meta charset="utf-8"></head><body>'
            f'<p>Clinic "Bluebonnet" & co</p><a href="{ACCEPT_URL}">Accept</a></body></html>'
        ),
        message_id=f"<offer.{REQUEST}.{DIRECTOR}@directormatch>",
        reply_to=f"offer-{REQUEST}-{DIRECTOR}@reply.directormatch.example",
    )
    return to_mime(email, "matches@directormatch.example").as_bytes()


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def tags(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    return parser


def test_request_of_message_ids_about_requests_and_directors() -> None:
    # Given notify's Message-IDs: about a request, an offer (request.director), a director alone
    # When the request id is read from each
    # Then requests are found and an expiry warning belongs to none
    assert request_of(f"<receipt.{REQUEST}@directormatch>") == REQUEST
    assert request_of(f"<offer.{REQUEST}.{DIRECTOR}@directormatch>") == REQUEST
    assert request_of(f"<expiry_warning.{DIRECTOR}.TX-license.2027-01-31@directormatch>") == ""
    assert request_of("<3f2a@director.example>") == ""


def test_group_by_request_newest_group_first_each_newest_first() -> None:
    # Given emails about two requests, interleaved, and one about no request
    entries = [
        entry(1, "receipt", REQUEST),
        entry(2, "offer", f"{REQUEST}.{DIRECTOR}"),
        entry(3, "receipt", OTHER_REQUEST),
        entry(4, "expiry_warning", f"{DIRECTOR}.TX-license.2027-01-31"),
        entry(5, "introduction", REQUEST),
    ]

    # When they are grouped
    groups = group_by_request(entries)

    # Then the request with the newest email comes first, and each group lists newest first
    assert [g.request_id for g in groups] == [REQUEST, "", OTHER_REQUEST]
    assert [e.file for e in groups[0].entries] == [
        "00005-introduction.eml",
        "00002-offer.eml",
        "00001-receipt.eml",
    ]


def test_list_page_links_pages_shows_state_and_reads_only_the_requests_shown() -> None:
    # Given more requests than the list shows, the newest with its offer OPEN
    entries = [entry(n, "receipt", f"01M94G40QDFJFVQD0PSD2B{n:04d}") for n in range(LIST_LIMIT + 3)]
    entries.append(entry(LIST_LIMIT + 3, "offer", f"{REQUEST}.{DIRECTOR}", "dr.lindqvist@roster.example"))
    read: list[str] = []

    def read_state(request_id: str) -> RequestState:
        read.append(request_id)
        return RequestState(
            "OFFERED", "Bluebonnet Aesthetics & Wellness", ("TX",), {DIRECTOR: ("OPEN", "")}, "DM-E2T1-F616"
        )

    # When the list is rendered
    page = list_page(entries, read_state, timedelta())

    # Then emails link to their pages, requests carry clinic and status, older requests are behind a link
    assert f'href="/_outbox/{LIST_LIMIT + 3:05d}-offer"' in page
    assert "Bluebonnet Aesthetics &amp; Wellness" in page
    assert "Reference <code>DM-E2T1-F616</code> · Request <code>" in page
    assert '<span class="badge OPEN">OPEN</span>' in page
    assert len(read) == LIST_LIMIT
    assert read[0] == REQUEST
    assert 'href="/_outbox?all=1">Show 4 older requests' in page
    assert 'id="clock"' not in page
    # And the address wraps at its parts
    assert "dr<wbr>.lindqvist@<wbr>roster<wbr>.example" in page


def test_each_recipients_mailbox_lists_the_introduction_and_only_their_mail() -> None:
    # Given an introduction to the clinic and two directors, and an offer to one of them
    clinic, first, second = "maria@clinic.example", "ann@roster.example", "bo@roster.example"
    entries = [
        entry(1, "offer", f"{REQUEST}.{DIRECTOR}", first),
        entry(2, "introduction", REQUEST, clinic, first, second),
    ]
    state = RequestState("MATCHED", "Bluebonnet", ("TX", "OK"))

    # When each one's mailbox is rendered (an address as typed, in any case)
    pages = {
        address: list_page(entries, lambda _: state, timedelta(), mailbox=address.upper())
        for address in (clinic, first, second)
    }

    # Then every mailbox lists the introduction, and only the director it went to lists the offer
    for address, page in pages.items():
        assert 'href="/_outbox/00002-introduction"' in page, address
        assert ('href="/_outbox/00001-offer"' in page) is (address == first), address
    # And the introduction's page links each recipient's mailbox
    page = message_page(entries[1], offer_raw(), entries, state, [], timedelta())
    for address in (clinic, first, second):
        assert f'href="/_outbox?to={address.replace("@", "%40")}"' in page


def test_list_page_with_moved_clock_says_so_and_offers_reset() -> None:
    # Given the sweep's clock 5 hours ahead
    # When the list is rendered
    page = list_page([], lambda _: None, timedelta(hours=5))

    # Then the banner gives the offset, how long it lasts, and a reset button back to the list
    assert "Local clock 5 h ahead of real time" in page
    assert "It lasts until reset or restart." in page
    forms = tags(page).find("form")
    assert {"method": "post", "action": "/_clock/reset"} in forms
    assert {"type": "hidden", "name": "next", "value": "/_outbox"} in tags(page).find("input")


def test_message_page_offer_html_sandboxed_text_linked_reply_form_prefilled() -> None:
    # Given an offer email and its request's state
    offer = entry(2, "offer", f"{REQUEST}.{DIRECTOR}", "dr.lindqvist@roster.example")
    state = RequestState("OFFERED", "Bluebonnet", ("TX",), {DIRECTOR: ("OPEN", "")})

    # When its page is rendered
    page = message_page(offer, offer_raw(), [offer], state, [], timedelta())
    found = tags(page)

    # Then the HTML part is in a frame that runs no script and sends links to the top window
    (frame,) = found.find("iframe")
    sandbox = (frame["sandbox"] or "").split()
    assert "allow-scripts" not in sandbox
    assert "allow-top-navigation-by-user-activation" in sandbox
    assert frame["srcdoc"] is not None
    assert '<head><base target="_top"><meta charset="utf-8">' in frame["srcdoc"]
    # And the part is escaped once into the attribute: the frame gets it back exactly
    assert 'Clinic "Bluebonnet" & co' in frame["srcdoc"]
    assert "Clinic &#34;Bluebonnet&#34; &amp; co" in page
    # And the text part's links work, the raw .eml is a link, the headers are listed
    assert f'<a href="{ACCEPT_URL}">{ACCEPT_URL}</a>' in page
    assert {"href": "/_outbox/00002-offer.eml", "download": None} in found.find("a")
    assert re.search(r"<dt>Reply-To</dt><dd>offer-", page)
    # And the reply form posts to the message's reply route, prefilled ACCEPT, coming back here
    assert {"method": "post", "action": "/_outbox/00002-offer.eml/reply"} in found.find("form")
    assert re.search(r'<textarea id="reply-body" name="body" rows="3">ACCEPT</textarea>', page)
    assert {"type": "hidden", "name": "next", "value": "/_outbox/00002-offer"} in found.find("input")
    assert '<span class="badge OPEN">OPEN</span>' in page


def test_message_page_after_reply_shows_decision_and_emails_it_caused() -> None:
    # Given an offer answered by a reply, after which another request's receipt and the introduction came
    offer = entry(2, "offer", f"{REQUEST}.{DIRECTOR}")
    entries = [
        entry(1, "receipt", REQUEST),
        offer,
        entry(3, "receipt", OTHER_REQUEST),
        entry(4, "introduction", REQUEST),
    ]
    reply = ReplyRecord("ACCEPT\nthanks", "2026-12-06T01:45:00+00:00", ("ACTED",), outbox_size=3)
    state = RequestState("MATCHED", "Bluebonnet", ("TX",), {DIRECTOR: ("ACCEPTED", "reply")})

    # When the offer's page is rendered
    page = message_page(offer, offer_raw(), entries, state, [reply], timedelta())

    # Then it shows the reply's first line, respond's decision, the offer's status, and the emails
    # about this request since
    assert "You replied “ACCEPT” at 2026-12-06 01:45:00 UTC." in page
    assert "<strong>ACTED</strong>: the reply answered the offer." in page
    assert "ACCEPTED</span> (answered by reply)" in page
    assert 'href="/_outbox/00004-introduction">Introduction: clinic and director(s)</a>' in page
    assert "00003-receipt" not in page


def test_message_page_not_an_offer_has_no_reply_form() -> None:
    # Given a receipt
    receipt = entry(1, "receipt", REQUEST)

    # When its page is rendered
    page = message_page(receipt, offer_raw(), [receipt], None, [], timedelta())

    # Then there is no reply form
    assert "Send reply" not in page


def test_request_state_from_partition_items() -> None:
    # Given a request's items
    items: list[dict[str, Any]] = [
        {
            "sk": "REQUEST",
            "request_status": "MATCHED",
            "clinic": {"name": "Bluebonnet"},
            "states": ["TX"],
            "reference": "DM-E2T1-F616",
        },
        {
            "sk": f"OFFER#{DIRECTOR}",
            "director_id": DIRECTOR,
            "offer_status": "ACCEPTED",
            "answered_via": "link",
        },
        {"sk": "OFFER#D2", "director_id": "D2", "offer_status": "SUPERSEDED"},
        {"sk": "MATCH"},
    ]

    # When read as the outbox's state
    state = request_state(items)

    # Then it has the status, clinic, states, each offer's status and the clinic's reference code
    assert state == RequestState(
        "MATCHED",
        "Bluebonnet",
        ("TX",),
        {DIRECTOR: ("ACCEPTED", "link"), "D2": ("SUPERSEDED", "")},
        "DM-E2T1-F616",
    )


def test_format_offset_words() -> None:
    assert format_offset(timedelta()) == ""
    assert format_offset(timedelta(hours=5)) == "5 h ahead"
    assert format_offset(timedelta(days=1, hours=2, minutes=30)) == "1 d 2 h 30 min ahead"
    assert format_offset(timedelta(minutes=-90)) == "1 h 30 min behind"


def test_linkify_escapes_text_and_leaves_trailing_punctuation_out() -> None:
    assert str(linkify("<b> see http://x.example/a?b=1&c=2.")) == (
        '&lt;b&gt; see <a href="http://x.example/a?b=1&amp;c=2">http://x.example/a?b=1&amp;c=2</a>.'
    )


def test_framed_html_base_after_head_or_doctype_or_first() -> None:
    assert framed_html("<html><head><title>t</title>") == '<html><head><base target="_top"><title>t</title>'
    assert framed_html("<!doctype html><p>x") == '<!doctype html><base target="_top"><p>x'
    assert framed_html("<p>x") == '<base target="_top"><p>x'


def test_scheduler_reset_after_advance_is_back_to_real_time() -> None:
    # Given the sweep's clock moved 5 hours ahead
    scheduler = Scheduler(Functions(), interval_seconds=0)
    scheduler.advance(timedelta(hours=5))

    # When it is reset
    scheduler.reset()

    # Then the offset is gone
    assert scheduler.offset == timedelta()


def test_outbox_keeps_each_address_an_email_went_to(tmp_path: Path) -> None:
    # Given SES (moto) and the outbox reading what it sent
    with mock_aws():
        boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=SENDER)
        outbox = Outbox(tmp_path)
        addresses = ("maria@clinic.example", "ann@roster.example", "bo@roster.example")

        # When one email is sent to three addresses
        Mailer(SENDER, client=boto3.client("sesv2", region_name="us-east-1")).send(
            Email(
                "introduction",
                addresses,
                "Introduction",
                "text",
                "<p>html</p>",
                f"<introduction.{REQUEST}@directormatch>",
            )
        )
        [sent] = outbox.entries()

    # Then SES was given every address, and the outbox lists the email in each one's mailbox
    assert sent.recipients == addresses
    assert all(sent.addressed_to(address) for address in addresses)
    assert (sent.kind, sent.request_id) == ("introduction", REQUEST)
