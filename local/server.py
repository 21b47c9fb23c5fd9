"""The local HTTP front door: the quote form, API routes of template.yaml, and the outbox."""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local import apigw, inbound, template
from local.clock import Scheduler
from local.lambdas import Functions
from local.outbox import Outbox
from local.template import Route

log = logging.getLogger("local.server")
STATIC = Path(__file__).parent / "static"
# The quote form the marketing site embeds; served as is, its action pointed at this stack.
QUOTE_FORM = template.ROOT / "site" / "quote-form.html"
FORM_ACTION = re.compile(r'(<form id="dm-quote"[^>]*?\saction=")[^"]*(")')


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


class Handler(BaseHTTPRequestHandler):
    server: LocalStackServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            no_store = [("Cache-Control", "no-store")]
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", quote_form_page(), no_store)
        elif path == "/_outbox":
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", _outbox_page(self.server.outbox).encode())
        elif path == "/_outbox.json":
            entries = [e.as_dict() for e in self.server.outbox.entries()]
            self._send(HTTPStatus.OK, "application/json", json.dumps(entries).encode())
        elif path.startswith("/_outbox/"):
            raw = self.server.outbox.read(path.removeprefix("/_outbox/"))
            if raw is None:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such message")
            else:
                self._send(HTTPStatus.OK, "message/rfc822", raw)
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
            body = json.dumps({"now": moment.isoformat(), "sweep": reports}).encode()
            self._send(HTTPStatus.OK, "application/json", body)
        elif parts.path.startswith("/_outbox/") and parts.path.endswith("/reply"):
            self._simulate_reply(parts.path.removeprefix("/_outbox/").removesuffix("/reply"))
        elif parts.path == "/_sweep":
            reports = self.server.scheduler.run_once()
            body = json.dumps({"now": self.server.scheduler.now().isoformat(), "sweep": reports}).encode()
            self._send(HTTPStatus.OK, "application/json", body)
        else:
            self._api()

    def _simulate_reply(self, name: str) -> None:
        """A director's reply to an offer email, delivered as SES would (SNS action) to the subscriber."""
        raw = self.server.outbox.read(name)
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode() if length else "")
        if raw is None:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such message")
            return
        body = form.get("body", ["ACCEPT"])[0]
        checks: tuple[str, ...] = ("spfVerdict", "dkimVerdict", "dmarcVerdict")
        verdicts = {name: form[name][0] for name in checks if name in form}
        content, recipients = inbound.reply_to_offer(raw, body, sender=form.get("from", [None])[0])
        notification = inbound.ses_notification(content, recipients, verdicts)
        topics = template.inbound_mail_topics()
        results = [
            self.server.functions.invoke(function, inbound.sns_event(notification, topic))
            for function, topic in template.sns_subscribers()
            if topic in topics
        ]
        self._send(HTTPStatus.OK, "application/json", json.dumps(results).encode())

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


def quote_form_page(path: Path = QUOTE_FORM) -> bytes:
    """site/quote-form.html with its API base set to this stack (read per request: edits show on reload)."""
    page, replaced = FORM_ACTION.subn(r"\g<1>/quote-requests\g<2>", path.read_text(), count=1)
    if not replaced:
        raise ValueError(f'{path} has no <form id="dm-quote" action=...>')
    return page.encode()


def _reply_form(name: str) -> str:
    """Simulate the director replying to this offer email (as SES inbound would deliver it)."""
    return (
        f'<form method="post" action="/_outbox/{html.escape(name)}/reply" style="display:flex;gap:.4rem">'
        '<label>Reply <input name="body" value="ACCEPT" size="10"></label>'
        "<button>Send reply</button></form>"
    )


def _outbox_page(outbox: Outbox) -> str:
    rows = "".join(
        f'<tr><td><a href="/_outbox/{html.escape(e.file)}">{html.escape(e.file)}</a></td>'
        f"<td>{html.escape(e.kind)}</td><td>{html.escape(e.to)}</td><td>{html.escape(e.subject)}</td></tr>"
        for e in reversed(outbox.entries())
    )
    return (
        "<!doctype html><meta charset=utf-8><title>Outbox</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}td,th{padding:.3rem .8rem;text-align:left}"
        "tr:nth-child(even){background:#f4f6f8}</style>"
        "<h1>Outbox</h1><table><tr><th>File</th><th>Kind</th><th>To</th><th>Subject</th><th>Reply</th></tr>"
        f"{rows or '<tr><td colspan=4>No email sent yet.</td></tr>'}</table>"
    )
