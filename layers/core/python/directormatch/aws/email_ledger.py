"""Which emails went out (EMAIL#<kind>#<recipient> markers in each request's partition) and which
addresses must not be written to (the suppression list), both in the Requests table."""

from __future__ import annotations

from botocore.exceptions import ClientError

from directormatch.aws.attributes import error_code, key, to_attributes
from directormatch.aws.table import Table
from directormatch.errors import RetryLater
from directormatch.records import EmailMarker
from directormatch.vocabulary import EmailStatus

SUPPRESSION_SK = "SUPPRESSION"


class EmailLedger(Table):
    """A claim on each email before it is sent, the proof once it was, and the suppression list."""

    def claim_email(self, request_id: str, marker_sk: str, now: int, lease_seconds: int) -> bool:
        """Take the right to send one email: a new marker, a QUEUED one (the sender's), or a claim whose
        lease ran out (its sender died before it could say how the send ended).

        False: it was sent already. RetryLater: another invocation holds an unexpired lease.
        """
        marker = EmailMarker(request_id, marker_sk, EmailStatus.SENDING, lease_until=now + lease_seconds)
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_attributes(marker.to_item()),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR email_status = :queued"
                    " OR (email_status = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeValues=to_attributes(
                    {":queued": EmailStatus.QUEUED, ":sending": EmailStatus.SENDING, ":now": now}
                ),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = EmailMarker.from_attributes(error.response.get("Item", {}))  # type: ignore[arg-type]
            if old.email_status in (EmailStatus.SENT, EmailStatus.SUPPRESSED):
                return False
            raise RetryLater("email is being sent by another invocation") from error
        return True

    def email_decided(self, request_id: str, marker_sk: str) -> bool:
        """True when the email already has a marker: queued, being sent, sent or suppressed."""
        return self.item(request_id, marker_sk, consistent=True) is not None

    def mark_email_queued(self, request_id: str, marker_sk: str, now: int) -> None:
        """Record that the email's message is in the send queue (written after it is, so a QUEUED
        marker always has a message behind it); a marker the sender wrote meanwhile stays."""
        self.put_new(EmailMarker(request_id, marker_sk, EmailStatus.QUEUED, queued_at=now).to_item())

    def mark_email_suppressed(self, request_id: str, marker_sk: str, now: int) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=key(request_id, marker_sk),
            UpdateExpression="SET email_status = :suppressed, sent_at = :now REMOVE lease_until",
            ExpressionAttributeValues=to_attributes({":suppressed": EmailStatus.SUPPRESSED, ":now": now}),
        )

    def mark_email_sent(self, request_id: str, marker_sk: str, message_id: str, now: int) -> None:
        self.client.update_item(
            TableName=self.table,
            Key=key(request_id, marker_sk),
            UpdateExpression="SET email_status = :sent, message_id = :mid, sent_at = :now REMOVE lease_until",
            ExpressionAttributeValues=to_attributes(
                {":sent": EmailStatus.SENT, ":mid": message_id, ":now": now}
            ),
        )

    def release_email(self, request_id: str, marker_sk: str, queued: bool = False) -> None:
        """Give the claim back after a failed send so the retry does not wait for the lease: back to
        QUEUED when the send queue brings the message again, else gone."""
        condition = to_attributes({":sending": EmailStatus.SENDING, ":queued": EmailStatus.QUEUED})
        if queued:
            self.client.update_item(
                TableName=self.table,
                Key=key(request_id, marker_sk),
                UpdateExpression="SET email_status = :queued REMOVE lease_until",
                ConditionExpression="email_status = :sending",
                ExpressionAttributeValues=condition,
            )
            return
        self.client.delete_item(
            TableName=self.table,
            Key=key(request_id, marker_sk),
            ConditionExpression="email_status = :sending",
            ExpressionAttributeValues={":sending": condition[":sending"]},
        )

    def suppress(self, address_key: str, reason: str, at: str) -> bool:
        """Record an address as undeliverable; False when it already was."""
        return self.put_new({"pk": address_key, "sk": SUPPRESSION_SK, "reason": reason, "created_at": at})

    def is_suppressed(self, address_key: str) -> bool:
        return self.item(address_key, SUPPRESSION_SK) is not None
