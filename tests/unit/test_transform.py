"""checks/transform.py: template.yaml as CloudFormation receives it (packaged, SAM-transformed), and
cfn-lint on that result, which sees what the SAM source hides (a log group named after the function
that logs to it makes a cycle)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from cfnlint.api import lint

from checks.transform import packaged, transformed
from local import template


def lint_errors(document: dict[str, Any]) -> list[str]:
    return [f"{m.rule.id} {m.message}" for m in lint(json.dumps(document)) if m.rule.id.startswith("E")]


@pytest.fixture(scope="module")
def cloudformation() -> dict[str, Any]:
    return transformed()


def test_transform_packages_every_code_path_without_touching_the_source() -> None:
    source = template.load()
    before = copy.deepcopy(source)
    result = packaged(source)
    properties = [r.get("Properties", {}) for r in result["Resources"].values()]
    code = [p.get("CodeUri") or p.get("ContentUri") for p in properties]
    code = [uri for uri in code if uri is not None]
    assert len(code) == len(template.resources("AWS::Serverless::Function")) + 1  # functions + layer
    assert all(uri.startswith("s3://") for uri in code)
    assert source == before


def test_transform_gives_each_function_its_lambda_role_and_event_sources(
    cloudformation: dict[str, Any],
) -> None:
    resources = cloudformation["Resources"]
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in resources.values())
    for function in template.resources("AWS::Serverless::Function"):
        assert resources[function]["Type"] == "AWS::Lambda::Function"
        assert resources[f"{function}Role"]["Type"] == "AWS::IAM::Role"
    mappings = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert sorted(m["Properties"]["FunctionName"]["Ref"] for m in mappings) == [
        "MatchFunction",
        "NotifyFunction",
        "SenderFunction",
    ]


def test_transform_sender_concurrency_and_batch_come_from_the_ses_rate(
    cloudformation: dict[str, Any],
) -> None:
    [mapping] = [
        r["Properties"]
        for r in cloudformation["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["FunctionName"] == {"Ref": "SenderFunction"}
    ]
    from_rate = {"Fn::FindInMap": ["SendRates", {"Ref": "SesSendRate"}, "Senders"]}
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": from_rate}
    assert mapping["BatchSize"] == {"Fn::FindInMap": ["SendRates", {"Ref": "SesSendRate"}, "BatchSize"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    environment = cloudformation["Resources"]["SenderFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["SEND_CONCURRENCY"] == from_rate
    # Lambda refuses MaximumConcurrency below 2; a sender never takes more than the rate's share.
    for rate, row in cloudformation["Mappings"]["SendRates"].items():
        assert row["Senders"] >= 2
        assert int(rate) / row["Senders"] <= 10


def test_transform_lints_clean(cloudformation: dict[str, Any]) -> None:
    assert lint_errors(cloudformation) == []


def test_transform_lint_catches_a_log_group_named_after_its_function() -> None:
    # Given the log group named from the function that logs to it (a cycle the SAM source hides)
    document = copy.deepcopy(template.load())
    document["Resources"]["IntakeFunctionLogs"]["Properties"]["LogGroupName"] = {
        "Fn::Sub": "/aws/lambda/${IntakeFunction}"
    }
    # Then the SAM source hides it, and the transformed template shows it
    assert not any("E3004" in e for e in lint_errors(document))
    assert any(e.startswith("E3004") and "IntakeFunction" in e for e in lint_errors(transformed(document)))


# The functions people wait on, with their API routes: each runs on SnapStart behind its alias.
SNAPSTART_ROUTES = {"IntakeFunction": 3, "ApplyFunction": 1}


def test_only_the_functions_people_wait_on_have_an_alias(cloudformation: dict[str, Any]) -> None:
    aliases = {k for k, r in cloudformation["Resources"].items() if r["Type"] == "AWS::Lambda::Alias"}
    assert aliases == {f"{function}Aliaslive" for function in SNAPSTART_ROUTES}


@pytest.mark.parametrize(("function", "routes"), SNAPSTART_ROUTES.items())
def test_function_people_wait_on_runs_on_snapstart_and_the_api_invokes_its_alias(
    cloudformation: dict[str, Any], function: str, routes: int
) -> None:
    # Given a function with SnapStart, which applies to published versions only
    resources = cloudformation["Resources"]
    alias = f"{function}Aliaslive"
    assert resources[function]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    version = resources[alias]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    assert resources[version]["Type"] == "AWS::Lambda::Version"

    # Then every API route to it invokes the alias (the snapshot), never $LATEST
    paths = resources["Api"]["Properties"]["Body"]["paths"]
    uris = [
        op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for methods in paths.values()
        for op in methods.values()
        if "x-amazon-apigateway-integration" in op and function in json.dumps(op)
    ]
    assert len(uris) == routes
    assert all(f"${{{alias}}}/invocations" in uri for uri in uris)
    permissions = [
        r["Properties"]["FunctionName"]
        for k, r in resources.items()
        if r["Type"] == "AWS::Lambda::Permission" and k.startswith(function)
    ]
    assert permissions
    assert permissions == [{"Ref": alias}] * len(permissions)
