"""Email rendering (Jinja2, autoescaped HTML beside plain text) and sending through SES v2."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directormatch import text
from directormatch.aws import clients as aws
from directormatch.errors import EmailNotSent
from directormatch.mail import labels
from directormatch.text import unicode_safe
from directormatch.timezones import local_time

if TYPE_CHECKING:
    from jinja2 import Environment
    from mypy_boto3_sesv2 import SESV2Client

TEMPLATES = Path(__file__).parent / "templates"
MESSAGE_ID_DOMAIN = "directormatch"
MESSAGE_ID = re.compile(r"<[^\s<>@]+@[A-Za-z0-9.-]+>")
# RFC 5321's limit on an address; a display name longer than ours ever are is cut.
MAX_ADDRESS = 254
MAX_DISPLAY_NAME = 200
# RFC 5322 line limit; CRLF line ends as SMTP expects.
MIME_POLICY = policy.SMTP.clone(max_line_length=998)


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Every time a reader sees goes through local_time, in the reader's zone (directormatch.timezones).
    environment.filters.update(labels.FILTERS, local_time=local_time)
    return environment


def render_page(name: str, **context: Any) -> str:
    """A web page from templates/<name>.html (same autoescaped environment as the emails)."""
    return unicode_safe(_environment().get_template(f"{name}.html").render(**context))


def header_safe(value: str) -> str:
    """A header value a mail reader reads back as one line, as written, whatever was stored: the text
    rule's scrub (directormatch.text: line breaks, controls and separators become spaces, invisible
    characters go, a lone surrogate becomes U+FFFD), runs of spaces made one, and each "=?" opened
    up, since Python's email package (and mail clients after it) read "=?charset?q?...?=" in a header
    as an encoded word, which may decode to a line break. The policy folds and encodes the rest."""
    return " ".join(text.scrubbed(value).split()).replace("=?", "= ?")


def ascii_address(address: str) -> str:
    """The address with its domain in Punycode (IDNA 2008, as email_validator reads it): SES takes
    7-bit ASCII addresses only. Anything else stays as header_safe leaves it."""
    safe = header_safe(address)
    local, at, domain = safe.rpartition("@")
    if not at or domain.isascii():
        return safe
    import idna

    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode()}"
    except UnicodeError:  # idna.IDNAError is one
        return safe


def mailbox(address: str, name: str = "") -> Address:
    """A header's mailbox. An address that does not parse, or is longer than SMTP allows (the
    contract and the roster refuse both, but another path may have stored one), becomes the display
    name of an empty address: the message still builds, and SES refuses the send, as it should.
    Display names are cut short: the folder cannot split a long one over lines."""
    display_name, addr_spec = header_safe(name)[:MAX_DISPLAY_NAME], ascii_address(address)
    if len(addr_spec) <= MAX_ADDRESS:
        try:
            return Address(display_name=display_name, addr_spec=addr_spec)
        except (ValueError, HeaderParseError):  # the header defects are ValueErrors
            pass
    return Address(display_name=" ".join(filter(None, (display_name, addr_spec)))[:MAX_DISPLAY_NAME])


def message_id_header(message_id: str) -> str:
    """Ours are `<kind.ids@directormatch>`. One that is not a plain ASCII id within the line limit
    (ids stored by another path) is replaced by a digest of it: still the same for the same email."""
    safe = header_safe(message_id)
    if safe.isascii() and len(safe) <= MAX_ADDRESS and MESSAGE_ID.fullmatch(safe):
        return safe
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"


@dataclass(frozen=True)
class Email:
    kind: str
    # Everyone it is addressed to, all in To (an introduction goes to the clinic and its directors
    # together, so that any of them can reply to all).
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    message_id: str
    to_name: str = ""  # the display name of a lone recipient
    reply_to: str = ""
    correlation_id: str = ""


def render(
    kind: str, to: str | Sequence[str], idempotency_ref: str, template: str = "", **context: Any
) -> Email:
    """Render templates/<template>.{subject,txt,html} (the template defaults to the kind) with the
    items in `context`, for one address or several; the Message-ID is stable per (kind, ref). The
    parts see the subject too."""
    env, name = _environment(), template or kind
    subject = header_safe(env.get_template(f"{name}.subject").render(**context))
    return Email(
        kind=kind,
        to=(to,) if isinstance(to, str) else tuple(to),
        subject=subject,
        text=unicode_safe(env.get_template(f"{name}.txt").render(subject=subject, **context)),
        html=unicode_safe(env.get_template(f"{name}.html").render(subject=subject, **context)),
        message_id=f"<{kind}.{idempotency_ref}@{MESSAGE_ID_DOMAIN}>",
    )


def to_mime(email: Email, sender: str) -> EmailMessage:
    """The message as SES sends it. Never raises on what its headers carry: every value is made safe
    first (header_safe, mailbox), then folded and encoded by the policy."""
    message = EmailMessage(policy=MIME_POLICY)
    message["From"] = mailbox(sender, "DirectorMatch")
    name = email.to_name if len(email.to) == 1 else ""
    message["To"] = [mailbox(address, name) for address in email.to]
    message["Subject"] = header_safe(email.subject)
    message["Message-ID"] = (
        message_id_header(email.message_id) if email.message_id else make_msgid(domain=MESSAGE_ID_DOMAIN)
    )
    if email.reply_to:
        message["Reply-To"] = mailbox(email.reply_to)
    if email.correlation_id:
        message["X-Correlation-ID"] = header_safe(email.correlation_id)
    message.set_content(unicode_safe(email.text))
    message.add_alternative(unicode_safe(email.html), subtype="html")
    return message


class Mailer:
    """Sends raw MIME through SES v2 (raw keeps both parts; see DESIGN.md)."""

    def __init__(self, sender: str, configuration_set: str = "", client: SESV2Client | None = None) -> None:
        self.sender = sender
        self.configuration_set = configuration_set
        self._client = client
        # Called right before each SES call: the sender's pacer (directormatch.mail.send_queue.Pacer).
        self.pace: Callable[[], object] | None = None

    @property
    def client(self) -> SESV2Client:
        return self._client or aws.sesv2()

    def send(self, email: Email) -> str:
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [ascii_address(address) for address in email.to]},
            "Content": {"Raw": {"Data": to_mime(email, self.sender).as_bytes()}},
            "EmailTags": [{"Name": "kind", "Value": email.kind}],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        from botocore.exceptions import ClientError

        if self.pace is not None:
            self.pace()
        try:
            response = self.client.send_email(**request)
        except ClientError as error:  # after botocore's own retries
            raise EmailNotSent(str(error.response.get("Error", {}).get("Code", "Unknown"))) from None
        return str(response.get("MessageId", ""))
