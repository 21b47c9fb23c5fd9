"""The local HTTP front door: the quote form, API routes of template.yaml, and the outbox."""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local import apigw, inbound, outbox_pages, template
from local.clock import Scheduler
from local.lambdas import Functions
from local.outbox import Outbox
from local.outbox_pages import ReplyRecord, RequestState
from local.template import Route

log = logging.getLogger("local.server")
# The quote form the marketing site embeds; served as is, its action pointed at this stack.
QUOTE_FORM = template.ROOT / "site" / "quote-form.html"
DIRECTOR_FORM = template.ROOT / "site" / "director-form.html"
FORM_ACTION = r'(<form id="{form_id}"[^>]*?\saction=")[^"]*(")'
# The site's pages this stack serves: path -> (file, its form's id, the API route the form posts to).
SITE_PAGES = {
    "/": (QUOTE_FORM, "dm-quote", "/quote-requests"),
    "/join": (DIRECTOR_FORM, "dm-apply", "/director-applications"),
}
ICON_LINK = re.compile(r'<link rel="icon" href="data:image/svg\+xml,([^"]+)">')
HTML = "text/html; charset=utf-8"
# Replies respond answers by email: the offer page waits for those emails before showing its decision.
EMAILING_OUTCOMES = {"ACTED", "TOO_LATE", "UNCLEAR"}
REPLY_WAIT_SECONDS = 5.0
NO_SUCH_MESSAGE = (
    b"<!doctype html><meta charset=utf-8><title>No such message</title><p>No such message (the outbox "
    b'starts empty on every run). <a href="/_outbox">Outbox</a>'
)


class LocalStackServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 reset connections when twenty clients posted at once.
    request_queue_size = 128

    def __init__(
        self, port: int, routes: list[Route], functions: Functions, outbox: Outbox, scheduler: Scheduler
    ) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.routes = routes
        self.functions = functions
        self.outbox = outbox
        self.scheduler = scheduler
        # Replies sent from the outbox, by message file: offer pages show what respond decided.
        self.replies: dict[str, list[ReplyRecord]] = {}
        self.replies_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: LocalStackServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in SITE_PAGES:
            no_store = [("Cache-Control", "no-store")]
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", site_page(*SITE_PAGES[path]), no_store)
        elif path == "/favicon.ico":
            self._send(HTTPStatus.OK, "image/svg+xml", favicon(), [("Cache-Control", "max-age=86400")])
        elif path == "/_outbox":
            query = parse_qs(urlsplit(self.path).query)
            page = outbox_pages.list_page(
                self.server.outbox.entries(),
                _request_state,
                self.server.scheduler.offset,
                show_all=query.get("all") == ["1"],
                mailbox=query.get("to", [""])[0],
            )
            self._send(HTTPStatus.OK, HTML, page.encode(), [("Cache-Control", "no-store")])
        elif path == "/_outbox.json":
            entries = [e.as_dict() for e in self.server.outbox.entries()]
            self._send(HTTPStatus.OK, "application/json", json.dumps(entries).encode())
        elif path.startswith("/_outbox/") and path.endswith(".eml"):
            name = path.removeprefix("/_outbox/")
            raw = self.server.outbox.read(name)
            if raw is None:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such message")
            else:
                download = [("Content-Disposition", f'attachment; filename="{name}"')]
                self._send(HTTPStatus.OK, "message/rfc822", raw, download)
        elif path.startswith("/_outbox/"):
            self._message_page(path.removeprefix("/_outbox/"))
        elif path == "/_clock":
            self._send_clock()
        else:
            self._api()

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/_clock/advance":
            # Move the sweep's clock forward, then sweep at once: ?hours=5 or ?minutes=30.
            query = parse_qs(parts.query)
            delta = timedelta(
                hours=float(query.get("hours", ["0"])[0]), minutes=float(query.get("minutes", ["0"])[0])
            )
            moment = self.server.scheduler.advance(delta)
            reports = self.server.scheduler.run_once()
            offset = self.server.scheduler.offset.total_seconds()
            answer = {"now": moment.isoformat(), "offset_seconds": offset, "sweep": reports}
            body = json.dumps(answer).encode()
            self._send(HTTPStatus.OK, "application/json", body)
        elif parts.path == "/_clock/reset":
            # Back to real time; from the outbox's button (next=...), back to the page it was on.
            self.server.scheduler.reset()
            target = _local_path(self._form().get("next", [""])[0])
            if target is None:
                self._send_clock()
            else:
                self._redirect(target)
        elif parts.path.startswith("/_outbox/") and parts.path.endswith("/reply"):
            self._simulate_reply(parts.path.removeprefix("/_outbox/").removesuffix("/reply"))
        elif parts.path == "/_inbound":
            self._receive_inbound(parts.query)
        elif parts.path == "/_sweep":
            reports = self.server.scheduler.run_once()
            body = json.dumps({"now": self.server.scheduler.now().isoformat(), "sweep": reports}).encode()
            self._send(HTTPStatus.OK, "application/json", body)
        else:
            self._api()

    def _simulate_reply(self, name: str) -> None:
        """A director's reply to an offer email, delivered as SES would (SNS action) to the subscriber.
        Scripts get respond's results as JSON. The offer page's form (next=...) is sent back to the
        page, once the emails respond's decision causes have arrived; the page shows the decision."""
        form = self._form()
        entry = self.server.outbox.entry(name)
        raw = self.server.outbox.read(entry.file) if entry is not None else None
        if entry is None or raw is None:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such message")
            return
        body = form.get("body", ["ACCEPT"])[0].replace("\r\n", "\n")
        content, recipients = inbound.reply_to_offer(raw, body, sender=form.get("from", [None])[0] or None)
        verdicts = {name: form[name] for name in inbound.VERDICT_PARAMS if name in form}
        try:
            notification = inbound.received(content, {**verdicts, "rcpt": recipients})
        except inbound.InboundRequestError as error:
            self._send_problem(error)
            return
        before = len(self.server.outbox.entries())
        results = self._deliver_inbound(notification)
        outcomes = tuple(str(o) for r in results if isinstance(r, dict) for o in r.get("outcomes", []))
        record = ReplyRecord(body, datetime.now(UTC).isoformat(timespec="seconds"), outcomes, before)
        with self.server.replies_lock:
            self.server.replies.setdefault(entry.file, []).append(record)
        target = _local_path(form.get("next", [""])[0])
        if target is None:
            self._send(HTTPStatus.OK, "application/json", json.dumps(results).encode())
            return
        if EMAILING_OUTCOMES.intersection(outcomes):
            self.server.outbox.wait_for_more(before, entry.request_id, REPLY_WAIT_SECONDS)
        self._redirect(f"{target}#reply")

    def _receive_inbound(self, query: str) -> None:
        """POST /_inbound: a raw RFC 5322 message, received as SES would receive it (verdicts, the domain
        DMARC was evaluated for and the recipients as query parameters); answers what respond decided."""
        length = int(self.headers.get("Content-Length") or 0)
        content = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        try:
            notification = inbound.received(content, parse_qs(query, keep_blank_values=True))
        except inbound.InboundRequestError as error:
            self._send_problem(error)
            return
        results = self._deliver_inbound(notification)
        self._send(HTTPStatus.OK, "application/json", json.dumps(results).encode())

    def _send_problem(self, error: inbound.InboundRequestError) -> None:
        problem = {"errors": [{"field": error.field, "message": str(error)}]}
        self._send(HTTPStatus.BAD_REQUEST, "application/json", json.dumps(problem).encode())

    def _deliver_inbound(self, notification: dict[str, Any]) -> list[Any]:
        """An SES receipt notification published to the inbound mail topic: what each subscriber returned."""
        topics = template.inbound_mail_topics()
        return [
            self.server.functions.invoke(function, inbound.sns_event(notification, topic))
            for function, topic in template.sns_subscribers()
            if topic in topics
        ]

    def _message_page(self, name: str) -> None:
        entry = self.server.outbox.entry(name)
        raw = self.server.outbox.read(entry.file) if entry is not None else None
        if entry is None or raw is None:
            self._send(HTTPStatus.NOT_FOUND, HTML, NO_SUCH_MESSAGE)
            return
        with self.server.replies_lock:
            replies = list(self.server.replies.get(entry.file, []))
        page = outbox_pages.message_page(
            entry,
            raw,
            self.server.outbox.entries(),
            _request_state(entry.request_id),
            replies,
            self.server.scheduler.offset,
        )
        self._send(HTTPStatus.OK, HTML, page.encode(), [("Cache-Control", "no-store")])

    def _send_clock(self) -> None:
        scheduler = self.server.scheduler
        body = {"now": scheduler.now().isoformat(), "offset_seconds": scheduler.offset.total_seconds()}
        self._send(HTTPStatus.OK, "application/json", json.dumps(body).encode())

    def _form(self) -> dict[str, list[str]]:
        """The url-encoded body (blank values kept: an emptied reply box is an empty reply)."""
        length = int(self.headers.get("Content-Length") or 0)
        return parse_qs(self.rfile.read(length).decode() if length else "", keep_blank_values=True)

    def _redirect(self, location: str) -> None:
        self._send(HTTPStatus.SEE_OTHER, None, b"", [("Location", location)])

    def do_OPTIONS(self) -> None:
        self._api()

    def _api(self) -> None:
        parts = urlsplit(self.path)
        found = apigw.match_route(self.server.routes, self.command, parts.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if found is None:
            self._send(
                HTTPStatus.NOT_FOUND,
                "application/json",
                b'{"errors":[{"field":"path","message":"no such route"}]}',
            )
            return
        route, params = found
        event = apigw.proxy_event(
            route,
            self.command,
            parts.path,
            parts.query,
            dict(self.headers.items()),
            body,
            params,
            self.client_address[0],
        )
        try:
            response = self.server.functions.invoke(route.function, event)
        except Exception:
            log.exception("%s raised", route.function)
            self._send(HTTPStatus.BAD_GATEWAY, "application/json", b'{"message":"Internal server error"}')
            return
        status, headers, data = apigw.response_parts(response)
        self._send(status, None, data, headers)

    def _send(
        self, status: int, content_type: str | None, data: bytes, headers: list[tuple[str, str]] | None = None
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers or []:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def favicon(path: Path = QUOTE_FORM) -> bytes:
    """The icon the pages carry inline (a data: URI, so no request in AWS, where the API has no
    /favicon.ico route), for clients that ask this stack for /favicon.ico anyway."""
    found = ICON_LINK.search(path.read_text())
    if found is None:
        raise ValueError(f"no inline SVG icon in {path}")
    return unquote(found.group(1)).encode()


def site_page(path: Path, form_id: str, route: str) -> bytes:
    """A form of site/ with its action pointed at this stack (read per request: edits show on reload)."""
    pattern = re.compile(FORM_ACTION.format(form_id=form_id))
    page, replaced = pattern.subn(rf"\g<1>{route}\g<2>", path.read_text(), count=1)
    if not replaced:
        raise ValueError(f'{path} has no <form id="{form_id}" action=...>')
    return page.encode()


def quote_form_page(path: Path = QUOTE_FORM) -> bytes:
    """site/quote-form.html as this stack serves it at /."""
    return site_page(path, *SITE_PAGES["/"][1:])


def _local_path(value: str) -> str | None:
    """A path on this server to send a browser back to, or None (no open redirects)."""
    if value.startswith("/") and not value.startswith("//") and not re.search(r"[\\\s]", value):
        return value
    return None


def _request_state(request_id: str) -> RequestState | None:
    """What the Requests table says about a request now (one Query); None when it cannot be read."""
    if not request_id:
        return None
    from directormatch.aws import tables

    try:
        items = tables.requests().partition(request_id)
    except Exception:  # the outbox still shows the mail when the table cannot be read
        log.warning("could not read request %s", request_id, exc_info=True)
        return None
    return outbox_pages.request_state(items)
