"""The benchmarks' measuring parts: the cold start's Lambda environment and runs, the call counter's
request-unit estimates, and how the end-to-end run reads the outbox."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bench import coldstart
from bench.__main__ import summary_rows
from bench.common import (
    ROOT,
    CallCounter,
    IndexSpec,
    Tally,
    index_write_units,
    item_size,
    lambda_like_environment,
)
from bench.e2e import parse


def test_cold_start_environment_is_lambdas_without_a_runtime_api(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a shell that has a runtime API and tracing turned off
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    # When
    env = lambda_like_environment("IntakeFunction", invocation=False)

    # Then
    assert "AWS_LAMBDA_RUNTIME_API" not in env
    assert "POWERTOOLS_TRACE_DISABLED" not in env
    assert "_X_AMZN_TRACE_ID" not in env  # none during Lambda's init
    assert Path(env["LAMBDA_TASK_ROOT"]) == ROOT / "functions" / "intake"
    assert env["_HANDLER"] == "app.lambda_handler"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "IntakeFunction"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/IntakeFunction"
    assert env["TZ"] == ":UTC"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"]
    assert "Sampled=0" in lambda_like_environment("IntakeFunction")["_X_AMZN_TRACE_ID"]
    assert os.environ["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"  # the caller's own is untouched


def test_each_run_imports_the_built_function_and_layer_and_writes_no_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")

    env = coldstart.environment("MatchFunction", tmp_path)

    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path / "MatchFunction")
    assert env["PYTHONPATH"].split(os.pathsep) == [
        str(tmp_path / "MatchFunction"),
        str(tmp_path / "CoreLayer" / "python"),
    ]
    assert "PYTHONDONTWRITEBYTECODE" not in env  # the warm-up compiles the runtime's packages


def test_a_run_counts_the_childs_cpu_time_apart_from_its_waits(tmp_path: Path) -> None:
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(tmp_path)}

    waiting = coldstart.run("import time; time.sleep(0.3)", env)
    busy = coldstart.run(
        "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass", env
    )

    assert waiting.wall >= 0.3 > waiting.cpu
    assert busy.cpu >= 0.3


def test_the_ratio_is_the_median_of_the_pairs() -> None:
    # A slow pair on both sides (the machine was busy) does not move it
    assert coldstart.paired_ratio([1.2, 2.6, 1.3], [1.0, 2.0, 1.0]) == 1.3


def test_item_size_follows_dynamodbs_rules() -> None:
    assert item_size({"pk": {"S": "é"}}) == 2 + 2  # name bytes + UTF-8 bytes
    assert item_size({"n": {"N": "-0012.50"}}) == 1 + 3  # 4 significant digits: 2 bytes + 1
    assert item_size({"m": {"M": {"a": {"S": "bc"}}}}) == 1 + 3 + 1 + (1 + 2)
    assert item_size(None) == 0


def test_counter_names_queries_by_index_and_estimates_units() -> None:
    # Given a client whose answers are stubbed: an item of 5 KB, read twice, and writes
    client = boto3.client("dynamodb", region_name="us-east-1")
    counter, tally = CallCounter(client), Tally()  # attached before the stubber: it sees every call
    big = {"pk": {"S": "D1"}, "sk": {"S": "LICENSE#TX"}, "blob": {"S": "x" * 5_000}}
    put = {"Put": {"TableName": "RequestsTable", "Item": {"pk": {"S": "R"}, "sk": {"S": "MATCH"}}}}
    check = {
        "ConditionCheck": {
            "TableName": "RequestsTable",
            "Key": {"pk": {"S": "R"}},
            "ConditionExpression": "x",
        }
    }

    # When
    with Stubber(client) as stub, counter.into(tally):
        stub.add_response("query", {"Items": [big]})
        stub.add_response("get_item", {"Item": big})
        stub.add_client_error("put_item", "ConditionalCheckFailedException")
        stub.add_response("transact_write_items", {})
        client.query(TableName="DirectorsTable", IndexName="ByState", KeyConditionExpression="x")
        client.get_item(TableName="DirectorsTable", Key={"pk": {"S": "D1"}}, ConsistentRead=True)
        with pytest.raises(ClientError):
            client.put_item(TableName="RequestsTable", Item={"pk": {"S": "R"}})
        client.transact_write_items(TransactItems=[put, check])  # type: ignore[list-item]

    # Then
    assert tally.calls == {"Query(ByState)": 1, "GetItem": 1, "PutItem": 1, "TransactWriteItems": 1}
    assert tally.items_read == 2
    assert tally.read_units == 1.0 + 2.0  # 2 x 4 KB, halved when eventually consistent
    assert tally.write_units == 1 + 2 * 2  # a failed condition still writes; a transaction doubles


def test_index_upkeep_follows_the_key_and_the_projection() -> None:
    index = IndexSpec(("license_state", "pk"), "KEYS_ONLY")
    item = {"pk": {"S": "D1"}, "license_state": {"S": "TX"}, "note": {"S": "a"}}

    assert index_write_units(index, None, item) == 1  # enters
    assert index_write_units(index, item, None) == 1  # leaves
    assert index_write_units(index, item, {**item, "license_state": {"S": "OK"}}) == 2  # delete + put
    assert index_write_units(index, item, {**item, "note": {"S": "b"}}) == 0  # not projected
    assert index_write_units(IndexSpec(index.keys, "ALL"), item, {**item, "note": {"S": "b"}}) == 1
    assert index_write_units(index, {"pk": {"S": "D1"}}, {"pk": {"S": "D2"}}) == 0  # never in it


def test_the_outbox_is_read_by_the_message_ids_the_mail_sends() -> None:
    from directormatch.mail.messages import reply_answer_email
    from directormatch.offers.lifecycle import Outcome
    from directormatch.records import Offer, Profile
    from tests.unit.test_emails import director, offer_item

    offer = Offer.from_item({**offer_item(), "request_id": "01JREQUEST", "director_id": "D7"})
    sent = reply_answer_email(
        offer, Profile.from_item(director(director_id="D7")), "ref", next(iter(Outcome))
    )

    assert parse({"message_id": sent.message_id}) == ("reply_answer", "01JREQUEST")


def test_a_section_without_results_fails_the_run() -> None:
    rows = summary_rows({}, ["calls"], None)

    assert [(row[0], row[-1]) for row in rows] == [("3. DynamoDB calls", "FAIL")]


def test_call_counter_names_other_services_calls_and_counts_only_dynamodbs_as_calls() -> None:
    # Given a counter on an SQS and an SES client
    sqs = boto3.client("sqs", region_name="us-east-1")
    ses = boto3.client("sesv2", region_name="us-east-1")
    counter, tally = CallCounter(sqs, ses), Tally()

    # When a letter is queued and an email sent
    with Stubber(sqs) as queue, Stubber(ses) as mail, counter.into(tally):
        queue.add_response("send_message", {"MessageId": "m1"})
        mail.add_response("send_email", {"MessageId": "e1"})
        sqs.send_message(QueueUrl="https://sqs.us-east-1.amazonaws.com/1/SendQueue", MessageBody="{}")
        ses.send_email(Content={"Raw": {"Data": b"x"}})

    # Then each is named by its service, one email is counted, and neither is a DynamoDB call
    assert tally.calls == {"sqs:SendMessage": 1, "sesv2:SendEmail": 1}
    assert tally.emails == 1
    assert tally.total_calls() == 0


def test_cost_charges_each_queued_letter_its_send_and_a_share_of_the_batch_receive_and_delete() -> None:
    from bench import cost

    # Given a quote whose notify queued 4 letters and whose sender sent them
    figures = {"write_units": 0, "index_write_units": 0, "read_units": 0, "log_bytes_per_invocation": 0}
    per_quote = {
        "NotifyFunction": {"invocations": 1, "calls": {"sqs:SendMessage": 4}, "emails": 0, **figures},
        "SenderFunction": {"invocations": 1, "calls": {"sesv2:SendEmail": 4}, "emails": 4, **figures},
    }
    counts = {"per_quote": per_quote, "sweep_open": {"read_units": 0}, "sweep_open_index_queries": 0}
    durations = {f: {"median_ms": 1.0, "median_own_ms": 1.0} for f in per_quote}

    # When the cost is estimated
    estimate = cost.estimate({"calls": {"counts": counts, "durations": durations}})

    # Then SQS bills the 4 sends and, per batch of the sender's size, one receive and one delete
    [line] = [line for line in estimate["lines"] if line["item"].startswith("SQS")]
    requests = (4 + 2 * 4 / cost.send_batch_size()) * cost.QUOTES
    assert line["usd"] == round(requests * cost.price("sqs_request"), 4)
    assert cost.send_batch_size() >= 1


def test_the_libraries_alone_import_what_the_handler_loads_from_outside_the_project(tmp_path: Path) -> None:
    # Given the match function and the layer's sources, laid out as `make package` builds them
    (tmp_path / "MatchFunction").symlink_to(ROOT / "functions" / "match")
    (tmp_path / "CoreLayer").mkdir()
    (tmp_path / "CoreLayer" / "python").symlink_to(ROOT / "layers" / "core" / "python")
    env = coldstart.environment("MatchFunction", tmp_path)

    # When
    code = coldstart.third_party_code(env)

    # Then it imports the stream function's libraries, none of the project, and makes the floor's client
    listed = code.partition("[")[2].partition("]")[0]
    assert "'aws_lambda_powertools.utilities.batch'" in listed
    assert "'boto3'" in listed
    assert "directormatch" not in listed
    assert "'app'" not in listed
    assert code.endswith(coldstart.FLOOR_CODE)
    assert coldstart.run(code, env).cpu > 0
