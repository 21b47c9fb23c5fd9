"""The local stack's schedules: the sweep's rules on a short timer and the one-time schedules the
functions create (local.schedules), on a clock tests can move forward."""

from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from local import template
from local.lambdas import Functions
from local.schedules import OneTimeSchedules

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


def is_frequent(expression: str) -> bool:
    """rate(N minutes|hours) up to an hour; cron() and longer rates count as daily."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", expression)
    if match is None:
        return False
    return match.group(2).startswith("minute") or int(match.group(1)) <= 1


class Scheduler:
    def __init__(
        self, functions: Functions, interval_seconds: float, one_time: OneTimeSchedules | None = None
    ) -> None:
        self.functions = functions
        self.one_time = one_time
        self.interval = interval_seconds
        self.offset = timedelta()
        self.targets = template.schedules()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self.last_reports: list[Any] = []
        self.started = datetime.now(UTC)
        self.last_daily: dict[str, datetime] = {}

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock; the offset stays until reset() or a restart, so offers sent later are
        measured against it too (a new offer open 4 hours expires at the next sweep after +5 h)."""
        self.offset += delta
        return self.now()

    def reset(self) -> datetime:
        """Back to real time."""
        self.offset = timedelta()
        return self.now()

    def run_once(self) -> list[Any]:
        """The one-time schedules now due, then every frequent rule (each tick stands for its
        period); a daily one once the clock has moved a day since it last ran, so
        /_clock/advance?hours=24 triggers it."""
        with self._lock:
            moment = self.now()
            self.last_reports = self.one_time.fire_due(moment) if self.one_time else []
            for name, expression, constant in self.targets:
                if not is_frequent(expression):
                    if moment - self.last_daily.get(expression, self.started) < timedelta(days=1):
                        continue
                    self.last_daily[expression] = moment
                event = scheduled_event(moment, name)
                # A rule with a constant Input delivers that instead; locally it also carries the
                # moved clock's time.
                self.last_reports.append(
                    self.functions.invoke(name, {**constant, "time": event["time"]} if constant else event)
                )
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
