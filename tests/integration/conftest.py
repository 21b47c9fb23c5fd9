"""moto in-process: the tables, indexes, streams and identities of template.yaml, and read-back helpers.

The DynamoDB engine is moto by default; with DYNAMODB=local the tables live in AWS's DynamoDB Local
(one process per test session or xdist worker, local/dynamodb_local.py), created from template.yaml
for each test and deleted after it, while moto's mock_aws still serves SES, SQS, SNS and SSM (it
lets calls to the loopback endpoint through to the real server).
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from directormatch.aws.attributes import from_attributes
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.settings import get_settings
from local import dynamodb_local, resources, template
from tests.conftest import ACCOUNT_ID, REGION


@dataclass
class Aws:
    """The mocked account: the template's resources, the function environment and read-back helpers."""

    session: boto3.Session
    parameters: dict[str, str]
    environment: dict[str, str]
    monkeypatch: pytest.MonkeyPatch
    queues: dict[str, str]

    @property
    def dynamodb(self) -> Any:
        return self.session.client("dynamodb", region_name=REGION)

    @property
    def requests_table(self) -> str:
        return self.environment["REQUESTS_TABLE"]

    @property
    def directors_table(self) -> str:
        return self.environment["DIRECTORS_TABLE"]

    def use_function(self, function: str) -> dict[str, str]:
        """Set the environment template.yaml gives `function` (Globals plus its own variables)."""
        self.environment = resources.local_environment(function, self.parameters)
        for name, value in self.environment.items():
            self.monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return self.environment

    def request_store(self) -> RequestStore:
        return RequestStore(self.requests_table)

    @property
    def availability_table(self) -> str:
        return self.environment["AVAILABILITY_TABLE"]

    def director_store(self) -> DirectorStore:
        return DirectorStore(
            self.directors_table,
            self.environment["DIRECTORS_BY_STATE_INDEX"],
            self.availability_table,
        )

    def items(self, table: str | None = None) -> list[dict[str, Any]]:
        """Every item of a table, sorted by key. Test code only: production never scans."""
        paginator = self.dynamodb.get_paginator("scan")
        found = [
            from_attributes(raw)
            for page in paginator.paginate(TableName=table or self.requests_table, ConsistentRead=True)
            for raw in page.get("Items", [])
        ]
        return sorted(found, key=lambda item: (item["pk"], item["sk"]))

    def items_with_sk(self, sk: str, prefix: bool = False) -> list[dict[str, Any]]:
        return [i for i in self.items() if (i["sk"].startswith(sk) if prefix else i["sk"] == sk)]

    def stored(self, event: dict[str, Any]) -> dict[str, Any]:
        """Put each stream record's new image in the Requests table, as the write that made the record
        did (the sender composes emails from the stored items); returns the event."""
        for record in event["Records"]:
            self.dynamodb.put_item(TableName=self.requests_table, Item=record["dynamodb"]["NewImage"])
        return event

    def send_queued(self, rate: int = 1000) -> int:
        """Hand the send queue's messages to the sender function as its event source mapping does
        (local.queues), at `rate` emails a second; the messages handed over."""
        from functions.sender import app
        from local import queues
        from local.lambdas import LambdaContext

        self.monkeypatch.setenv("SES_SEND_RATE", str(rate))
        get_settings.cache_clear()
        app.reset_pacer()

        def invoke(_function: str, event: dict[str, Any]) -> Any:
            return app.lambda_handler(event, LambdaContext("SenderFunction", timeout_seconds=60))

        [poller] = queues.pollers(self.session, self.queues, self.parameters, invoke)
        return poller.drain()

    def sent_emails(self) -> list[Any]:
        """Raw messages SES accepted, in sending order, once the sender has drained the send queue."""
        from moto.ses.models import ses_backends

        self.send_queued()
        return list(ses_backends[ACCOUNT_ID][REGION].sent_messages)


@pytest.fixture(scope="session")
def dynamodb_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """DynamoDB Local's endpoint with DYNAMODB=local (one process for the session), else None (moto)."""
    if dynamodb_local.engine() != "local":
        yield None
        return
    server = dynamodb_local.DynamoDBLocal(log_path=tmp_path_factory.mktemp("dynamodb-local") / "server.log")
    server.start()
    yield server.endpoint
    server.stop()


