"""Reads template.yaml (CloudFormation tags included) and derives what the local stack and tests create.

One reader for both, so a table, index, stream, filter or route exists locally exactly as declared.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` into {"Ref": "X"} and `!Sub ...` into {"Fn::Sub": ...}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


def resources(kind: str, path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in load(path)["Resources"].items() if r["Type"] == kind}


def parameter_defaults(path: Path = TEMPLATE) -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in load(path).get("Parameters", {}).items()}


def table_definitions(path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    """create_table keyword arguments per table, named by logical id (the local physical name)."""
    tables = {}
    for name, resource in resources("AWS::DynamoDB::Table", path).items():
        props = resource["Properties"]
        spec: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            spec["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            spec["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        tables[name] = spec
    return tables


def ttl_attributes(path: Path = TEMPLATE) -> dict[str, str]:
    result = {}
    for name, resource in resources("AWS::DynamoDB::Table", path).items():
        ttl = resource["Properties"].get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            result[name] = ttl["AttributeName"]
    return result


# Pseudo parameters as the local stack (and checks.iam) name its account.
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "directormatch",
}
ARN_FORMATS = {
    "AWS::Serverless::Function": "arn:aws:lambda:us-east-1:123456789012:function:{}",
    "AWS::IAM::Role": "arn:aws:iam::123456789012:role/{}",
    "AWS::SQS::Queue": "arn:aws:sqs:us-east-1:123456789012:{}",
}


def resolve(value: Any, parameters: dict[str, str], path: Path = TEMPLATE) -> Any:
    """Resolve the intrinsic functions the environment and event sources use: Ref to parameters,
    pseudo parameters and resources (a resource is named by its logical id; a queue's Ref is its URL
    once `parameters` holds it), Fn::GetAtt of an Arn, FindInMap, and Fn::Sub of those."""
    names = {**PSEUDO, **parameters}
    if isinstance(value, dict) and "Ref" in value:
        return names.get(value["Ref"], value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        resource, name = value["Fn::GetAtt"]
        return attribute(resource, name, path)
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        mapping, first, second = (resolve(part, parameters, path) for part in value["Fn::FindInMap"])
        return load(path)["Mappings"][mapping][str(first)][second]
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):

        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            if "." not in key:
                return names.get(key, key)
            resource, name = key.split(".", 1)
            return attribute(resource, name, path)

        return re.sub(r"\$\{([^}!]+)\}", replace, value["Fn::Sub"])
    return value


def attribute(resource: str, name: str, path: Path = TEMPLATE) -> str:
    """Fn::GetAtt locally: an Arn in the local account, or the resource's logical id."""
    kind = load(path)["Resources"][resource]["Type"]
    return ARN_FORMATS[kind].format(resource) if name == "Arn" else resource


def function_named(name: str, path: Path = TEMPLATE) -> str:
    """The logical id of the function a FunctionName (or a function ARN's last part) names."""
    for function, resource in resources("AWS::Serverless::Function", path).items():
        if resolve(resource["Properties"].get("FunctionName", function), {}) == name:
            return function
    raise KeyError(name)


def schedule_groups(path: Path = TEMPLATE) -> list[str]:
    return list(resources("AWS::Scheduler::ScheduleGroup", path))


