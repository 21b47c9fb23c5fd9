"""Case 9: template.yaml, read with the same tag-aware loader as everything else (local.template),
fails on wildcard actions, wildcard resources where a narrower one exists, unencrypted queues,
tables without point-in-time recovery or deletion protection, a public Swagger UI, CORS `*`, and
unencrypted SNS topics that lack a documented reason.

Each check returns findings; the template must have none, and each check is shown to find the flaw
it looks for in a mutated copy of the template (a check that finds nothing proves nothing).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local import template
from tests.reliability.conftest import Tally

CASE = "9"
ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*ROOT.glob("functions/*/app.py"), *ROOT.glob("layers/core/python/directormatch/*.py")]

# Actions that have no resource-level permissions (Resource "*" is the only way to grant them), or
# whose resources are named at run time inside a resource the template names.
# (SAM adds the X-Ray ones itself for Tracing: Active; they are listed should they be written out.)
RESOURCE_WILDCARD_ALLOWED = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "cloudwatch:PutMetricData": "no resource-level permissions (narrow it with a namespace condition)",
    "scheduler:CreateSchedule": "a schedule is named per request when created: any name in the stack's group",
}
# Topics left without KMS, each with the reason (also written as a comment above it in template.yaml).
UNENCRYPTED_TOPICS_ALLOWED = {
    "InboundMailTopic": "SES receipt rules cannot publish to a topic under the AWS-managed SNS key",
    "EmailFeedbackTopic": "SES event destinations cannot publish to a topic under the AWS-managed SNS key",
    "OpsAlertsTopic": "CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key",
    "StreamFailureTopic": "Lambda's on-failure messages hold a function name and stream coordinates only",
}
UNENCRYPTED_COMMENT = "# Not KMS-encrypted:"
SWAGGER_WORDS = ("swagger", "docs", "redoc")

Document = dict[str, Any]
Check = Callable[[Document, str], list[str]]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _strings(value: Any) -> Iterator[str]:
    """Every string in a value, intrinsics included (the text of !Sub, the names in !GetAtt)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def _policies(function_properties: dict[str, Any]) -> Iterator[Any]:
    """A function's policies, with both branches of a conditional (Fn::If) policy."""
    for policy in _list(function_properties.get("Policies", [])):
        if isinstance(policy, dict) and "Fn::If" in policy:
            yield from (p for p in policy["Fn::If"][1:] if p != {"Ref": "AWS::NoValue"})
        else:
            yield policy


