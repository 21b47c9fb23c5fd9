"""One-time EventBridge Scheduler schedules that call the sweep function for one request at one moment.

A wave's offers share their expiry, so each wave gets one schedule (`wave-<request>-<n>`), and each
request one at its 20-hour SLA (`sla-<request>`). Names and inputs carry ids only. A name is unique in
its group, so a redelivered create is a ConflictException: already done. A create that fails is
logged and counted, never raised: the wave is recorded, and the sweep's safety net finds it late.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from directormatch.aws.clients import client
from directormatch.observability import MetricName, logger, metrics
from directormatch.settings import Settings, get_settings

# Scheduler retries a failed invocation for up to this long, then leaves its input on the DLQ.
RETRY_ATTEMPTS = 10
RETRY_SECONDS = 6 * 3600


class Task(StrEnum):
    """What the sweep function does for a schedule's input."""

    ADVANCE = "advance"  # expire the request's due offers; next wave or NO_MATCH
    SLA = "sla"  # the 20-hour escalation
    SWEEP = "sweep"  # the safety net's next page


def at_expression(moment: datetime) -> str:
    """Scheduler's one-time expression, in UTC to the second."""
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})"


@dataclass(frozen=True)
class SweepSchedules:
    group: str
    target_arn: str
    role_arn: str
    dead_letter_arn: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> SweepSchedules | None:
        """None when the stack has no schedule group (the schedules are off)."""
        s = settings or get_settings()
        if not s.schedule_group:
            return None
        return cls(s.schedule_group, s.sweep_function_arn, s.scheduler_role_arn, s.schedule_dead_letter_arn)

    def wave_expiry(self, request_id: str, wave: int, expires_at: str) -> bool:
        payload = {"task": Task.ADVANCE, "request_id": request_id}
        return self.create(f"wave-{request_id}-{wave}", datetime.fromisoformat(expires_at), payload)

    def sla(self, request_id: str, moment: datetime) -> bool:
        return self.create(f"sla-{request_id}", moment, {"task": Task.SLA, "request_id": request_id})

    def create(self, name: str, moment: datetime, payload: dict[str, Any]) -> bool:
        """True when this call created the schedule or it existed already; False when it failed."""
        try:
            client("scheduler").create_schedule(**self.request(name, moment, payload))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConflictException":
                return True
            return self._failed(name, error)
        except BotoCoreError as error:
            return self._failed(name, error)
        return True

    def request(self, name: str, moment: datetime, payload: dict[str, Any]) -> dict[str, Any]:
        """CreateSchedule's arguments."""
        return {
            "Name": name,
            "GroupName": self.group,
            "ScheduleExpression": at_expression(moment),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": self.target_arn,
                "RoleArn": self.role_arn,
                "Input": json.dumps(payload),
                "RetryPolicy": {
                    "MaximumRetryAttempts": RETRY_ATTEMPTS,
                    "MaximumEventAgeInSeconds": RETRY_SECONDS,
                },
                "DeadLetterConfig": {"Arn": self.dead_letter_arn},
            },
        }

    @staticmethod
    def _failed(name: str, error: Exception) -> bool:
        metrics.add_metric(name=MetricName.SCHEDULE_FAILED, unit="Count", value=1)
        logger.warning("schedule not created", extra={"schedule": name, "error": type(error).__name__})
        return False
