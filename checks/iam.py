"""Each function's AWS calls, held against that function's role in the transformed template.

moto does not enforce IAM, so a call the role does not allow passes every test and fails in AWS
(AccessDenied, every retry). This module closes that gap in three parts:

- **Recording.** A botocore `before-parameter-build` hook, installed in botocore's built-in handlers
  so every client made afterwards has it, sees each call with its parameters. The function making
  the call is the `functions.<name>.app` module on the caller's stack (calls made by tests and by
  the local stack's own setup belong to no function and are not recorded).
- **Mapping a call to what IAM authorises:** actions and resource ARNs as AWS evaluates them (a
  TransactWriteItems is one PutItem/UpdateItem/DeleteItem/ConditionCheckItem per item, on its
  table; a Query on an index is authorised on the index ARN; SES v2 SendEmail on the sender's
  identity and the configuration set, with the `ses:FromAddress` condition key).
- **Evaluating** each call against the statements of the function's role in the transformed
  template (SAM policy templates expanded, intrinsic functions resolved against the local stack's
  names): an explicit Deny or no matching Allow is a violation naming function, action, resource.

    python -m checks.iam [--template T] CALLS.jsonl...   check recorded calls, report unused grants

`make iam` runs the integration and end-to-end suites with `pytest --iam` (checks/pytest_plugin.py),
which records and checks in one go; `make test` passes --iam too.
"""

from __future__ import annotations

import argparse
import email
import inspect
import json
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from local import template

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

# Managed policies SAM attaches to function roles, as AWS publishes them (IAM console, "AWS managed
# policies"). Their actions serve the Lambda service (logs, traces, reading streams), not our code.
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}

_DYNAMODB_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


@dataclass(frozen=True, order=True)
class Authorization:
    """One action on one resource, as IAM evaluates it, with the condition keys the call sets."""

    function: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "function": self.function,
                "action": self.action,
                "resource": self.resource,
                "context": dict(self.context),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, line: str) -> Authorization:
        data = json.loads(line)
        return cls(data["function"], data["action"], data["resource"], tuple(sorted(data["context"].items())))


@dataclass(frozen=True)
class Violation:
    authorization: Authorization
    reason: str

    def __str__(self) -> str:
        a = self.authorization
        return f"{a.function} may not {a.action} on {a.resource} ({self.reason})"


# --- from a call to what IAM authorises -------------------------------------------------------

Need = tuple[str, str, dict[str, str]]
"""(action, resource ARN, condition keys the call sets)"""


def _arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def _table_arn(table: str, index: str | None = None) -> str:
    return _arn("dynamodb", f"table/{table}" + (f"/index/{index}" if index else ""))


def _dynamodb(operation: str, params: dict[str, Any]) -> list[Need]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found: list[Need] = []
        for item in params.get("TransactItems", []):
            [(kind, body)] = item.items()
            found.append((f"dynamodb:{_DYNAMODB_TRANSACT_ACTIONS[kind]}", _table_arn(body["TableName"]), {}))
        return found
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [(f"dynamodb:{operation}", _table_arn(table), {}) for table in params.get("RequestItems", {})]
    if "TableName" in params:
        return [(f"dynamodb:{operation}", _table_arn(params["TableName"], params.get("IndexName")), {})]
    return [(f"dynamodb:{operation}", "*", {})]


def _sender_address(params: dict[str, Any]) -> str:
    sender = params.get("FromEmailAddress")
    if not sender:
        raw = params.get("Content", {}).get("Raw", {}).get("Data", b"")
        message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode())
        sender = message.get("From", "")
    return parseaddr(str(sender))[1].lower()


def _sesv2(operation: str, params: dict[str, Any]) -> list[Need]:
    if operation != "SendEmail":
        return [(f"ses:{operation}", "*", {})]
    sender = _sender_address(params)
    context = {"ses:FromAddress": sender}
    found = [("ses:SendEmail", _arn("ses", f"identity/{sender.rsplit('@', 1)[-1]}"), context)]
    if params.get("ConfigurationSetName"):
        found.append(
            ("ses:SendEmail", _arn("ses", f"configuration-set/{params['ConfigurationSetName']}"), context)
        )
    return found


def _queue_arn(url: str) -> str:
    return _arn("sqs", url.rstrip("/").rsplit("/", 1)[-1])


def _scheduler(operation: str, params: dict[str, Any]) -> list[Need]:
    """A schedule is authorised on its ARN in its group; creating one passes its target's role."""
    group = params.get("GroupName", "default")
    found: list[Need] = [
        (f"scheduler:{operation}", _arn("scheduler", f"schedule/{group}/{params.get('Name', '*')}"), {})
    ]
    role = params.get("Target", {}).get("RoleArn")
    if role:
        found.append(("iam:PassRole", role, {}))
    return found


