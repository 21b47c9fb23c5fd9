"""EventBridge Scheduler's one-time schedules, fired on the local clock.

moto stores the schedules the functions create but never fires them. This does what Scheduler does
when an `at(...)` schedule is due: it invokes the target function with the schedule's Input (plus
the local clock's time, as local.clock gives rule targets), retries a failed invocation up to the
target's MaximumRetryAttempts, then leaves the Input on its dead-letter queue, and deletes the
schedule when its ActionAfterCompletion says DELETE.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from local import template
from local.lambdas import Functions

log = logging.getLogger("local.schedules")


def due_at(expression: str) -> datetime | None:
    """The moment of an `at(yyyy-mm-ddThh:mm:ss)` expression (UTC, the only zone our code uses)."""
    found = re.fullmatch(r"at\((.+)\)", expression)
    return datetime.fromisoformat(found.group(1)).replace(tzinfo=UTC) if found else None


class OneTimeSchedules:
    def __init__(self, session: Any, functions: Functions) -> None:
        self.scheduler = session.client("scheduler")
        self.sqs = session.client("sqs")
        self.functions = functions
        self.fired = 0

    def due(self, moment: datetime) -> list[dict[str, Any]]:
        """Every schedule due by `moment`, earliest first."""
        found = []
        for group in template.schedule_groups():
            for page in self.scheduler.get_paginator("list_schedules").paginate(GroupName=group):
                for summary in page["Schedules"]:
                    schedule = self.scheduler.get_schedule(Name=summary["Name"], GroupName=group)
                    at = due_at(schedule["ScheduleExpression"])
                    if at is not None and at <= moment:
                        found.append({**schedule, "due": at})
        return sorted(found, key=lambda schedule: (schedule["due"], schedule["Name"]))

    def fire_due(self, moment: datetime) -> list[Any]:
        """Fire what is due, once each; the answers of the invocations that succeeded."""
        answers = []
        for schedule in self.due(moment):
            answer = self._fire(schedule, moment)
            if answer is not None:
                answers.append(answer)
            if schedule.get("ActionAfterCompletion") == "DELETE":
                self.scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
        return answers

    def _fire(self, schedule: dict[str, Any], moment: datetime) -> Any:
        target = schedule["Target"]
        function = template.function_named(target["Arn"].split(":function:", 1)[1].split(":")[0])
        event = {**json.loads(target.get("Input") or "{}"), "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
        attempts = 1 + int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185))
        for _ in range(attempts):
            try:
                self.fired += 1
                return self.functions.invoke(function, event)
            except Exception:
                log.exception("schedule %s: %s failed", schedule["Name"], function)
        self._dead_letter(target, schedule["Name"])
        return None

    def _dead_letter(self, target: dict[str, Any], name: str) -> None:
        arn = target.get("DeadLetterConfig", {}).get("Arn")
        if not arn:
            return
        url = self.sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody=target.get("Input") or "{}")
        log.error("schedule %s: input left on %s", name, arn)
