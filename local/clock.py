"""The local stack's schedule: the sweep on a short timer, with a clock tests can move forward."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from local import template
from local.lambdas import Functions

log = logging.getLogger("local.clock")


def scheduled_event(moment: datetime, rule: str) -> dict[str, Any]:
    """The shape EventBridge gives a scheduled rule's target (`sam local generate-event eventbridge`)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule}"],
        "detail": {},
    }


class Scheduler:
    def __init__(self, functions: Functions, interval_seconds: float) -> None:
        self.functions = functions
        self.interval = interval_seconds
        self.offset = timedelta()
        self.targets = template.schedules()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self.last_reports: list[Any] = []

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        self.offset += delta
        return self.now()

    def run_once(self) -> list[Any]:
        with self._lock:
            moment = self.now()
            # A rule with a constant Input delivers that instead of the scheduled event; locally it
            # also gets the moved clock's time, so tests can move expiry warnings too.
            self.last_reports = [
                self.functions.invoke(
                    name,
                    {**constant, "time": scheduled_event(moment, name)["time"]}
                    if constant
                    else scheduled_event(moment, name),
                )
                for name, _, constant in self.targets
            ]
            return self.last_reports

    def start(self) -> None:
        if self.interval > 0 and self.targets:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:
                log.exception("scheduled run failed")