RESOURCE_OF: dict[str, Callable[[str, dict[str, Any]], list[Need]]] = {
    "scheduler": _scheduler,
    "dynamodb": _dynamodb,
    "sesv2": _sesv2,
    "ssm": lambda op, p: [(f"ssm:{op}", _arn("ssm", "parameter" + _slash(p.get("Name", "*"))), {})],
    "sqs": lambda op, p: [(f"sqs:{op}", _queue_arn(p.get("QueueUrl", "*")), {})],
    "sns": lambda op, p: [(f"sns:{op}", p.get("TopicArn", "*"), {})],
    "dynamodbstreams": lambda op, p: [(f"dynamodb:{op}", p.get("StreamArn", "*"), {})],
}


def _slash(name: str) -> str:
    return name if name.startswith("/") else "/" + name


def authorizations(
    function: str, service: str, operation: str, params: dict[str, Any]
) -> list[Authorization]:
    """What IAM checks for one call of `operation` on `service` (botocore's service name)."""
    mapper = RESOURCE_OF.get(service)
    if mapper is None:
        # An unmapped service is recorded as such: the check fails until it is mapped here.
        return [Authorization(function, f"{service}:{operation}", "unmapped-service")]
    return [
        Authorization(function, action, resource, tuple(sorted(context.items())))
        for action, resource, context in mapper(operation, params)
    ]


# --- recording ---------------------------------------------------------------------------------


def _function_of_module() -> dict[str, str]:
    """{'functions.notify.app': 'NotifyFunction', ...} from each function's CodeUri and Handler."""
    return {
        template.handler_module(name)[0]: name for name in template.resources("AWS::Serverless::Function")
    }


def calling_function(modules: dict[str, str]) -> str | None:
    """The function whose handler module is on the current stack (innermost first), if any."""
    frame = inspect.currentframe()
    while frame is not None:
        name = modules.get(frame.f_globals.get("__name__", ""))
        if name:
            return name
        frame = frame.f_back
    return None


class Recorder:
    """Collects the authorizations of every call made from a function's code while it is active."""

    def __init__(self) -> None:
        self.seen: set[Authorization] = set()
        self._lock = threading.Lock()

    def add(self, found: Iterable[Authorization]) -> list[Authorization]:
        with self._lock:
            new = [a for a in found if a not in self.seen]
            self.seen.update(new)
        return new


_active: list[Recorder] = []
_installed = False
_modules: dict[str, str] = {}


def _on_call(model: Any, params: dict[str, Any], **_: Any) -> None:
    if not _active:
        return
    function = calling_function(_modules)
    if function is None:
        return
    service = model.service_model.service_name
    found = authorizations(function, service, model.name, params)
    for recorder in list(_active):
        recorder.add(found)


def install() -> None:
    """Add the hook to botocore's built-in handlers: every client created from now on carries it
    (the same mechanism moto uses for its stubber). Clients made earlier do not."""
    global _installed
    if _installed:
        return
    from botocore import handlers

    _modules.update(_function_of_module())
    handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _on_call))
    _installed = True


@contextmanager
def recording() -> Iterator[Recorder]:
    """Record calls made by function code inside the block (create clients inside it, too)."""
    install()
    recorder = Recorder()
    _active.append(recorder)
    try:
        yield recorder
    finally:
        _active.remove(recorder)


