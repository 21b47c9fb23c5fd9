"""Unit tests are pure: no moto, no network. Any socket connection fails the test."""

from __future__ import annotations

import socket
from typing import Any

import pytest


class SocketBlockedError(RuntimeError):
    """A unit test tried to open a network connection."""


def _blocked(*args: Any, **kwargs: Any) -> Any:
    raise SocketBlockedError("unit tests must not use the network; use tests/integration")


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _blocked)
    monkeypatch.setattr(socket.socket, "connect_ex", _blocked)
    monkeypatch.setattr(socket, "create_connection", _blocked)
    monkeypatch.setattr(socket, "getaddrinfo", _blocked)