def statements(document: Document) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, statement) for every IAM statement: function policies, roles, policies and the
    resource policies of topics, queues and buckets."""
    for name, resource in document["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::Serverless::Function":
            for policy in _policies(props):
                if isinstance(policy, dict) and "Statement" in policy:
                    for statement in _list(policy["Statement"]):
                        yield name, statement
        elif kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                for statement in _list(policy["PolicyDocument"]["Statement"]):
                    yield name, statement
        elif kind in (
            "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy",
            "AWS::SNS::TopicPolicy",
            "AWS::SQS::QueuePolicy",
            "AWS::S3::BucketPolicy",
        ):
            for statement in _list(props["PolicyDocument"]["Statement"]):
                yield name, statement


def check_wildcard_actions(document: Document, text: str) -> list[str]:
    findings = []
    for name, statement in statements(document):
        if "NotAction" in statement:
            findings.append(f"{name}: NotAction grants everything else")
        for action in _list(statement.get("Action", [])):
            if isinstance(action, str) and "*" in action:
                findings.append(f"{name}: wildcard action {action}")
    return findings


def check_wildcard_resources(document: Document, text: str) -> list[str]:
    findings = []
    for name, statement in statements(document):
        actions = {a for a in _list(statement.get("Action", [])) if isinstance(a, str)}
        if "NotResource" in statement:
            findings.append(f"{name}: NotResource")
        for resource in _list(statement.get("Resource", [])):
            if any("*" in part for part in _strings(resource)) and not actions <= set(
                RESOURCE_WILDCARD_ALLOWED
            ):
                findings.append(f"{name}: resource {resource} for {sorted(actions)}")
        principal = statement.get("Principal")
        if principal == "*" or (isinstance(principal, dict) and "*" in _list(principal.get("AWS", []))):
            findings.append(f"{name}: principal *")
    for name, resource in document["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in _policies(resource.get("Properties", {})):
                if not (isinstance(policy, dict) and "Statement" in policy):
                    findings.append(f"{name}: managed or template policy {policy} (write the statements out)")
    return findings


def check_queues_encrypted(document: Document, text: str) -> list[str]:
    return [
        f"{name}: queue not encrypted"
        for name, resource in template_resources(document, "AWS::SQS::Queue")
        if resource.get("Properties", {}).get("SqsManagedSseEnabled") is not True
        and not resource.get("Properties", {}).get("KmsMasterKeyId")
    ]


def check_tables_protected(document: Document, text: str) -> list[str]:
    findings = []
    for name, resource in template_resources(document, "AWS::DynamoDB::Table"):
        props = resource.get("Properties", {})
        if (props.get("PointInTimeRecoverySpecification") or {}).get(
            "PointInTimeRecoveryEnabled"
        ) is not True:
            findings.append(f"{name}: no point-in-time recovery")
        if props.get("DeletionProtectionEnabled") is not True:
            findings.append(f"{name}: no deletion protection")
    findings += [
        f"{name}: SimpleTable (no PITR)"
        for name, _ in template_resources(document, "AWS::Serverless::SimpleTable")
    ]
    return findings


def api_paths(document: Document) -> Iterator[tuple[str, str]]:
    """(function or API, path) of every route: function Api/HttpApi events and inline definitions."""
    for name, resource in document["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            for event in props.get("Events", {}).values():
                if event["Type"] in ("Api", "HttpApi"):
                    yield name, str(event["Properties"].get("Path", ""))
        if resource["Type"] in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
            for path in (props.get("DefinitionBody") or {}).get("paths", {}):
                yield name, str(path)


def swagger_ui_paths(sources: list[Path]) -> set[str]:
    """Paths where the code serves Powertools' Swagger UI (enable_swagger(path=...), default /swagger)."""
    paths = set()
    for source in sources:
        for call in re.finditer(r"enable_swagger\(([^)]*)\)", source.read_text()):
            found = re.search(r"path\s*=\s*[\"']([^\"']+)", call.group(1))
            paths.add(found.group(1) if found else "/swagger")
    return paths


def check_no_public_swagger_ui(document: Document, text: str, sources: list[Path] = SOURCES) -> list[str]:
    findings = []
    served = swagger_ui_paths(sources)
    for name, path in api_paths(document):
        if any(word in path.lower() for word in SWAGGER_WORDS):
            findings.append(f"{name}: route {path} looks like API docs UI")
        if path in served or ("{proxy+}" in path and served):
            findings.append(
                f"{name}: route {path} reaches the Swagger UI the code serves at {sorted(served)}"
            )
    return findings


