"""A client that passes every call to a real (moto) one but refuses one call, as AWS does under
contention or load; the one helper behind every faulty client of the integration and reliability tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Refusal = Callable[[dict[str, Any]], ClientError | None]


def client_error(code: str, operation: str, message: str = "", **response: Any) -> ClientError:
    """The ClientError botocore raises for an AWS error `code` (response adds e.g. CancellationReasons)."""
    return ClientError({"Error": {"Code": code, "Message": message}, **response}, operation)


class FaultyClient:
    """Passes every call to `real`, except the first `times` calls of `operation` that `refuse` answers
    with an error: `meanwhile` runs first (the other writer whose work is in flight), then the error
    is raised. `refused` keeps the refused requests."""

    def __init__(
        self,
        real: Any,
        operation: str,
        refuse: Refusal,
        meanwhile: Callable[[], Any] | None = None,
        times: int = 1,
    ) -> None:
        self.real = real
        self.operation = operation
        self.refuse = refuse
        self.meanwhile = meanwhile
        self.times = times
        self.refused: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.real, name)
        return self._faulty(call) if name == self.operation else call

    def _faulty(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def faulty(**request: Any) -> Any:
            error = self.refuse(request) if len(self.refused) < self.times else None
            if error is None:
                return call(**request)
            self.refused.append(request)
            if self.meanwhile is not None:
                self.meanwhile()
            raise error

        return faulty


def use_client(monkeypatch: pytest.MonkeyPatch, store: type, client: Any) -> None:
    """Every `store` built without a client of its own uses `client` for the rest of the test."""
    monkeypatch.setattr(store, "client", property(lambda self: self._client or client))
