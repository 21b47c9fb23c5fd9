"""Applications to join in the Directors table: a PENDING director's items written at once, and ops'
decision on them, each one transaction conditional on the application's status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from directormatch import keys
from directormatch.aws import attributes
from directormatch.aws.directors_table import DirectorStore
from directormatch.errors import ApplicationConflict
from directormatch.vocabulary import ApplicationStatus

ON_FILE = (
    "A director with this NPI is already on file with us (an application or our roster). "
    "To change an application, email ops; nothing new was stored."
)


class DecisionRefused(Exception):
    """Ops' approve or reject cannot apply: the message says why (ids and statuses only)."""


class AlreadyDecided(DecisionRefused):
    """The application was approved or rejected before: that decision stands."""


@dataclass(frozen=True)
class Submitted:
    director_id: str
    replayed: bool


@dataclass(frozen=True)
class Decision:
    """What ops decided on one application, and when: the applicant is told it."""

    director_id: str
    status: ApplicationStatus
    decided_at: str
    reason: str = ""


class ApplicationStore(DirectorStore):
    """The Directors table as applications use it."""

    def submit(self, items: list[dict[str, Any]]) -> Submitted:
        """Write a PENDING director's items (PROFILE first) in one transaction, each only if new.
        The same application again (its hash on the stored PROFILE) is a replay; anything else on
        file under the id is ApplicationConflict, and nothing is written."""
        profile = items[0]
        transaction: list[Any] = [{"Put": attributes.conditional_put(self.table, item)} for item in items]
        replayed = self.transact_retried(
            transaction,
            lambda codes: self._replayed(profile) if "ConditionalCheckFailed" in codes else None,
            "application write",
        )
        return Submitted(profile["director_id"], replayed=False) if replayed is None else replayed

    def _replayed(self, profile: dict[str, Any]) -> Submitted:
        stored = self.item(profile["pk"], keys.PROFILE_SK) or {}
        same = stored.get("application_hash") == profile["application_hash"]
        if not same:
            raise ApplicationConflict(ON_FILE)
        return Submitted(profile["director_id"], replayed=True)

    def decide(
        self, director_id: str, status: ApplicationStatus, by: str, at: str, reason: str = ""
    ) -> Decision:
        """Approve (the director becomes ACTIVE: PROFILE and every LICENSE item the matcher reads, and
        each license and registration marked verified) or reject (PROFILE only; it stays inactive).
        One transaction, conditional on the application being PENDING: DecisionRefused otherwise."""
        profile = self.item(director_id, keys.PROFILE_SK)
        if profile is None:
            raise DecisionRefused(f"no application {director_id}")
        self._check_pending(profile)
        verified = {"verified_at": at, "verified_by": by}
        decided = {"application_status": status.value, "decided_at": at, "decided_by": by}
        if reason:
            decided["decision_reason"] = reason
        approve = status is ApplicationStatus.APPROVED
        updates: list[Any] = [
            _update(
                self.table,
                director_id,
                keys.PROFILE_SK,
                {**decided, **({"active": True, **verified} if approve else {})},
                "application_status = :pending",
                {":pending": ApplicationStatus.PENDING.value},
            )
        ]
        if approve:
            updates += [
                _update(self.table, director_id, keys.LICENSE(state), {"active": True, **verified})
                for state in profile.get("licensed_states", ())
            ]
            updates += [
                _update(self.table, director_id, keys.DEA(state), verified)
                for state in profile.get("dea_states", ())
            ]
        try:
            self.client.transact_write_items(TransactItems=updates)
        except ClientError as error:
            if "ConditionalCheckFailed" not in attributes.cancellation_codes(error):
                raise
            self._check_pending(self.item(director_id, keys.PROFILE_SK) or {})
            raise DecisionRefused(
                f"application {director_id} changed while it was being decided (a license added or "
                "removed by a roster import?): nothing was written; run the command again"
            ) from None
        self.follow_availability(director_id)
        return Decision(director_id, status, at, reason)

    def decision(self, director_id: str) -> Decision | None:
        """The decision already taken on an application, if any."""
        profile = self.item(director_id, keys.PROFILE_SK) or {}
        status = profile.get("application_status")
        if status not in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
            return None
        return Decision(
            director_id, ApplicationStatus(status), profile["decided_at"], profile.get("decision_reason", "")
        )

    @staticmethod
    def _check_pending(profile: dict[str, Any]) -> None:
        status = profile.get("application_status")
        director_id = profile.get("director_id", "")
        if status is None:
            raise DecisionRefused(f"director {director_id} came from the roster, not an application")
        if status != ApplicationStatus.PENDING:
            raise AlreadyDecided(
                f"application {director_id} was already {status.lower()} on {profile.get('decided_at')}: "
                "nothing changed"
            )


def _update(
    table: str,
    pk: str,
    sk: str,
    values: dict[str, Any],
    condition: str = "attribute_exists(pk)",
    condition_values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A transaction's conditional Update setting `values` on one item."""
    update = attributes.set_and_remove(table, {"pk": pk, "sk": sk}, values)
    update["ConditionExpression"] = condition
    if condition_values:
        update.setdefault("ExpressionAttributeValues", {}).update(attributes.to_attributes(condition_values))
    return {"Update": update}
