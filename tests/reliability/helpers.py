"""What the reliability tests share: reading a function's stream as Lambda would, posting quotes,
counting the emails SES accepted, and snapshots of both tables."""

from __future__ import annotations

import copy
import email
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from types import ModuleType
from typing import Any

from local.lambdas import LambdaContext
from tests.conftest import ACCOUNT_ID, REGION
from tests.events import api_event, quote_body
from tests.integration.conftest import Aws, on_dynamodb_local

Records = list[dict[str, Any]]
BATCH_SIZE = 10  # BatchSize of both stream subscriptions in template.yaml


def stream_reader(aws: Aws, function: str) -> Callable[[], Records]:
    """The Requests stream as `function`'s event source mapping delivers it: each call returns the
    records written since the previous call, Lambda-shaped and filtered by the template's
    FilterCriteria (local.streams, which the local stack's pump uses too)."""
    from local import template
    from local.streams import Subscription

    [spec] = [s for s in template.stream_subscriptions() if s.function == function]
    arn = aws.dynamodb.describe_table(TableName=spec.table)["Table"]["LatestStreamArn"]
    subscription = Subscription(spec, arn, aws.session.client("dynamodbstreams", region_name=REGION))

    def read() -> Records:
        subscription.poll()
        records, subscription.pending = subscription.pending, []
        return records

    return read


def batches(records: Records, size: int = BATCH_SIZE) -> list[Records]:
    return [records[start : start + size] for start in range(0, len(records), size)]


def post_quote(intake_app: ModuleType, context: LambdaContext, key: str | None = None, **quote: Any) -> str:
    """POST /quote-requests through the intake handler; the new request's id."""
    headers = {"Idempotency-Key": key} if key else None
    without = () if key else ("Idempotency-Key",)
    event = api_event(body=quote_body(**quote), headers=headers, without_headers=without)
    response = intake_app.lambda_handler(event, context)
    assert response["statusCode"] == 201, response["body"]
    return str(json.loads(response["body"])["request_id"])


@dataclass(frozen=True)
class Sent:
    message_id: str
    kind: str
    to: str
    raw: bytes


def sent(aws: Aws) -> list[Sent]:
    """Every message SES (moto) accepted, in order, with its Message-ID."""
    found = []
    for message in aws.sent_emails():
        raw = message.raw_data if isinstance(message.raw_data, bytes) else message.raw_data.encode()
        parsed = email.message_from_bytes(raw, policy=policy.default)
        message_id = str(parsed["Message-ID"])
        found.append(Sent(message_id, message_id.strip("<").split(".", 1)[0], str(parsed["To"]), raw))
    return found


def duplicates(messages: list[Sent]) -> int:
    """Sends beyond the first of each Message-ID (one per kind, recipient and request)."""
    return sum(count - 1 for count in Counter(m.message_id for m in messages).values())


def lost_emails(aws: Aws, request_id: str, messages: list[Sent]) -> int:
    """The emails the request's state calls for that none of `messages` is."""
    return len(expected_message_ids(aws, request_id) - {m.message_id for m in messages})


def expected_message_ids(aws: Aws, request_id: str) -> set[str]:
    """The emails a request's stored state calls for, by their deterministic Message-IDs
    (directormatch.mail.render: <kind>.<ref>@directormatch)."""
    items = aws.request_store().partition(request_id)
    request = next(i for i in items if i["sk"] == "REQUEST")
    offers = [i for i in items if i["sk"].startswith("OFFER#")]
    ids = {f"<receipt.{request_id}@directormatch>"}
    for offer in offers:
        ref = f"{request_id}.{offer['director_id']}"
        ids.add(f"<offer.{ref}@directormatch>")
        if offer["offer_status"] == "DECLINED":
            ids.add(f"<declined.{ref}@directormatch>")
        if offer["offer_status"] == "SUPERSEDED":
            ids.add(f"<filled.{ref}@directormatch>")
    if request["request_status"] == "MATCHED":
        ids.add(f"<introduction.{request_id}@directormatch>")
    for wave in range(2, int(request.get("wave", 1)) + 1):
        ids.add(f"<clinic_update.{request_id}.w{wave}@directormatch>")
    if any(i["sk"] == "ALERT#NO_MATCH" for i in items):
        ids.add(f"<ops_no_match.{request_id}@directormatch>")
        ids.add(f"<no_match.{request_id}@directormatch>")
    return ids | stream_alert_message_ids(items)


def stream_alert_message_ids(items: Records) -> set[str]:
    """The ops emails of a partition's STREAM_FAILED alerts: one per record given up on."""
    return {
        f"<ops_stream_failed.{i['request_id']}.{i['function']}.{i['sequence_number']}@directormatch>"
        for i in items
        if i["sk"].startswith("ALERT#STREAM_FAILED#")
    }


def table_items(name: str) -> Records:
    """Every item of a table, as stored (attribute-value JSON), sorted by key. On moto, read from its
    backend (a Scan through the client costs moto more than the test itself); on DynamoDB Local, a
    consistent Scan (milliseconds there)."""
    if on_dynamodb_local():
        import boto3

        client = boto3.client("dynamodb", region_name=REGION)
        pages = client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
        items = [item for page in pages for item in page["Items"]]
    else:
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[ACCOUNT_ID][REGION].get_table(name)
        items = [copy.deepcopy(item.to_json()["Attributes"]) for item in table.all_items()]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def send_for_real(event_name: str, request: Any) -> Any:
    """Deliver a request a before-send hook holds to whichever engine serves it: moto in process
    (its stubber answers), else over HTTP (DynamoDB Local). Returns the engine's answer."""
    from botocore.httpsession import URLLib3Session
    from moto.core.models import botocore_stubber

    answer = botocore_stubber(event_name, request)
    if answer is None:
        answer = URLLib3Session().send(request)
    return answer


