"""Case 4: one undecodable record in a batch of ten. The other nine are processed, the one is
reported; after MaximumRetryAttempts the local stack's pump (Lambda's part) puts the batch's
coordinates on the StreamFailureQueue, and `python -m ops.replay` puts it back. An email that fails
every send waits in the send queue's dead-letter queue, and `python -m ops.resend` puts it back."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from directormatch.aws.attributes import from_attributes
from directormatch.aws.email_ledger import EmailLedger
from local import streams, template
from local.lambdas import LambdaContext
from ops import replay, resend
from ops.replay import Replayer
from tests.conftest import REGION
from tests.integration.conftest import Apps, Aws, LoadDirectors
from tests.integration.test_respond import link_token
from tests.reliability.conftest import Tally
from tests.reliability.helpers import (
    Records,
    SesFault,
    drain,
    duplicates,
    expected_message_ids,
    failure_queue_url,
    lost_emails,
    post_quote,
    queue_messages,
    sent,
    stream_alert_message_ids,
    stream_pump,
    stream_reader,
    table_items,
)

CASE = "4"
POISON_ID = "01JP01S0N0000000000000000Z"  # a ULID, as every request id is (it keys the status index)


def break_type(image: dict[str, Any]) -> None:
    """An attribute with a type DynamoDB does not have: the image cannot be decoded."""
    image["supervisees"] = {"QQ": "2"}


def drop_fields(image: dict[str, Any]) -> None:
    """A REQUEST image missing what every request has."""
    for name in ("states", "contact", "start_by"):
        image.pop(name, None)


def poisoned(record: dict[str, Any], spoil: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Another request's record, made into its own (new keys and sequence number), then spoiled."""
    poison = copy.deepcopy(record)
    change = poison["dynamodb"]
    change["Keys"]["pk"] = {"S": POISON_ID}
    change["NewImage"]["pk"] = change["NewImage"]["request_id"] = {"S": POISON_ID}
    change["SequenceNumber"] = str(int(change["SequenceNumber"]) + 10**6)
    poison["eventID"] = "poison"
    spoil(change["NewImage"])
    return poison


@pytest.mark.parametrize("spoil", [break_type, drop_fields], ids=["broken-attribute-type", "missing-fields"])
@pytest.mark.parametrize("function", ["MatchFunction", "NotifyFunction"])
def test_one_poison_record_in_ten_nine_processed_and_only_it_reported(
    aws: Aws,
    load_directors: LoadDirectors,
    apps: Apps,
    tally: Tally,
    function: str,
    spoil: Callable[[dict[str, Any]], None],
) -> None:
    # Given nine requests posted through intake, and their REQUEST inserts as `function` receives
    # them, with a tenth, undecodable one in the middle
    load_directors(3)
    reader = stream_reader(aws, function)
    ids = [post_quote(apps.intake, apps.context) for _ in range(9)]
    records = [r for r in reader() if r["dynamodb"]["NewImage"]["sk"]["S"] == "REQUEST"]
    assert len(records) == 9
    poison = poisoned(records[4], spoil)
    batch: Records = [*records[:4], poison, *records[4:]]
    app = apps.match if function == "MatchFunction" else apps.notify
    aws.use_function(function)

    # When the function receives the batch of ten
    response = app.lambda_handler({"Records": batch}, apps.context)

    # Then only the poison record is reported, by its sequence number
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    # And the nine were processed: matched (match), or their receipts sent once each (notify)
    if function == "MatchFunction":
        done = {i for i in ids if any(x["sk"] == "MATCH" for x in aws.request_store().partition(i))}
    else:
        done = {m.message_id.split(".", 1)[1].split("@")[0] for m in sent(aws) if m.kind == "receipt"}
    lost, duplicated = len(set(ids) - done), duplicates(sent(aws))
    tally.tried(ok=not lost, lost=lost, duplicated=duplicated)
    assert (lost, duplicated) == (0, 0)
    # And the poison left nothing but its ledger entry: keys and the error's type, no image
    short = "match" if function == "MatchFunction" else "notify"
    assert aws.request_store().partition(POISON_ID) == []
    [entry] = [i for i in ledger_entries(aws) if i["pk"] == f"STREAM_FAILURE#{short}"]
    assert (entry["item_pk"], entry["item_sk"], entry["event_name"]) == (POISON_ID, "REQUEST", "INSERT")
    assert entry["sequence_number"] == poison["dynamodb"]["SequenceNumber"]
    assert entry["error"] in ("TypeError", "KeyError")
    # (an INSERT has no old state: its empty map is left out, as every empty map is)
    assert set(entry) == {
        "pk",
        "sk",
        "sequence_number",
        "event_name",
        "item_pk",
        "item_sk",
        "error",
        "failed_at",
        "invocation",
        "ttl",
    }
    assert entry["invocation"] == apps.context.aws_request_id