def on_dynamodb_local() -> bool:
    """True when this run's DynamoDB is AWS's DynamoDB Local (DYNAMODB=local)."""
    return dynamodb_local.engine() == "local"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str | None) -> Iterator[Aws]:
    """A fresh mocked account per test, built from template.yaml by local.resources (as `make run` does).
    With DYNAMODB=local its tables are in DynamoDB Local, deleted after the test."""
    for name, endpoint in dynamodb_local.endpoint_variables(dynamodb_endpoint or "").items():
        if dynamodb_endpoint:
            monkeypatch.setenv(name, endpoint)
        else:
            monkeypatch.delenv(name, raising=False)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        parameters = resources.local_parameters()
        if dynamodb_endpoint:
            _delete_tables(session)  # a test killed half way leaves its tables behind
        try:
            queues = resources.create_all(session, parameters)
            parameters.update(queues)
            account = Aws(session, parameters, environment={}, monkeypatch=monkeypatch, queues=queues)
            account.use_function("IntakeFunction")
            yield account
        finally:
            if dynamodb_endpoint:
                _delete_tables(session)


def _delete_tables(session: boto3.Session) -> None:
    """Drop template.yaml's tables from DynamoDB Local (in memory: a few milliseconds each)."""
    client = session.client("dynamodb", region_name=REGION)
    present = set(client.list_tables()["TableNames"])
    for name in template.table_definitions():
        if name in present:
            client.delete_table(TableName=name)