def function_environment(function: str, parameters: dict[str, str], path: Path = TEMPLATE) -> dict[str, str]:
    """Globals plus the function's own variables, with Refs resolved against `parameters`."""
    document = load(path)
    merged = dict(document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    own = document["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    merged.update(own)
    return {name: str(resolve(value, parameters)) for name, value in merged.items()}


def handler_module(function: str, path: Path = TEMPLATE) -> tuple[str, str]:
    """('functions.intake.app', 'lambda_handler') from CodeUri and Handler."""
    props = load(path)["Resources"][function]["Properties"]
    package = props["CodeUri"].strip("/").replace("/", ".")
    module, attribute = props["Handler"].rsplit(".", 1)
    return f"{package}.{module}", attribute


@dataclass(frozen=True)
class StreamSubscription:
    function: str
    table: str
    patterns: tuple[dict[str, Any], ...]
    batch_size: int
    maximum_retry_attempts: int
    report_batch_item_failures: bool
    on_failure: str | None = None  # logical id of the on-failure destination
    on_failure_type: str = "SQS"  # or SNS


@dataclass(frozen=True)
class Route:
    function: str
    method: str
    path: str
    parts: tuple[str, ...] = field(default=())


def stream_subscriptions(path: Path = TEMPLATE) -> list[StreamSubscription]:
    subscriptions = []
    for name, resource in resources("AWS::Serverless::Function", path).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "DynamoDB":
                continue
            props = event["Properties"]
            table = props["Stream"]["Fn::GetAtt"][0]
            filters = props.get("FilterCriteria", {}).get("Filters", [])
            on_failure = props.get("DestinationConfig", {}).get("OnFailure", {})
            subscriptions.append(
                StreamSubscription(
                    function=name,
                    table=table,
                    patterns=tuple(json.loads(f["Pattern"]) for f in filters),
                    batch_size=int(props.get("BatchSize", 100)),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                    on_failure=_logical_id(on_failure["Destination"]) if on_failure else None,
                    on_failure_type=str(on_failure.get("Type", "SQS")),
                )
            )
    return subscriptions


@dataclass(frozen=True)
class QueueSubscription:
    """An SQS event source: the function, the queue's logical id, and how Lambda polls it."""

    function: str
    queue: str
    batch_size: int
    maximum_concurrency: int
    report_batch_item_failures: bool


def queue_subscriptions(parameters: dict[str, str], path: Path = TEMPLATE) -> list[QueueSubscription]:
    subscriptions = []
    for name, resource in resources("AWS::Serverless::Function", path).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            props = event["Properties"]
            scaling = props.get("ScalingConfig", {})
            subscriptions.append(
                QueueSubscription(
                    function=name,
                    queue=_logical_id(props["Queue"]),
                    batch_size=int(resolve(props.get("BatchSize", 10), parameters, path)),
                    maximum_concurrency=int(
                        resolve(scaling.get("MaximumConcurrency", 1000), parameters, path)
                    ),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                )
            )
    return subscriptions


def redrive_targets(path: Path = TEMPLATE) -> dict[str, tuple[str, int]]:
    """{queue: (its dead-letter queue, maxReceiveCount)} for each queue with a RedrivePolicy."""
    targets = {}
    for name, resource in resources("AWS::SQS::Queue", path).items():
        policy = resource.get("Properties", {}).get("RedrivePolicy")
        if policy:
            targets[name] = (_logical_id(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"]))
    return targets


def function_timeout(function: str, path: Path = TEMPLATE) -> int:
    document = load(path)
    default = document.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    return int(document["Resources"][function]["Properties"].get("Timeout", default))


def _logical_id(reference: dict[str, Any]) -> str:
    """X from {"Ref": "X"} or {"Fn::GetAtt": ["X", "Arn"]}."""
    return str(reference["Ref"]) if "Ref" in reference else str(reference["Fn::GetAtt"][0])


def api_routes(path: Path = TEMPLATE) -> list[Route]:
    routes = []
    for name, resource in resources("AWS::Serverless::Function", path).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                props = event["Properties"]
                route_path = props["Path"]
                routes.append(
                    Route(name, props["Method"].upper(), route_path, tuple(route_path.strip("/").split("/")))
                )
    return routes


def queue_names(path: Path = TEMPLATE) -> list[str]:
    return list(resources("AWS::SQS::Queue", path))


def email_identities(parameters: dict[str, str], path: Path = TEMPLATE) -> list[str]:
    """Identities to verify locally: each AWS::SES::EmailIdentity, with Fn::Select/Split on a parameter."""
    identities = []
    for resource in resources("AWS::SES::EmailIdentity", path).values():
        value = resource["Properties"]["EmailIdentity"]
        if isinstance(value, dict) and "Fn::Select" in value:
            index, split = value["Fn::Select"]
            separator, source = split["Fn::Split"]
            value = str(resolve(source, parameters)).split(separator)[int(index)]
        identities.append(str(resolve(value, parameters)))
    return identities


def configuration_sets(path: Path = TEMPLATE) -> list[str]:
    return list(resources("AWS::SES::ConfigurationSet", path))


def schedules(path: Path = TEMPLATE) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(function, schedule expression, constant Input or None) for each Schedule event."""
    found = []
    for name, resource in resources("AWS::Serverless::Function", path).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] in ("Schedule", "ScheduleV2"):
                props = event["Properties"]
                expression = str(props.get("Schedule") or props.get("ScheduleExpression"))
                constant = json.loads(props["Input"]) if props.get("Input") else None
                found.append((name, expression, constant))
    return found


def sns_subscribers(path: Path = TEMPLATE) -> list[tuple[str, str]]:
    """(function, topic logical id) for each SNS event."""
    found = []
    for name, resource in resources("AWS::Serverless::Function", path).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "SNS":
                found.append((name, str(event["Properties"]["Topic"]["Ref"])))
    return found


def topic_queues(topic: str, path: Path = TEMPLATE) -> list[tuple[str, bool]]:
    """(queue logical id, raw message delivery) for each SQS subscription to `topic`."""
    found = []
    for resource in resources("AWS::SNS::Subscription", path).values():
        props = resource["Properties"]
        if props["Protocol"] == "sqs" and _logical_id(props["TopicArn"]) == topic:
            found.append((_logical_id(props["Endpoint"]), bool(props.get("RawMessageDelivery", False))))
    return found


def dead_letter_queue(function: str, path: Path = TEMPLATE) -> str | None:
    """Logical id of the queue a function's failed asynchronous events go to, if it has one."""
    target = load(path)["Resources"][function]["Properties"].get("DeadLetterQueue", {}).get("TargetArn")
    return _logical_id(target) if target else None


def inbound_mail_topics(path: Path = TEMPLATE) -> list[str]:
    """Topics that SES receipt rules publish received mail to (SNSAction)."""
    topics = []
    for resource in resources("AWS::SES::ReceiptRule", path).values():
        for action in resource["Properties"]["Rule"].get("Actions", []):
            if "SNSAction" in action:
                topics.append(str(action["SNSAction"]["TopicArn"]["Ref"]))
    return topics