class FileRecorder(Recorder):
    """A recorder that also appends each new authorization to a JSON-lines file (the local stack
    runs in another process; its calls reach the test run this way)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, found: Iterable[Authorization]) -> list[Authorization]:
        new = super().add(found)
        if new:
            with self._lock, self.path.open("a") as handle:
                handle.writelines(a.to_json() + "\n" for a in new)
        return new


def record_to_file(path: Path) -> FileRecorder:
    install()
    recorder = FileRecorder(path)
    _active.append(recorder)
    return recorder


def read_calls(paths: Iterable[Path]) -> set[Authorization]:
    return {
        Authorization.from_json(line)
        for path in paths
        if path.exists()
        for line in path.read_text().splitlines()
        if line.strip()
    }


# --- the roles of the transformed template ---------------------------------------------------


class Resolver:
    """Resolves the intrinsic functions policies use, to the names the local stack gives resources:
    each resource's physical name is its logical id (tables, queues, configuration sets), parameters
    take their defaults, and an SES identity is its EmailIdentity."""

    def __init__(self, document: dict[str, Any], parameters: dict[str, str]) -> None:
        self.resources: dict[str, Any] = document.get("Resources", {})
        self.conditions: dict[str, Any] = document.get("Conditions", {})
        self.parameters = parameters

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.conditions[name]))

    def ref(self, name: str) -> str:
        pseudo = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources.get(name, {})
        if resource.get("Type") == "AWS::SES::EmailIdentity":
            return str(self.resolve(resource["Properties"]["EmailIdentity"]))
        if resource.get("Type") == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
        if resource.get("Type") == "AWS::SNS::Topic":
            return _arn("sns", name)
        return name

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.resources.get(name, {}).get("Type")
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return _table_arn(name)
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            return _table_arn(name) + "/stream/*"
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return _arn("sqs", name)
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return name
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{name}"
        raise ValueError(
            f"checks.iam cannot resolve Fn::GetAtt {name}.{attribute}: add it to Resolver.get_att"
        )

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in variables:
                return str(self.resolve(variables[key]))
            if "." in key:
                return self.get_att(*key.split(".", 1))
            return self.ref(key)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        """The value with intrinsic functions resolved; AWS::NoValue (None) drops out of lists."""
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not None]
        if not isinstance(value, dict):
            return value
        if value == {"Ref": "AWS::NoValue"}:
            return None
        if "Ref" in value:
            return self.ref(value["Ref"])
        if "Fn::If" in value:
            name, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.condition(name) else when_false)
        if "Fn::Not" in value:
            return not self.resolve(value["Fn::Not"][0])
        if "Fn::Equals" in value:
            left, right = self.resolve(value["Fn::Equals"])
            return str(left) == str(right)
        if "Condition" in value and isinstance(value["Condition"], str) and len(value) == 1:
            return self.condition(value["Condition"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            name, attribute = target if isinstance(target, list) else target.split(".", 1)
            return self.get_att(name, attribute)
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
            return self._sub(text, variables)
        if "Fn::Select" in value:
            index, items = value["Fn::Select"]
            return self.resolve(items)[int(index)]
        if "Fn::Split" in value:
            separator, source = value["Fn::Split"]
            return str(self.resolve(source)).split(separator)
        if "Fn::Join" in value:
            separator, items = value["Fn::Join"]
            return separator.join(str(v) for v in self.resolve(items))
        return {key: self.resolve(v) for key, v in value.items()}


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: dict[str, dict[str, Any]]
    managed: bool = False

    def matches(self, authorization: Authorization) -> bool:
        return (
            any(_glob(pattern, authorization.action, case=False) for pattern in self.actions)
            and any(_glob(pattern, authorization.resource, case=True) for pattern in self.resources)
            and _conditions_hold(self.conditions, dict(authorization.context))
        )


def _glob(pattern: str, value: str, case: bool) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """StringEquals and StringLike (and their IfExists forms), the operators our policies use; any
    other operator is treated as not satisfied, so a new one fails the check until it is supported."""
    for operator, keys in conditions.items():
        base = operator.removesuffix("IfExists")
        for key, expected in keys.items():
            actual = context.get(key)
            if actual is None:
                if operator.endswith("IfExists"):
                    continue
                return False
            if base == "StringEquals":
                ok = actual in [str(e) for e in _as_list(expected)]
            elif base == "StringLike":
                ok = any(_glob(str(e), actual, case=True) for e in _as_list(expected))
            else:
                return False
            if not ok:
                return False
    return True


def function_statements(document: dict[str, Any], parameters: dict[str, str]) -> dict[str, list[Statement]]:
    """{function logical id: the statements of its role}, from a transformed template."""
    resolver = Resolver(document, parameters)
    resources = document["Resources"]
    found: dict[str, list[Statement]] = {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_ref = resource["Properties"]["Role"]["Fn::GetAtt"]
        role = resources[role_ref[0] if isinstance(role_ref, list) else role_ref.split(".")[0]]["Properties"]
        statements: list[Statement] = []
        for arn in role.get("ManagedPolicyArns", []):
            arn = str(resolver.resolve(arn))
            if arn not in MANAGED_POLICIES:
                raise ValueError(f"{name}: managed policy {arn} is unknown to checks.iam; add its statements")
            statements += [_statement(s, resolver, managed=True) for s in MANAGED_POLICIES[arn]]
        for policy in resolver.resolve(role.get("Policies", [])):  # Fn::If picks a policy or none
            statements += [_statement(s, resolver) for s in _as_list(policy["PolicyDocument"]["Statement"])]
        found[name] = statements
    return found


def _statement(raw: dict[str, Any], resolver: Resolver, managed: bool = False) -> Statement:
    return Statement(
        effect=raw["Effect"],
        actions=tuple(str(a) for a in _as_list(raw["Action"])),
        resources=tuple(str(resolver.resolve(r)) for r in _as_list(raw.get("Resource", "*"))),
        conditions=resolver.resolve(raw.get("Condition", {})),
        managed=managed,
    )


# --- evaluation and the report -----------------------------------------------------------------


def violations(calls: Iterable[Authorization], roles: dict[str, list[Statement]]) -> list[Violation]:
    """Every call its function's role does not allow: an explicit Deny, or no Allow that matches."""
    found = []
    for call in sorted(set(calls)):
        statements = roles.get(call.function)
        if statements is None:
            found.append(Violation(call, "no such function in the template"))
        elif call.resource == "unmapped-service":
            found.append(Violation(call, "service not mapped in checks.iam.RESOURCE_OF"))
        elif any(s.effect == "Deny" and s.matches(call) for s in statements):
            found.append(Violation(call, "explicitly denied"))
        elif not any(s.effect == "Allow" and s.matches(call) for s in statements):
            found.append(Violation(call, "no statement of its role allows it"))
    return found