def _origin_values(document: Document) -> Iterator[tuple[str, Any]]:
    globals_api = document.get("Globals", {}).get("Api", {})
    if "Cors" in globals_api:
        yield "Globals.Api", globals_api["Cors"]
    for name, resource in document["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Api" and "Cors" in props:
            cors = props["Cors"]
            yield name, cors.get("AllowOrigin") if isinstance(cors, dict) else cors
        if resource["Type"] == "AWS::Serverless::HttpApi" and "CorsConfiguration" in props:
            for origin in _list((props["CorsConfiguration"] or {}).get("AllowOrigins", [])):
                yield name, origin
        if resource["Type"] == "AWS::ApiGateway::GatewayResponse":
            for header, value in (props.get("ResponseParameters") or {}).items():
                if header.lower().endswith("access-control-allow-origin"):
                    yield name, value


def check_no_cors_wildcard(document: Document, text: str, sources: list[Path] = SOURCES) -> list[str]:
    findings = []
    parameters = document.get("Parameters", {})
    for name, value in _origin_values(document):
        for part in _strings(value):
            if part.strip("'\" ") == "*":
                findings.append(f"{name}: CORS origin *")
            for parameter in re.findall(r"\$\{(\w+)\}", part) + (
                [value["Ref"]] if isinstance(value, dict) and "Ref" in value else []
            ):
                spec = parameters.get(parameter)
                if spec is None:
                    continue
                if "*" in str(spec.get("Default", "")):
                    findings.append(f"{name}: CORS origin parameter {parameter} defaults to *")
                pattern = spec.get("AllowedPattern")
                if pattern is None or re.fullmatch(pattern, "*") or re.fullmatch(pattern, "https://*"):
                    findings.append(f"{name}: CORS origin parameter {parameter} lets * through")
    for source in sources:
        code = source.read_text()
        relative = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
        if re.search(r"allow_origin\s*=\s*[\"']\*[\"']", code) or re.search(r"CORSConfig\(\s*\)", code):
            findings.append(f"{relative}: CORSConfig allowing *")
        if re.search(r"Access-Control-Allow-Origin[\"']\s*:\s*[\"']\*", code):
            findings.append(f"{relative}: Access-Control-Allow-Origin *")
    return findings


def check_topics_encrypted_or_documented(document: Document, text: str) -> list[str]:
    findings = []
    lines = text.splitlines()
    for name, resource in template_resources(document, "AWS::SNS::Topic"):
        if resource.get("Properties", {}).get("KmsMasterKeyId"):
            continue
        if name not in UNENCRYPTED_TOPICS_ALLOWED:
            findings.append(f"{name}: topic not encrypted, and not on the allow-list")
            continue
        at = next((i for i, line in enumerate(lines) if line == f"  {name}:"), None)
        above = next((lines[i].strip() for i in range((at or 0) - 1, -1, -1) if lines[i].strip()), "")
        if at is None or not above.startswith(UNENCRYPTED_COMMENT):
            findings.append(
                f"{name}: unencrypted without a '{UNENCRYPTED_COMMENT} <reason>' comment above it"
            )
    return findings


def template_resources(document: Document, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, r) for name, r in document["Resources"].items() if r["Type"] == kind]


CHECKS: list[Check] = [
    check_wildcard_actions,
    check_wildcard_resources,
    check_queues_encrypted,
    check_tables_protected,
    check_no_public_swagger_ui,
    check_no_cors_wildcard,
    check_topics_encrypted_or_documented,
]


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
def test_template_passes_security_check(check: Check, tally: Tally) -> None:
    # Given template.yaml as deployed
    document, text = template.load(), template.TEMPLATE.read_text()

    # When the check reads it
    findings = check(document, text)

    # Then it finds nothing
    tally.tried(ok=not findings)
    assert findings == []


def _statement(document: Document, function: str = "MatchFunction", index: int = 0) -> dict[str, Any]:
    statement: dict[str, Any] = document["Resources"][function]["Properties"]["Policies"][0]["Statement"][
        index
    ]
    return statement


