"""Calling the functions of template.yaml in this process, one invocation at a time per function
(a Lambda instance handles one event at a time; module state such as the resolver assumes it)."""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from local import template


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 15
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


class Functions:
    """Handlers by logical id, imported on first use from CodeUri + Handler."""

    def __init__(self) -> None:
        self._handlers: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _handler(self, name: str) -> tuple[Any, threading.Lock]:
        with self._guard:
            if name not in self._handlers:
                module, attribute = template.handler_module(name)
                self._handlers[name] = getattr(importlib.import_module(module), attribute)
                self._locks[name] = threading.Lock()
            return self._handlers[name], self._locks[name]

    def warm(self) -> None:
        """Import every handler now, so the first request is not slowed by imports."""
        for name in template.resources("AWS::Serverless::Function"):
            self._handler(name)

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        handler, lock = self._handler(name)
        with lock:
            return handler(
                event, LambdaContext(function_name=name, timeout_seconds=template.function_timeout(name))
            )
