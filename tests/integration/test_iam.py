"""The IAM check (checks/iam.py) on a real flow: the calls notify makes to introduce a matched
request, and the sender to send it, are allowed by their roles in the transformed template, and a
copy of the template without dynamodb:Query in NotifyFunction's policy fails naming the function,
the action and the table."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from checks import iam
from checks.transform import transformed
from directormatch.aws import clients
from directormatch.offers import lifecycle as offers
from local import template
from local.lambdas import LambdaContext
from tests.events import stream_event, stream_record
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest

REQUESTS_TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/RequestsTable"


def without_notify_query() -> dict[str, Any]:
    """template.yaml with dynamodb:Query taken out of NotifyFunction's policy."""
    document = copy.deepcopy(template.load())
    statements = document["Resources"]["NotifyFunction"]["Properties"]["Policies"][0]["Statement"]
    removed = 0
    for statement in statements:
        if "dynamodb:Query" in statement["Action"]:
            statement["Action"].remove("dynamodb:Query")
            removed += 1
    assert removed == 1
    return document


@pytest.fixture
def introduction_calls(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    notify_app: ModuleType,
    lambda_context: LambdaContext,
) -> set[iam.Authorization]:
    """The calls notify makes when a request becomes MATCHED (the one introduction to clinic and director)."""
    load_directors(6)
    request = offered_request()
    aws.use_function("NotifyFunction")
    offer = sorted(aws.request_store().offers(request["request_id"]), key=lambda o: o["director_id"])[0]
    answer = offers.accept(
        aws.request_store(), aws.director_store(), request["request_id"], offer["director_id"], "link"
    )
    assert answer.outcome == offers.Outcome.ACCEPTED
    matched = aws.request_store().get_request(request["request_id"])
    with iam.recording() as recorder:
        clients.clear_clients()  # clients made from now on carry the recording hook
        event = stream_event(stream_record(matched, "MODIFY", old_item=request))
        assert notify_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
        assert len(aws.sent_emails()) == 1
    return recorder.seen


def test_iam_notify_introduction_calls_are_recorded_and_allowed(
    introduction_calls: set[iam.Authorization],
) -> None:
    # Given the calls notify made to introduce a matched request
    assert iam.Authorization("NotifyFunction", "dynamodb:Query", REQUESTS_TABLE_ARN) in introduction_calls
    assert {c.function for c in introduction_calls if c.action == "sqs:SendMessage"} == {"NotifyFunction"}
    sends = [c for c in introduction_calls if c.action == "ses:SendEmail"]
    assert {c.function for c in sends} == {"SenderFunction"}
    assert {dict(c.context)["ses:FromAddress"] for c in sends} == {"matches@directormatch.example"}

    # When they are held against the roles of the transformed template.yaml
    text, ok = iam.report(introduction_calls, transformed(), template.parameter_defaults())

    # Then every one is allowed
    assert ok, text
    assert "every recorded call is allowed" in text


def test_iam_check_fails_naming_function_action_and_table_when_notify_lacks_query(
    introduction_calls: set[iam.Authorization], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a copy of the template whose NotifyFunction policy has no dynamodb:Query
    mutated = tmp_path / "template.yaml"
    mutated.write_text(yaml.safe_dump(json.loads(json.dumps(without_notify_query()))))
    calls = tmp_path / "calls.jsonl"
    calls.write_text("".join(c.to_json() + "\n" for c in introduction_calls))

    # When the check runs against it (as `python -m checks.iam --template` does)
    status = iam.main(["--template", str(mutated), str(calls)])

    # Then it fails, naming the function, the action and the Requests table
    printed = capsys.readouterr().out
    assert status == 1
    assert f"NotifyFunction may not dynamodb:Query on {REQUESTS_TABLE_ARN}" in printed
    # And only that call is refused
    assert printed.count(" may not ") == 1