def ledger_entries(aws: Aws) -> list[dict[str, Any]]:
    return [from_attributes(i) for i in table_items(aws.requests_table) if i["pk"]["S"].startswith("STREAM_")]


@pytest.fixture
def quick_pump(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pump's retry backoff without its sleeps (the retries still happen)."""
    monkeypatch.setattr(streams, "time", SimpleNamespace(sleep=lambda _: None, monotonic=time.monotonic))


def put_broken_request(aws: Aws) -> None:
    """A REQUEST item missing its fields, as a buggy writer or a hand edit could leave one."""
    item = {
        "pk": {"S": POISON_ID},
        "sk": {"S": "REQUEST"},
        "request_id": {"S": POISON_ID},
        "request_status": {"S": "NEW"},
        "created_at": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
    }
    aws.dynamodb.put_item(TableName=aws.requests_table, Item=item)


def fix_broken_request(aws: Aws, like: str) -> None:
    """The correction: the poison item gets the fields of a valid request (its own id and status)."""
    key = {"pk": {"S": like}, "sk": {"S": "REQUEST"}}
    valid = aws.dynamodb.get_item(TableName=aws.requests_table, Key=key)
    fixed = {**valid["Item"], "pk": {"S": POISON_ID}, "request_id": {"S": POISON_ID}}
    fixed["request_status"] = {"S": "NEW"}
    fixed.pop("wave", None)
    fixed.pop("updated_at", None)
    aws.dynamodb.put_item(TableName=aws.requests_table, Item=fixed)


def replayer(aws: Aws, **options: Any) -> Replayer:
    return Replayer(
        sqs=aws.session.client("sqs"),
        streams=aws.session.client("dynamodbstreams", region_name=REGION),
        wait_seconds=0,
        **options,
    )


def test_poison_request_exhausts_retries_lands_in_failure_queue_and_replay_puts_it_back(
    aws: Aws,
    load_directors: LoadDirectors,
    intake_app: ModuleType,
    lambda_context: LambdaContext,
    quick_pump: None,
    tally: Tally,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given four valid requests and, third in the stream, a REQUEST item missing its fields (the
    # handler test above has the batch of ten; moto copies every table on each transaction, so
    # the pump's many retries are kept on a small table)
    load_directors(3)
    ids = [post_quote(intake_app, lambda_context) for _ in range(2)]
    put_broken_request(aws)
    ids += [post_quote(intake_app, lambda_context) for _ in range(2)]
    aws.use_function("MatchFunction")
    pump = stream_pump(aws)

    # When the pump delivers the stream to match and notify until nothing is left
    drain(pump)

    # Then the nine were matched and every email they call for went out once, and ops got one
    # alert per function that gave up on the poison record
    for request_id in ids:
        assert aws.request_store().get_request(request_id)["request_status"] == "OFFERED"  # type: ignore[index]
    expected = set().union(*(expected_message_ids(aws, i) for i in ids))
    alerts = stream_alert_message_ids(aws.request_store().partition(POISON_ID))
    assert len(alerts) == 2
    assert {m.message_id for m in sent(aws)} == expected | alerts
    assert duplicates(sent(aws)) == 0
    # And each function, after its MaximumRetryAttempts, sent the batch's coordinates to the queue:
    # enough to find the records again (stream, shard, first and last sequence numbers, function)
    ledger = {i["pk"]: i for i in ledger_entries(aws)}
    poison_sequence = ledger["STREAM_FAILURE#match"]["sequence_number"]
    assert ledger["STREAM_FAILURE#notify"]["sequence_number"] == poison_sequence
    stream_arn = aws.dynamodb.describe_table(TableName=aws.requests_table)["Table"]["LatestStreamArn"]
    shard = aws.session.client("dynamodbstreams").describe_stream(StreamArn=stream_arn)
    retries = {s.function: s.maximum_retry_attempts for s in template.stream_subscriptions()}
    messages = {m["requestContext"]["functionArn"]: m for m in queue_messages(aws)}
    assert set(messages) == {"MatchFunction", "NotifyFunction"}
    for function, message in messages.items():
        info = message["DDBStreamBatchInfo"]
        assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert message["requestContext"]["approximateInvokeCount"] == retries[function] + 1
        assert info["streamArn"] == stream_arn
        assert info["shardId"] == shard["StreamDescription"]["Shards"][0]["ShardId"]
        assert info["startSequenceNumber"] == poison_sequence
        assert int(info["endSequenceNumber"]) >= int(poison_sequence)

    # When replay runs with --dry-run
    listed = replayer(aws, dry_run=True).run(failure_queue_url(aws))
    # Then it lists both batches, read back from the stream, and changes nothing
    assert sorted((o.status, o.source) for o in listed) == [("listed", "stream")] * 2
    assert len(queue_messages(aws)) == 2

    # When replay runs before the item is corrected (the stream still holds the bad image)
    again = replayer(aws).run(failure_queue_url(aws))
    # Then both batches fail again on the poison record alone and stay in the queue
    assert [(o.status, o.failed) for o in again] == [("failed", [poison_sequence])] * 2
    assert len(queue_messages(aws)) == 2

    # When the item is corrected, and replay re-drives the items as they are now (--source table)
    fix_broken_request(aws, like=ids[0])
    url = failure_queue_url(aws)
    status = replay.main(["--queue-url", url, "--source", "table", "--wait-seconds", "0"])
    drain(pump)

    # Then both batches were replayed and their messages deleted
    output = capsys.readouterr().out
    assert status == 0, output
    assert sum(line.startswith("replayed") for line in output.splitlines()) == 2
    assert "2 message(s): 2 done, 0 left in the queue" in output
    assert queue_messages(aws) == []
    # And its two alerts are resolved: the status page no longer says the request is delayed
    alert_items = [i for i in aws.request_store().partition(POISON_ID) if i["sk"].startswith("ALERT#STREAM")]
    assert len(alert_items) == 2
    assert all(i.get("resolved_at") for i in alert_items)
    # And the tenth request is matched, and every email of all ten went out exactly once
    poison = aws.request_store().get_request(POISON_ID)
    assert poison is not None
    assert poison["request_status"] == "OFFERED"
    everything = set().union(*(expected_message_ids(aws, i) for i in [*ids, POISON_ID]))
    messages_sent = sent(aws)
    lost = len(everything - {m.message_id for m in messages_sent})
    tally.tried(ok=lost == 0, lost=lost, duplicated=duplicates(messages_sent))
    assert lost == 0
    assert duplicates(messages_sent) == 0


class SesOutage:
    """SES unreachable while `down`: every SendEmail attempt fails to connect (botocore retries it,
    then gives up)."""

    def __init__(self) -> None:
        self.down = True
        self.attempts = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.exceptions import EndpointConnectionError

        if self.down:
            self.attempts += 1
            raise EndpointConnectionError(endpoint_url=request.url)
        return None


def resend_dead_letters(aws: Aws) -> list[resend.Outcome]:
    """`python -m ops.resend` on this account's send queues."""
    ledger = EmailLedger(aws.requests_table)
    sqs = aws.session.client("sqs")
    return resend.resend(
        sqs,
        ledger,
        aws.request_store(),
        aws.queues["SendDeadLetterQueue"],
        aws.queues["SendQueue"],
        dry_run=False,
    )


def sender_alerts(aws: Aws, request_id: str) -> list[dict[str, Any]]:
    return [
        i
        for i in aws.request_store().partition(request_id, consistent=True)
        if i["sk"].startswith("ALERT#STREAM_FAILED#SenderFunction#")
    ]


def status_page_delayed(aws: Aws, request_id: str) -> bool:
    from directormatch.intake.status_page import Partition, delayed

    items = aws.request_store().partition(request_id, consistent=True)
    partition = Partition.of(items)
    assert partition is not None
    return delayed(partition)


def email_markers(aws: Aws, request_id: str) -> dict[str, str]:
    return {
        i["sk"]: i["email_status"]
        for i in aws.request_store().partition(request_id)
        if i["sk"].startswith("EMAIL#")
    }


def test_ses_outage_longer_than_the_retries_dead_letters_the_emails_and_resend_sends_each_once(
    aws: Aws,
    load_directors: LoadDirectors,
    intake_app: ModuleType,
    lambda_context: LambdaContext,
    quick_pump: None,
    no_retry_delay: None,
    tally: Tally,
) -> None:
    # Given SES is unreachable, and a request matched to three directors
    from directormatch.aws import clients

    load_directors(3)
    outage = SesOutage()
    clients.sesv2().meta.events.register_first("before-send.sesv2.SendEmail", outage)
    request_id = post_quote(intake_app, lambda_context)
    pump = stream_pump(aws)

    # When the pump delivers the stream (notify queues the four emails) and the sender fails each
    # message on every receive
    drain(pump)
    assert sent(aws) == []

    # Then nothing was sent, notify failed nothing, and the four wait in the dead-letter queue with
    # their markers QUEUED (a redelivered stream record would queue none of them again)
    assert outage.attempts > 0
    assert queue_messages(aws) == []
    assert sorted(email_markers(aws, request_id).values()) == ["QUEUED"] * 4
    # And each letter's last receive raised its request's alert (ids only), so ops hear which email
    # and the clinic's status page says a step is delayed
    alerts = sender_alerts(aws, request_id)
    assert sorted(a["item_sk"] for a in alerts) == sorted(email_markers(aws, request_id))
    assert {(a["function"], a["status_at_failure"], a["error"]) for a in alerts} == {
        ("SenderFunction", "OFFERED", "EndpointConnectionError")
    }
    assert status_page_delayed(aws, request_id)

    # When SES is back (notify queues ops' four alert emails) and ops puts the dead letters back
    outage.down = False
    drain(pump)
    outcomes = resend_dead_letters(aws)

    # Then the receipt, the three offers and ops' four alerts went out exactly once
    assert [o.action for o in outcomes] == ["resend"] * 4
    emails = sent(aws)
    expected = expected_message_ids(aws, request_id)
    lost = len(expected - {m.message_id for m in emails})
    tally.tried(ok=lost == 0, lost=lost, duplicated=duplicates(emails))
    assert {m.message_id for m in emails} == expected
    assert len(expected) == 8
    assert sum(m.kind == "ops_stream_failed" for m in emails) == 4
    assert duplicates(emails) == 0
    # And a second run finds nothing left to put back
    assert resend_dead_letters(aws) == []
    # And the alerts are resolved: the status page no longer says the request is delayed
    assert all(a.get("resolved_at") for a in sender_alerts(aws, request_id))
    assert not status_page_delayed(aws, request_id)


class RefuseRecipient:
    """SES refusing every email to one address (MessageRejected, which botocore does not retry)
    while `refusing`, and taking every other email."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.refusing = True
        self.refused = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        if self.refusing and self.address in json.loads(request.body)["Destination"]["ToAddresses"]:
            self.refused += 1
            return SesFault.answer(request, 400, "MessageRejected", "Email address is not verified.")
        return None


def test_email_failing_every_retry_waits_in_the_dead_letter_queue_and_is_sent_once_when_ses_takes_it(
    aws: Aws,
    load_directors: LoadDirectors,
    intake_app: ModuleType,
    respond_app: ModuleType,
    lambda_context: LambdaContext,
    quick_pump: None,
    tally: Tally,
) -> None:
    # Given a request offered to three directors, its receipt and offers sent
    load_directors(3)
    request_id = post_quote(intake_app, lambda_context)
    pump = stream_pump(aws)
    drain(pump)
    assert len(sent(aws)) == 4
    first, *others = aws.request_store().offers(request_id)
    profile = aws.director_store().get_profile(first.director_id)
    assert profile is not None
    # And SES refusing, every time, the introduction (addressed to the director who accepts, among
    # others: the poison)
    from directormatch.aws import clients

    refusal = RefuseRecipient(profile["email"])
    clients.sesv2().meta.events.register_first("before-send.sesv2.SendEmail", refusal)

    # When that director accepts, the pump delivers the stream and the sender drains the queue
    aws.use_function("RespondFunction")
    assert respond_app.answer_offer(link_token(first), "accept").status_code == 200
    drain(pump)
    emails = {m.message_id: m for m in sent(aws)}

    # Then the sender tried the introduction on each of the queue's receives, then left it in the
    # dead-letter queue, its marker QUEUED; notify failed nothing
    redrive = template.redrive_targets()["SendQueue"]
    assert refusal.refused == redrive[1]
    assert queue_messages(aws) == []
    assert email_markers(aws, request_id)["EMAIL#introduction#all"] == "QUEUED"
    # And the other emails went out, once each: the directors not chosen hear the offer is filled
    introduction = f"<introduction.{request_id}@directormatch>"
    filled = {f"<filled.{request_id}.{o.director_id}@directormatch>" for o in others}
    assert filled <= set(emails)
    assert introduction not in emails

    # And its last receive raised the request's alert: the status page says a step is delayed
    [alert] = sender_alerts(aws, request_id)
    assert (alert["item_sk"], alert["status_at_failure"]) == ("EMAIL#introduction#all", "MATCHED")
    assert status_page_delayed(aws, request_id)

    # When SES takes the address again (ops' alert email is queued) and ops puts the dead letter back
    refusal.refusing = False
    drain(pump)
    [outcome] = resend_dead_letters(aws)

    # Then the introduction and ops' alert went out once, and nothing else twice
    assert outcome.action == "resend"
    messages = sent(aws)
    lost = lost_emails(aws, request_id, messages)
    tally.tried(ok=lost == 0, lost=lost, duplicated=duplicates(messages))
    assert {m.message_id for m in messages} == expected_message_ids(aws, request_id)
    assert introduction in {m.message_id for m in messages}
    assert sum(m.kind == "ops_stream_failed" for m in messages) == 1
    assert duplicates(messages) == 0
    assert not status_page_delayed(aws, request_id)
