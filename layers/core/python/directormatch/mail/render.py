"""Email rendering (Jinja2, autoescaped HTML beside plain text) and sending through SES v2."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directormatch.aws import clients as aws
from directormatch.errors import EmailNotSent
from directormatch.mail import labels

if TYPE_CHECKING:
    from jinja2 import Environment
    from mypy_boto3_sesv2 import SESV2Client

TEMPLATES = Path(__file__).parent / "templates"
MESSAGE_ID_DOMAIN = "directormatch"
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
    environment.filters.update(
        modality=labels.modality_label, malpractice=labels.malpractice_label, minute=minute
    )
    environment.filters["phone"] = labels.us_phone
    return environment


def minute(moment: object) -> str:
    """An ISO timestamp (or a datetime) to the minute, as emails and pages show it: 2027-01-05 14:30."""
    return str(moment).replace("T", " ")[:16]


def render_page(name: str, **context: Any) -> str:
    """A web page from templates/<name>.html (same autoescaped environment as the emails)."""
    return unicode_safe(_environment().get_template(f"{name}.html").render(**context))


def unicode_safe(value: str) -> str:
    """`value` with each lone UTF-16 surrogate (no UTF-8 form) replaced by U+FFFD. Intake refuses
    them, but an item stored before, or written by another path, must not make every email or page
    quoting it fail with UnicodeEncodeError (DynamoDB Local stores them; moto refused them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def header_safe(value: str) -> str:
    """Header values never carry user line breaks or control characters (header injection), nor a
    lone surrogate."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", unicode_safe(value)).strip()


@dataclass(frozen=True)
class Email:
    kind: str
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    to_name: str = ""
    reply_to: str = ""
    correlation_id: str = ""


def render(kind: str, to: str, idempotency_ref: str, template: str = "", **context: Any) -> Email:
    """Render templates/<template>.{subject,txt,html} (the template defaults to the kind) with the
    items in `context`; the Message-ID is stable per (kind, ref). The parts see the subject too."""
    env, name = _environment(), template or kind
    subject = header_safe(env.get_template(f"{name}.subject").render(**context))
    return Email(
        kind=kind,
        to=to,
        subject=subject,
        text=unicode_safe(env.get_template(f"{name}.txt").render(subject=subject, **context)),
        html=unicode_safe(env.get_template(f"{name}.html").render(subject=subject, **context)),
        message_id=f"<{kind}.{idempotency_ref}@{MESSAGE_ID_DOMAIN}>",
    )


def to_mime(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage(policy=MIME_POLICY)
    message["From"] = formataddr(("DirectorMatch", sender))
    message["To"] = (
        formataddr((header_safe(email.to_name), header_safe(email.to)))
        if email.to_name
        else header_safe(email.to)
    )
    message["Subject"] = header_safe(email.subject)
    message["Message-ID"] = email.message_id or make_msgid(domain=MESSAGE_ID_DOMAIN)
    if email.reply_to:
        message["Reply-To"] = header_safe(email.reply_to)
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

    @property
    def client(self) -> SESV2Client:
        return self._client or aws.sesv2()

    def send(self, email: Email) -> str:
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [header_safe(email.to)]},
            "Content": {"Raw": {"Data": to_mime(email, self.sender).as_bytes()}},
            "EmailTags": [{"Name": "kind", "Value": email.kind}],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        from botocore.exceptions import ClientError

        try:
            response = self.client.send_email(**request)
        except ClientError as error:  # after botocore's own retries
            raise EmailNotSent(str(error.response.get("Error", {}).get("Code", "Unknown"))) from None
        return str(response.get("MessageId", ""))