def unused_grants(calls: Iterable[Authorization], roles: dict[str, list[Statement]]) -> dict[str, list[str]]:
    """Per function, 'action on resource' pairs its own policies grant that no recorded call used.
    Managed policies (logs, traces, stream reading) serve the Lambda service and are left out."""
    used = {(c.function, c.action.lower(), c.resource) for c in calls}
    unused: dict[str, list[str]] = {}
    for function, statements in sorted(roles.items()):
        for statement in statements:
            if statement.managed or statement.effect != "Allow":
                continue
            for action in statement.actions:
                for resource in statement.resources:
                    if not any(
                        f == function and _glob(action, a, case=False) and _glob(resource, r, case=True)
                        for f, a, r in used
                    ):
                        unused.setdefault(function, []).append(f"{action} on {resource}")
    return {function: list(dict.fromkeys(grants)) for function, grants in unused.items()}


def service_uses(document: dict[str, Any]) -> dict[str, set[str]]:
    """Per function, the queue and topic ARNs Lambda itself sends to with the function's role
    (on-failure destinations of its event source mappings and its dead-letter queue), so
    sqs:SendMessage or sns:Publish there is needed although the function's code never calls it."""
    resolver = Resolver(document, {})
    found: dict[str, set[str]] = {}
    for resource in document["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            if destination:
                function = props["FunctionName"]["Ref"]
                found.setdefault(function, set()).add(str(resolver.resolve(destination)))
    for name, resource in document["Resources"].items():
        target = resource.get("Properties", {}).get("DeadLetterConfig", {}).get("TargetArn")
        if resource["Type"] == "AWS::Lambda::Function" and target:
            found.setdefault(name, set()).add(str(resolver.resolve(target)))
    return found


def report(
    calls: set[Authorization], document: dict[str, Any], parameters: dict[str, str]
) -> tuple[str, bool]:
    """(the printed report, whether every call is allowed)."""
    roles = function_statements(document, parameters)
    problems = violations(calls, roles)
    lines = [f"IAM check: {len(calls)} distinct calls by {len({c.function for c in calls})} functions"]
    if problems:
        lines.append(f"FAILED: {len(problems)} calls the role does not allow:")
        lines += [f"  {p}" for p in problems]
    else:
        lines.append("every recorded call is allowed by its function's role")
    lines.append("Granted by the function's own policies, never called by its code (for information):")
    lambda_sends = service_uses(document)
    for function, grants in unused_grants(calls, roles).items():
        for grant in grants:
            action, resource = grant.split(" on ", 1)
            note = (
                " (used by Lambda: on-failure destination / dead-letter queue)"
                if action.lower() in ("sqs:sendmessage", "sns:publish")
                and resource in lambda_sends.get(function, set())
                else ""
            )
            lines.append(f"  {function}: {grant}{note}")
    return "\n".join(lines), not problems


def main(argv: list[str] | None = None) -> int:
    from checks.transform import transformed

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("calls", nargs="+", type=Path, help="JSON-lines files of recorded calls")
    parser.add_argument(
        "--template", type=Path, default=template.TEMPLATE, help="SAM template to check against"
    )
    args = parser.parse_args(argv)
    document = template.load(args.template)
    text, ok = report(
        read_calls(args.calls), transformed(document), template.parameter_defaults(args.template)
    )
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
