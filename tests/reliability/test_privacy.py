"""Case 8: personal data never reaches logs, metrics, traces, item keys or idempotency records.

A request's whole life runs through the handlers with sentinel personal data (clinic, contact,
phone, notes, directors' names and emails, the client's Idempotency-Key): intake (stored,
replayed, conflicting, invalid), match, notify, the offer page, an accept by link, a decline by
reply, the sweep (next wave, 20-hour escalation), a bounce, and a notify batch whose every record
SES rejects with a message that quotes the address. Everything the functions emit is captured:
the Powertools Logger's JSON (its handler pointed at a buffer), other loggers (caplog), EMF metrics
on stdout (POWERTOOLS_METRICS_DISABLED=false), the trace calls (X-Ray entities and Tracer methods
record instead of sending), and the exception a failed invocation raises (what Lambda logs).
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from directormatch.errors import EmailNotSent
from directormatch.offers.reply_to import reply_address
from local import template
from local.clock import scheduled_event
from local.inbound import ses_notification, sns_event
from local.lambdas import LambdaContext
from tests.events import api_event, load_event, quote_body
from tests.integration.conftest import Apps, Aws, roster_director
from tests.integration.test_respond import link_token, offer_event
from tests.reliability.conftest import Tally
from tests.reliability.helpers import SesFault, batches, queued_records, sent, stream_reader, table_items

CASE = "8"
MARK = "sentinel-7f3a"  # in every personal value but the phone
PHONE = "+15125550199"
CLINIC_EMAIL = f"{MARK}@clinic.example.com"
IDEMPOTENCY_KEY = f"idem-{MARK}"


def sentinel_quote(**changes: Any) -> dict[str, Any]:
    body = quote_body(
        clinic={"name": f"Clinic {MARK.upper()}", "website": f"https://{MARK}.example.com"},
        contact={"name": f"Pat {MARK}", "email": CLINIC_EMAIL, "phone": PHONE},
        notes=f"Notes of {MARK}: call (512) 555-0199",
    )
    body.update(changes)
    return body


def leaks(text: str) -> list[str]:
    """Where the sentinel data shows in `text`."""
    found = [m.group(0) for m in re.finditer(re.escape(MARK), text, re.IGNORECASE)]
    digits = re.sub(r"\D", "", text)
    if "5125550199" in digits or re.search(r"555.?0199", text):
        found.append("phone")
    return found


def sentinel_directors(aws: Aws, count: int) -> None:
    items = [
        item
        for n in range(1, count + 1)
        for item in roster_director(
            n,
            ("TX",),
            max_clinics=50,
            first_name=f"Sam {MARK}",
            last_name=f"Doc{n}-{MARK}",
            email=f"dr{n}.{MARK}@directors.example.com",
        )
    ]
    aws.director_store().put_items(items)


@dataclass
class Captured:
    """What the functions emitted, as text, and the trace calls recorded instead of sent."""

    logs: io.StringIO = field(default_factory=io.StringIO)
    traces: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)

    def trace_text(self) -> str:
        """Each call's values as X-Ray would keep them (str, as exceptions are recorded) and repr."""
        values = [value for _, args, kwargs in self.traces for value in (*args, *kwargs.values())]
        return "\n".join(f"{value} {value!r}" for value in values)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core.models.dummy_entities import DummySegment, DummySubsegment
    from aws_xray_sdk.core.models.entity import Entity
    from aws_xray_sdk.core.models.facade_segment import FacadeSegment

    from directormatch.observability import logger

    found = Captured()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")

    def recorder(kind: str) -> Callable[..., None]:
        def record(self: Any, *args: Any, **kwargs: Any) -> None:
            found.traces.append((kind, args, kwargs))

        return record

    for entity in (Entity, DummySegment, DummySubsegment, FacadeSegment):
        for method in ("put_annotation", "put_metadata", "add_exception"):
            monkeypatch.setattr(entity, method, recorder(f"{entity.__name__}.{method}"))
    for method in ("put_annotation", "put_metadata"):
        monkeypatch.setattr(Tracer, method, recorder(f"Tracer.{method}"))
    handler: Any = logger.registered_handler
    previous = handler.setStream(found.logs)
    try:
        yield found
    finally:
        handler.setStream(previous)


def post(intake_app: ModuleType, context: LambdaContext, body: dict[str, Any] | str, key: str) -> Any:
    event = api_event(body=body, headers={"Idempotency-Key": key})
    return intake_app.lambda_handler(event, context)


def deliver(app: ModuleType, records: list[dict[str, Any]], context: LambdaContext) -> None:
    for batch in batches(records):
        assert app.lambda_handler({"Records": batch}, context) == {"batchItemFailures": []}