def _set(path: str, value: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        *parents, last = path.split(".")
        target = document
        for part in parents:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value

    return change


MUTATIONS: list[tuple[str, Check, Callable[[Document], None]]] = [
    ("action *", check_wildcard_actions, lambda d: _statement(d).update(Action="*")),
    ("action dynamodb:*", check_wildcard_actions, lambda d: _statement(d).update(Action=["dynamodb:*"])),
    ("NotAction", check_wildcard_actions, lambda d: _statement(d).update(NotAction=["iam:*"])),
    ("resource *", check_wildcard_resources, lambda d: _statement(d).update(Resource="*")),
    (
        "index/*",
        check_wildcard_resources,
        lambda d: _statement(d).update(Resource={"Fn::Sub": "${DirectorsTable.Arn}/index/*"}),
    ),
    (
        "managed policy",
        check_wildcard_resources,
        lambda d: d["Resources"]["MatchFunction"]["Properties"]["Policies"].append(
            "AmazonDynamoDBFullAccess"
        ),
    ),
    (
        "public topic policy",
        check_wildcard_resources,
        lambda d: d["Resources"]["InboundMailTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][
            0
        ].update(Principal="*"),
    ),
    (
        "queue without SSE",
        check_queues_encrypted,
        _set("Resources.StreamFailureQueue.Properties.SqsManagedSseEnabled", None),
    ),
    (
        "table without PITR",
        check_tables_protected,
        _set("Resources.RequestsTable.Properties.PointInTimeRecoverySpecification", None),
    ),
    (
        "table without deletion protection",
        check_tables_protected,
        _set("Resources.DirectorsTable.Properties.DeletionProtectionEnabled", False),
    ),
    (
        "swagger route",
        check_no_public_swagger_ui,
        _set(
            "Resources.IntakeFunction.Properties.Events.Docs",
            {"Type": "Api", "Properties": {"RestApiId": {"Ref": "Api"}, "Path": "/swagger", "Method": "get"}},
        ),
    ),
    ("CORS *", check_no_cors_wildcard, _set("Resources.Api.Properties.Cors.AllowOrigin", "'*'")),
    (
        "CORS parameter unconstrained",
        check_no_cors_wildcard,
        _set("Parameters.SiteOrigin.AllowedPattern", None),
    ),
    ("CORS parameter default *", check_no_cors_wildcard, _set("Parameters.SiteOrigin.Default", "*")),
    (
        "topic not allowed",
        check_topics_encrypted_or_documented,
        _set("Resources.NewTopic", {"Type": "AWS::SNS::Topic"}),
    ),
]


@pytest.mark.parametrize(
    ("check", "mutate"), [(c, m) for _, c, m in MUTATIONS], ids=[n for n, _, _ in MUTATIONS]
)
def test_security_check_finds_the_flaw_in_a_mutated_template(
    check: Check, mutate: Callable[[Document], None], tally: Tally
) -> None:
    # Given the template with one flaw put in
    document = copy.deepcopy(template.load())
    mutate(document)

    # When the check reads it
    findings = check(document, template.TEMPLATE.read_text())

    # Then it reports the flaw
    tally.tried(ok=bool(findings))
    assert findings


def test_unencrypted_topic_without_its_comment_is_found(tally: Tally) -> None:
    # Given the template text with the reason above the ops topic taken out
    text = template.TEMPLATE.read_text()
    lines = text.splitlines()
    at = lines.index("  OpsAlertsTopic:")
    assert lines[at - 1].strip().startswith(UNENCRYPTED_COMMENT)
    stripped = "\n".join(lines[: at - 1] + lines[at:])

    # When the topic check reads it
    findings = check_topics_encrypted_or_documented(template.load(), stripped)

    # Then the undocumented topic is reported
    tally.tried(
        ok=findings
        == [f"OpsAlertsTopic: unencrypted without a '{UNENCRYPTED_COMMENT} <reason>' comment above it"]
    )
    assert findings == [
        f"OpsAlertsTopic: unencrypted without a '{UNENCRYPTED_COMMENT} <reason>' comment above it"
    ]


def test_cors_wildcard_and_swagger_ui_in_code_are_found(tmp_path: Path, tally: Tally) -> None:
    # Given a handler that answers CORS for any origin and serves the Swagger UI on a routed path
    handler = tmp_path / "app.py"
    handler.write_text(
        'app = APIGatewayRestResolver(cors=CORSConfig(allow_origin="*"))\n'
        'app.enable_swagger(path="/quote-requests")\n'
    )

    # When the CORS and Swagger checks read the code with the template
    cors = check_no_cors_wildcard(template.load(), template.TEMPLATE.read_text(), sources=[*SOURCES, handler])
    ui = check_no_public_swagger_ui(template.load(), template.TEMPLATE.read_text(), sources=[handler])

    # Then both are reported
    tally.tried(ok=bool(cors and ui))
    assert any("CORSConfig allowing *" in finding for finding in cors)
    assert any("reaches the Swagger UI" in finding for finding in ui)