def metrics_printed(out: str) -> Counter[str]:
    """The sum of each metric in the CloudWatch embedded-metric lines a handler printed."""
    counted: Counter[str] = Counter()
    for line in out.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        emf = json.loads(line)
        for directive in emf["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = emf[metric["Name"]]
                counted[metric["Name"]] += sum(values) if isinstance(values, list) else values
    return counted


def function_app(aws: Aws, function: str) -> ModuleType:
    """The handler module of template.yaml's `function` (functions/<name>/app.py), imported under
    that function's environment."""
    aws.use_function(function)
    return importlib.import_module(f"functions.{function.removesuffix('Function').lower()}.app")


@pytest.fixture
def intake_app(aws: Aws) -> ModuleType:
    return importlib.reload(function_app(aws, "IntakeFunction"))


def app_fixture(function: str) -> Any:
    """A fixture giving `function`'s handler module (see function_app)."""

    @pytest.fixture
    def app(aws: Aws) -> ModuleType:
        return function_app(aws, function)

    return app


match_app = app_fixture("MatchFunction")
notify_app = app_fixture("NotifyFunction")
respond_app = app_fixture("RespondFunction")
sweep_app = app_fixture("SweepFunction")
feedback_app = app_fixture("FeedbackFunction")
failures_app = app_fixture("FailuresFunction")


Handler = Callable[[dict[str, Any]], Any]


def call_with(app: ModuleType, context: Any) -> Handler:
    """`app`'s Lambda handler, taking the event alone: it is called with `context`."""
    return lambda event: app.lambda_handler(event, context)


@dataclass(frozen=True)
class Apps:
    """The intake, match and notify handler modules of one test, and the Lambda context to call them with."""

    intake: ModuleType
    match: ModuleType
    notify: ModuleType
    context: Any


@pytest.fixture
def apps(intake_app: ModuleType, match_app: ModuleType, notify_app: ModuleType, lambda_context: Any) -> Apps:
    """The three handlers, imported in pipeline order (the environment left set is NotifyFunction's)."""
    return Apps(intake_app, match_app, notify_app, lambda_context)


# load_directors and load_roster: put director items into the Directors table, and return them.
LoadDirectors = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def load_roster(aws: Aws) -> LoadDirectors:
    """Put synthetic roster items (or any director items) into the Directors table; returns them."""
    from ops.roster.synthetic import synthetic_roster

    def load(items: list[dict[str, Any]] | None = None, count: int = 153) -> list[dict[str, Any]]:
        chosen = synthetic_roster(count=count) if items is None else items
        aws.director_store().put_items(chosen)
        return chosen

    return load


@pytest.fixture
def one_call_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto in-process safe for threads: each AWS call is handled alone.

    moto applies a transaction item by item and, when one fails, restores a deep copy of the table
    taken before it, undoing what another thread wrote meanwhile. DynamoDB applies each call
    atomically; serialising moto's handling of each call gives that, while threads still interleave
    between calls (read, then conditional write), which is where races live. On DynamoDB Local
    (DYNAMODB=local) DynamoDB calls go over HTTP, past moto's stubber: the server applies each call
    atomically itself (and runs transactions one at a time, so it never answers TransactionConflict:
    the tests of that retry path inject the answer with a client wrapper, on both engines).
    """
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    handle = BotocoreStubber.__call__

    def serialised(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return handle(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialised)


def roster_director(
    number: int, states: tuple[str, ...] = ("TX",), supervising_np: int = 1, **changes: Any
) -> list[dict[str, Any]]:
    """PROFILE, LICENSE# items of one valid roster director, built by directormatch.directors.

    `number` makes the NPI, names and email distinct; licenses last 400 days; `changes` override
    Director fields (max_clinics, active_clinics, ...).
    """
    from datetime import date, timedelta

    from directormatch.directors import Director, StateLicense, Supervision, director_items, npi_check_digit

    first_nine = f"1{number:08d}"
    fields: dict[str, Any] = {
        "npi": first_nine + npi_check_digit(first_nine),
        "first_name": f"Robin{number}",
        "last_name": f"Achebe{number}",
        "email": f"director{number}@clinicians.example",
        "specialties": ["family_medicine"],
        "modalities": ["aesthetics", "weight_loss"],
        "max_clinics": 5,
        "active_clinics": 1,
        "licenses": [
            StateLicense(state=s, number=f"{s}-{number:06d}", expires_on=date.today() + timedelta(days=400))
            for s in states
        ],
        "supervising": [Supervision(state=s, np=supervising_np, pa=0) for s in states],
    }
    fields.update(changes)
    return director_items(Director(**fields))


@pytest.fixture
def load_directors(aws: Aws) -> LoadDirectors:
    """Put `count` roster directors licensed in `states` into the Directors table; returns their items."""

    def load(count: int, states: tuple[str, ...] = ("TX",), first: int = 1) -> list[dict[str, Any]]:
        items = [item for n in range(first, first + count) for item in roster_director(n, states)]
        aws.director_store().put_items(items)
        return items

    return load


@pytest.fixture
def notify_stream(aws: Aws) -> Callable[[], list[dict[str, Any]]]:
    """The Requests table's stream as the notify function's event source mapping delivers it.

    Each call returns the records written since the previous call, shaped for Lambda and filtered
    by the FilterCriteria of template.yaml (the local stack's pump does the same).
    """
    from local import template
    from local.streams import Subscription

    [spec] = [s for s in template.stream_subscriptions() if s.function == "NotifyFunction"]
    arn = aws.dynamodb.describe_table(TableName=spec.table)["Table"]["LatestStreamArn"]
    subscription = Subscription(spec, arn, aws.session.client("dynamodbstreams", region_name=REGION))

    def read() -> list[dict[str, Any]]:
        subscription.poll()
        records, subscription.pending = subscription.pending, []
        return records

    return read


Submit = Callable[..., dict[str, Any]]
OfferedRequest = Callable[..., dict[str, Any]]


@pytest.fixture
def submit_quote(aws: Aws, intake_app: ModuleType, lambda_context: Any) -> Submit:
    """POST a quote request (keywords override quote fields) through the intake handler; the callable
    returns the REQUEST item it wrote."""
    import json

    from tests.events import api_event, quote_body

    def post(**overrides: Any) -> dict[str, Any]:
        event = api_event(body=quote_body(**overrides), without_headers=("Idempotency-Key",))
        response = intake_app.lambda_handler(event, lambda_context)
        assert response["statusCode"] == 201, response["body"]
        item = aws.request_store().get_request(json.loads(response["body"])["request_id"])
        assert item is not None
        return item

    return post


@pytest.fixture
def offered_request(
    aws: Aws,
    submit_quote: Submit,
    match_app: ModuleType,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> OfferedRequest:
    """A quote posted through the intake handler, then matched by the match handler from the REQUEST's
    stream record (as the event source mapping delivers it). Returns the REQUEST item after matching.

    `wave_size` sets OFFER_WAVE_SIZE for the match; other keywords override quote fields.
    """
    from tests.events import stream_event, stream_record

    def make(wave_size: int | None = None, **quote: Any) -> dict[str, Any]:
        if wave_size is not None:
            monkeypatch.setenv("OFFER_WAVE_SIZE", str(wave_size))
            get_settings.cache_clear()
        new = submit_quote(**quote)
        matched = match_app.lambda_handler(stream_event(stream_record(new)), lambda_context)
        assert matched == {"batchItemFailures": []}
        request = aws.request_store().get_request(new["request_id"])
        assert request is not None
        return request

    return make
