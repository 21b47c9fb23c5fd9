"""Every email the stack sends, kept as .eml files under .local/outbox/ (read from moto's SES backend)."""

from __future__ import annotations

import email
import re
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
# notify's Message-IDs are <kind.ref@directormatch>; a ref about a request starts with its ULID.
MESSAGE_ID = re.compile(r"<?(?P<kind>[a-z_]+)\.(?P<ref>[^@>]+)@")
ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


@dataclass(frozen=True)
class OutboxEntry:
    file: str
    to: str
    subject: str
    kind: str
    message_id: str
    # The request the email is about ("" for emails about a director alone, e.g. a license expiry).
    request_id: str = ""
    # When the outbox picked it up from SES (the stream pump collects on every tick).
    sent_at: str = ""
    # Each address in To: an introduction goes to the clinic and its directors at once.
    recipients: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The file name without .eml: /_outbox/<name> shows the message, /_outbox/<file> is raw."""
        return self.file.removesuffix(".eml")

    @property
    def offer_director_id(self) -> str:
        """The director an offer went to (notify's offer ref is <request>.<director>); "" for others."""
        ref = _ref(self.message_id)
        return ref.split(".")[1] if self.kind == "offer" and self.request_id and ref.count(".") == 1 else ""

    def addressed_to(self, address: str) -> bool:
        return address.strip().lower() in (r.lower() for r in self.recipients)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "page": f"/_outbox/{self.name}"}


def _ref(message_id: str) -> str:
    match = MESSAGE_ID.match(message_id.strip())
    return match.group("ref") if match else ""


def request_of(message_id: str) -> str:
    """The request id a Message-ID carries, or ""."""
    first = _ref(message_id).split(".", 1)[0]
    return first if ULID.fullmatch(first) else ""


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob("*.eml"):
            old.unlink()
        self._seen = 0
        self._entries: list[OutboxEntry] = []
        self._lock = threading.Lock()

    def collect(self) -> int:
        """Write messages moto has received since the last call; returns how many."""
        from moto.ses.models import ses_backends

        sent: list[Any] = ses_backends[ACCOUNT][REGION].sent_messages
        with self._lock:
            fresh = sent[self._seen :]
            for message in fresh:
                self._write(message)
            self._seen += len(fresh)
            return len(fresh)

    def _write(self, sent: Any) -> None:
        raw = sent.raw_data.encode() if isinstance(sent.raw_data, str) else sent.raw_data
        message = parse(raw)
        message_id = str(message.get("Message-ID", ""))
        kind = message_id.strip("<>").split(".", 1)[0] or "mail"
        name = f"{len(self._entries) + 1:05d}-{kind}.eml"
        (self.directory / name).write_bytes(raw)
        self._entries.append(
            OutboxEntry(
                name,
                str(message["To"]),
                str(message["Subject"]),
                kind,
                message_id,
                request_of(message_id),
                datetime.now(UTC).isoformat(timespec="seconds"),
                tuple(address.addr_spec for address in message["To"].addresses),
            )
        )

    def entries(self) -> list[OutboxEntry]:
        self.collect()
        with self._lock:
            return list(self._entries)

    def entry(self, name: str) -> OutboxEntry | None:
        """The entry for a file name, with or without .eml."""
        file = name if name.endswith(".eml") else f"{name}.eml"
        return next((e for e in self.entries() if e.file == file), None)

    def read(self, name: str) -> bytes | None:
        path = (self.directory / name).resolve()
        if path.parent != self.directory.resolve() or not path.is_file():
            return None
        return path.read_bytes()

    def wait_for_more(self, count: int, request_id: str, timeout: float, quiet: float = 0.5) -> None:
        """Wait until the outbox holds mail about `request_id` beyond its first `count` entries and
        nothing new has come for `quiet` seconds (the emails an answer causes arrive in a burst), or
        until `timeout`."""
        deadline = time.monotonic() + timeout
        last_size, last_change = count, time.monotonic()
        while time.monotonic() < deadline:
            entries = self.entries()
            if len(entries) != last_size:
                last_size, last_change = len(entries), time.monotonic()
            arrived = any(e.request_id == request_id for e in entries[count:])
            if arrived and time.monotonic() - last_change >= quiet:
                return
            time.sleep(0.05)
