"""Put emails the sender gave up on back in the send queue: `python -m ops.resend`.

When SenderFunction fails a message maxReceiveCount times (an item it composes from is missing, SES
refused the account, a bug), SQS moves it to the SendDeadLetterQueue (a stack output; its alarm pages
ops). A message is a Letter: the email marker's partition, kind and recipient id and the item it
tells about, never an address. Once the cause is fixed:

    python -m ops.resend --dead-letter-url URL --queue-url URL [--dry-run]

with the stack's environment (AWS credentials and region, REQUESTS_TABLE). For each message it
reads the email's marker: SENT or SUPPRESSED (sent meanwhile, or its address bounced) drops the
message; otherwise the message goes back to the send queue and leaves the dead-letter queue. The
sender claims the marker before sending, so a message moved twice still sends once. The alert the
sender raised on the letter's last receive is marked resolved, so the clinic's status page no longer
says the request is delayed (a letter failing again raises a new one). `--dry-run`
lists each message and what would happen, and changes nothing. A message that is no letter is listed
and left where it is, visible again at once. Exit status: 1 when one was left, else 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from directormatch import keys
from directormatch.aws import clients, tables
from directormatch.aws.email_ledger import EmailLedger
from directormatch.aws.requests_table import RequestStore
from directormatch.mail.send_queue import SENDER, Letter
from directormatch.vocabulary import EmailStatus

VISIBILITY_SECONDS = 120  # a message being handled is hidden from a second run meanwhile
MAX_EMPTY_READS = 3
DONE = frozenset({EmailStatus.SENT, EmailStatus.SUPPRESSED})


@dataclass(frozen=True)
class Outcome:
    message_id: str
    action: str  # resend | drop | leave (done, or only listed with --dry-run)
    letter: Letter | None


def dead_letters(sqs: Any, url: str) -> Iterator[dict[str, Any]]:
    """Every message of the dead-letter queue, each once (hidden while the run lasts)."""
    empty = 0
    while empty < MAX_EMPTY_READS:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=VISIBILITY_SECONDS
        ).get("Messages", [])
        empty = 0 if messages else empty + 1
        yield from messages


def resend(
    sqs: Any,
    ledger: EmailLedger,
    requests: RequestStore,
    dead_letter_url: str,
    queue_url: str,
    dry_run: bool,
) -> list[Outcome]:
    outcomes = []
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    messages = list(dead_letters(sqs, dead_letter_url))
    for message in messages:
        try:
            letter = Letter.from_body(message["Body"])
        except ValueError:
            outcomes.append(Outcome(message["MessageId"], "leave", None))
            continue
        marker = ledger.item(letter.partition, keys.EMAIL(letter.kind, letter.recipient))
        done = marker is not None and marker.get("email_status") in DONE
        action = "drop" if done else "resend"
        if not dry_run:
            if not done:
                sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            requests.resolve_stream_alert(letter.partition, SENDER, message["MessageId"], now)
        outcomes.append(Outcome(message["MessageId"], action, letter))
    # What stays (all of a dry run, what is no letter) is visible to the next run at once.
    for message, outcome in zip(messages, outcomes, strict=True):
        if dry_run or outcome.action == "leave":
            sqs.change_message_visibility(
                QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.resend", description=__doc__.splitlines()[0])
    parser.add_argument("--dead-letter-url", required=True, help="the SendDeadLetterQueueUrl output")
    parser.add_argument("--queue-url", required=True, help="the SendQueueUrl output")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    outcomes = resend(
        clients.client("sqs"),
        tables.email_ledger(),
        tables.requests(),
        args.dead_letter_url,
        args.queue_url,
        args.dry_run,
    )
    for outcome in outcomes:
        letter = outcome.letter
        what = f"{letter.partition} {letter.kind} {letter.recipient}" if letter else "not a send-queue letter"
        print(f"{outcome.message_id}  {outcome.action:<7} {what}")
    print(f"{len(outcomes)} message(s){' (dry run: nothing changed)' if args.dry_run else ''}")
    return 1 if any(o.action == "leave" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