def reply(aws: Aws, offer: dict[str, Any], sender: str, body: str) -> dict[str, Any]:
    to = reply_address(offer["request_id"], offer["director_id"], aws.environment["INBOUND_DOMAIN"])
    content = (
        f"From: Dr {MARK} <{sender}>\r\nTo: {to}\r\nSubject: Re: offer\r\n"
        f"Message-ID: <{MARK}@mail.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n\r\nCall me on (512) 555-0199. {MARK}\r\n"
    )
    return sns_event(ses_notification(content, [to]), "InboundMailTopic")


def key_values(aws: Aws) -> list[str]:
    """Every key attribute of every item of every table: table keys and the indexes' keys."""
    values = []
    for table, spec in template.table_definitions().items():
        names = {k["AttributeName"] for k in spec["KeySchema"]}
        for index in spec.get("GlobalSecondaryIndexes", []):
            names |= {k["AttributeName"] for k in index["KeySchema"]}
        for item in table_items(table):
            values += [json.dumps(item[name]) for name in names if name in item]
    return values


def test_a_request_life_with_sentinel_personal_data_leaves_none_in_logs_metrics_traces_or_keys(
    aws: Aws,
    apps: Apps,
    captured: Captured,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    no_retry_delay: None,
    tally: Tally,
) -> None:
    caplog.set_level(logging.INFO)
    sentinel_directors(aws, 6)
    to_match, to_notify = stream_reader(aws, "MatchFunction"), stream_reader(aws, "NotifyFunction")

    # Given a quote with sentinel personal data, posted, replayed, reused with another body, and
    # an invalid one carrying the sentinel in the fields it gets wrong
    created = post(apps.intake, apps.context, sentinel_quote(), IDEMPOTENCY_KEY)
    assert created["statusCode"] == 201
    request_id = json.loads(created["body"])["request_id"]
    assert post(apps.intake, apps.context, sentinel_quote(), IDEMPOTENCY_KEY)["statusCode"] == 201
    assert post(apps.intake, apps.context, sentinel_quote(locations=2), IDEMPOTENCY_KEY)["statusCode"] == 409
    contact = {"name": f"Pat {MARK}", "email": f"{MARK}@", "phone": f"555-0199 {MARK}"}
    invalid = sentinel_quote(contact=contact)
    rejected = post(apps.intake, apps.context, invalid, f"{IDEMPOTENCY_KEY}-2")
    assert rejected["statusCode"] == 422
    # (and keys the client chose: an unknown field, and a repeated one, named with the sentinel)
    unknown_key = post(
        apps.intake, apps.context, {**sentinel_quote(), CLINIC_EMAIL: 1}, f"{IDEMPOTENCY_KEY}-4"
    )
    assert (unknown_key["statusCode"], json.loads(unknown_key["body"])["errors"][0]["field"]) == (
        422,
        CLINIC_EMAIL,
    )
    repeated = f'{{"clinic": {{"{CLINIC_EMAIL}": 1, "{CLINIC_EMAIL}": 2}}}}'
    repeated_key = post(apps.intake, apps.context, repeated, f"{IDEMPOTENCY_KEY}-5")
    assert (repeated_key["statusCode"], json.loads(repeated_key["body"])["errors"][0]["field"]) == (
        400,
        f"clinic.{CLINIC_EMAIL}",
    )
    second = json.loads(post(apps.intake, apps.context, sentinel_quote(), f"{IDEMPOTENCY_KEY}-3")["body"])

    # When match and notify handle the stream
    aws.use_function("MatchFunction")
    to_match_records = to_match()
    deliver(apps.match, to_match_records, apps.context)
    # (and match gets a batch of one corrupt record, whose error would echo the bad value)
    corrupt = copy.deepcopy(to_match_records[0])
    corrupt["dynamodb"]["NewImage"]["start_by"] = {"S": f"{MARK} {PHONE}"}
    with pytest.raises(BatchProcessingError) as broken:
        apps.match.lambda_handler({"Records": [corrupt]}, apps.context)
    captured.raised.append(str(broken.value))
    aws.use_function("NotifyFunction")
    deliver(apps.notify, to_notify(), apps.context)

    # And one director opens the offer page and accepts by link, another declines by reply
    aws.use_function("RespondFunction")
    from functions.respond import app as respond_app

    first, other, *_ = aws.request_store().offers(request_id)
    shown = respond_app.lambda_handler(offer_event("GET", link_token(first)), apps.context)
    assert shown["statusCode"] == 200
    accepted = respond_app.lambda_handler(offer_event("POST", link_token(first), "accept"), apps.context)
    assert accepted["statusCode"] == 200
    profile = aws.director_store().get_profile(other["director_id"])
    assert profile is not None
    # (SES rejects the answer to the reply first, quoting the address; SNS delivers it again)
    refusal = f"Email address is not verified. The following identities failed the check: {profile['email']}"
    SesFault("rejected", times=1, message=refusal).inject()
    event = reply(aws, other, profile["email"], "DECLINE")
    with pytest.raises(EmailNotSent) as not_sent:
        respond_app.lambda_handler(event, apps.context)
    captured.raised.append(str(not_sent.value))
    declined = respond_app.lambda_handler(event, apps.context)
    assert declined == {"outcomes": ["TOO_LATE"]}  # the first director's accept came first
    aws.use_function("NotifyFunction")
    deliver(apps.notify, to_notify(), apps.context)

    # And the sweep sends the second request's next wave, then escalates it at 20 hours
    aws.use_function("SweepFunction")
    from functions.sweep import app as sweep_app

    expiry = datetime.fromisoformat(aws.request_store().offers(second["request_id"])[0]["expires_at"])
    for moment in (expiry + timedelta(minutes=1), expiry + timedelta(hours=17)):
        sweep_app.lambda_handler(scheduled_event(moment, "SweepFunction"), apps.context)
    aws.use_function("NotifyFunction")
    deliver(apps.notify, to_notify(), apps.context)

    # And SES rejects, quoting the address, the only message of the sender's batch: the invocation
    # fails (what was queued before is sent first)
    aws.send_queued()
    third = json.loads(post(apps.intake, apps.context, sentinel_quote(), f"{IDEMPOTENCY_KEY}-4")["body"])
    records = [r for r in to_notify() if r["dynamodb"]["Keys"]["pk"]["S"] == third["request_id"]][:1]
    deliver(apps.notify, records, apps.context)
    queued = queued_records(aws)
    assert len(queued) == 1
    quoted = f"Email address is not verified. The following identities failed the check: {CLINIC_EMAIL}"
    rejection = SesFault("rejected", times=1, message=quoted).inject()
    from functions.sender import app as sender_app

    with pytest.raises(BatchProcessingError) as failure:
        sender_app.lambda_handler({"Records": queued}, apps.context)
    assert rejection.attempts == 1
    captured.raised.append(str(failure.value))

    # And SES reports a bounce from the clinic's address
    aws.use_function("FeedbackFunction")
    from functions.feedback import app as feedback_app

    bounce = load_event("feedback/permanent_bounce.json")
    notification = bounce["Records"][0]["Sns"]["Message"]
    bounce["Records"][0]["Sns"]["Message"] = notification.replace(
        "maria.delgado@bluebonnet-aesthetics.example", CLINIC_EMAIL
    )
    assert feedback_app.lambda_handler(bounce, apps.context) == {"suppressed": 1}

    # Then the sentinel data went where it belongs: into the emails
    assert any(leaks(m.raw.decode(errors="replace")) for m in sent(aws))
    # And the captures did capture: logs, metrics, trace calls
    logs, metrics = captured.logs.getvalue(), capsys.readouterr().out
    assert '"message":"quote request stored"' in logs
    assert '"message":"queued message failed"' in logs
    assert '"QuoteReceived"' in metrics
    assert any(kind.endswith("put_annotation") for kind, _, _ in captured.traces)
    assert any(kind.endswith("add_exception") for kind, _, _ in captured.traces)  # the failures
    # But none of it shows in logs, metrics, traces, the failed invocation's error, item keys
    where = {
        "logs": leaks(logs),
        "other loggers": leaks("\n".join(r.getMessage() for r in caplog.records)),
        "metrics": leaks(metrics),
        "traces": leaks(captured.trace_text()),
        "raised": leaks("\n".join(captured.raised)),
        "item keys": leaks("\n".join(key_values(aws))),
    }
    # And the idempotency records hold hashes only (nor is the client's key stored anywhere)
    idempotency = [i for i in table_items(aws.requests_table) if i["pk"]["S"].startswith("IDEMPOTENCY#")]
    assert len(idempotency) == 3
    where["idempotency records"] = leaks(json.dumps(idempotency))
    everything = json.dumps([table_items(t) for t in template.table_definitions()])
    where["Idempotency-Key stored"] = [IDEMPOTENCY_KEY] if IDEMPOTENCY_KEY in everything else []
    leaked = {place: found for place, found in where.items() if found}
    tally.tried(ok=not leaked, lost=0, duplicated=0)
    assert leaked == {}
