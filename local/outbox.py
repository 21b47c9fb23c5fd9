"""Every email the stack sends, kept as .eml files under .local/outbox/ (read from moto's SES backend)."""

from __future__ import annotations

import email
import threading
from dataclasses import asdict, dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class OutboxEntry:
    file: str
    to: str
    subject: str
    kind: str
    message_id: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
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
        kind = message.get("Message-ID", "<mail.>").strip("<>").split(".", 1)[0]
        name = f"{len(self._entries) + 1:05d}-{kind}.eml"
        (self.directory / name).write_bytes(raw)
        self._entries.append(
            OutboxEntry(name, str(message["To"]), str(message["Subject"]), kind, str(message["Message-ID"]))
        )

    def entries(self) -> list[OutboxEntry]:
        self.collect()
        with self._lock:
            return list(self._entries)

    def read(self, name: str) -> bytes | None:
        path = (self.directory / name).resolve()
        if path.parent != self.directory.resolve() or not path.is_file():
            return None
        return path.read_bytes()