def tables(aws: Aws) -> tuple[Records, Records]:
    """Both tables in full."""
    return table_items(aws.requests_table), table_items(aws.directors_table)


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def error_response(url: str, status: int, code: str, message: str) -> Any:
    """An AWS error answer as the service sends it (a before-send hook returns it instead of calling
    the service): JSON protocols read __type, REST-JSON ones x-amzn-ErrorType."""
    from botocore.awsrequest import AWSResponse

    body = json.dumps({"__type": code, "message": message}).encode()
    headers: Any = {"x-amzn-ErrorType": f"{code}:", "Content-Type": "application/json"}
    return AWSResponse(url, status, headers, _RawBody(body))


def failure_queue_url(aws: Aws) -> str:
    return str(aws.session.client("sqs").get_queue_url(QueueName="StreamFailureQueue")["QueueUrl"])


def stream_pump(aws: Aws) -> Any:
    """The local stack's stream pump (local.streams) on this moto account, for every stream
    subscription of template.yaml, sending exhausted batches to the StreamFailureQueue."""
    from local import template
    from local.lambdas import Functions
    from local.streams import StreamPump

    queues = {"StreamFailureQueue": failure_queue_url(aws)}
    return StreamPump(aws.session, template.stream_subscriptions(), queues, Functions())


def drain(pump: Any, rounds: int = 500) -> int:
    """Run the pump in this thread until no subscription has anything left; returns invocations.
    (Its own thread would do the same; here the test knows when it is done.)"""
    invocations = 0
    for _ in range(rounds):
        busy = False
        for subscription in pump.subscriptions:
            subscription.poll()
            delivered = pump._deliver(subscription)
            invocations += int(delivered)
            busy |= delivered
        if not busy:
            return invocations
    raise AssertionError("the stream pump never drained")


def queue_messages(aws: Aws) -> list[dict[str, Any]]:
    """The failure queue's messages, parsed, left visible (VisibilityTimeout 0)."""
    sqs = aws.session.client("sqs")
    found: dict[str, dict[str, Any]] = {}
    for _ in range(3):
        response = sqs.receive_message(
            QueueUrl=failure_queue_url(aws), MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        for message in response.get("Messages", []):
            found[message["MessageId"]] = json.loads(message["Body"])
    return list(found.values())


# directormatch.aws.clients: retries={"mode": "standard", "max_attempts": 3}. botocore's max_attempts counts
# the retries, so a send is attempted four times.
SES_ATTEMPTS = 4


class SesFault:
    """Fails the next `times` SendEmail attempts one way (a before-send hook ahead of moto), then
    lets them through to moto's SES."""

    def __init__(self, kind: str, times: int, message: str = "") -> None:
        self.kind = kind
        self.left = times
        self.attempts = 0
        self.message = message

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

        self.attempts += 1
        if self.left == 0:
            return None
        self.left -= 1
        if self.kind == "throttled-429":
            return self.answer(request, 429, "TooManyRequestsException", "Maximum sending rate exceeded.")
        if self.kind == "throttling-400":
            return self.answer(request, 400, "Throttling", "Rate exceeded")
        if self.kind == "rejected":
            message = self.message or "Email address is not verified."
            return self.answer(request, 400, "MessageRejected", message)
        if self.kind == "read-timeout":  # before SES got the message
            raise ReadTimeoutError(endpoint_url=request.url)
        if self.kind == "connection-error":
            raise EndpointConnectionError(endpoint_url=request.url)
        if self.kind == "accepted-then-timeout":
            from moto.core.models import botocore_stubber

            botocore_stubber(event_name, request)  # SES takes the message...
            raise ReadTimeoutError(endpoint_url=request.url)  # ...and its answer is lost
        raise AssertionError(self.kind)

    @staticmethod
    def answer(request: Any, status: int, code: str, message: str) -> Any:
        """SES's error answer, with the request kept from moto: every before-send handler runs, and
        moto's would otherwise take the message too (which is the other, ambiguous case)."""
        url, request.url = request.url, "https://ses-fault.invalid/v2/email/outbound-emails"
        return error_response(url, status, code, message)

    def inject(self) -> SesFault:
        """On the SES client every function uses (directormatch.aws.clients, cached per test)."""
        from directormatch.aws import clients

        clients.sesv2().meta.events.register_first("before-send.sesv2.SendEmail", self)
        return self


def claim(aws: Aws, request_id: str, sk: str) -> dict[str, Any] | None:
    """An EMAIL# claim item (the right to send one email), if any."""
    return next((i for i in aws.request_store().partition(request_id) if i["sk"] == sk), None)


def renew_requests_table(aws: Aws) -> None:
    """Drop and re-create the Requests table (as template.yaml declares it), keeping the Directors.

    moto copies a whole table, stream included, for every item of a transaction (to roll back):
    a test repeating a race twenty times renews the table between runs to keep each run's cost flat.
    """
    from local import template

    spec = template.table_definitions()[aws.requests_table]
    aws.dynamodb.delete_table(TableName=aws.requests_table)
    aws.dynamodb.create_table(**spec)
    attribute = template.ttl_attributes()[aws.requests_table]
    aws.dynamodb.update_time_to_live(
        TableName=aws.requests_table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def queued_records(aws: Aws) -> list[dict[str, Any]]:
    """The send queue's messages as its event source mapping hands them to the sender, taken off the
    queue (the test delivers and redelivers them itself)."""
    from local import queues

    handed: list[dict[str, Any]] = []
    [poller] = queues.pollers(
        aws.session, aws.queues, aws.parameters, lambda _f, event: handed.extend(event["Records"])
    )
    poller.drain()
    return handed
