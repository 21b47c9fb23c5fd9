"""checks/iam.py without AWS: how a call maps to what IAM authorises, and how a role's statements
are evaluated (conditions, Deny, wildcards), on the roles of the transformed template.yaml."""

from __future__ import annotations

import copy
from email.message import EmailMessage
from typing import Any

import pytest

from checks import iam
from checks.transform import transformed
from local import template

ACCOUNT = "123456789012"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/RequestsTable"
SENDER = "matches@directormatch.example"


@pytest.fixture(scope="module")
def roles() -> dict[str, list[iam.Statement]]:
    return iam.function_statements(transformed(), template.parameter_defaults())


def raw_email(sender: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"DirectorMatch <{sender}>"
    message["To"] = "clinic@example.com"
    message.set_content("hello")
    return message.as_bytes()


def test_iam_transaction_is_one_item_action_per_item_on_its_table() -> None:
    found = iam.authorizations(
        "RespondFunction",
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Update": {"TableName": "RequestsTable"}},
                {"ConditionCheck": {"TableName": "DirectorsTable"}},
                {"Put": {"TableName": "RequestsTable"}},
            ]
        },
    )
    assert [(a.action, a.resource.rsplit("/", 1)[1]) for a in found] == [
        ("dynamodb:UpdateItem", "RequestsTable"),
        ("dynamodb:ConditionCheckItem", "DirectorsTable"),
        ("dynamodb:PutItem", "RequestsTable"),
    ]


def test_iam_query_on_an_index_is_authorised_on_the_index_arn() -> None:
    [found] = iam.authorizations(
        "MatchFunction", "dynamodb", "Query", {"TableName": "DirectorsTable", "IndexName": "ByState"}
    )
    assert found.resource == "arn:aws:dynamodb:us-east-1:123456789012:table/DirectorsTable/index/ByState"


def test_iam_raw_send_is_authorised_on_the_sender_domain_and_configuration_set_with_from_address() -> None:
    found = iam.authorizations(
        "NotifyFunction",
        "sesv2",
        "SendEmail",
        {"Content": {"Raw": {"Data": raw_email(SENDER)}}, "ConfigurationSetName": "EmailConfigurationSet"},
    )
    assert [(a.action, a.resource.split(":", 5)[5]) for a in found] == [
        ("ses:SendEmail", "identity/directormatch.example"),
        ("ses:SendEmail", "configuration-set/EmailConfigurationSet"),
    ]
    assert all(dict(a.context) == {"ses:FromAddress": SENDER} for a in found)


def test_iam_roles_allow_what_the_functions_need(roles: dict[str, list[iam.Statement]]) -> None:
    needed = [
        iam.Authorization("IntakeFunction", "dynamodb:PutItem", TABLE),
        iam.Authorization("NotifyFunction", "dynamodb:Query", TABLE),
        iam.Authorization(
            "MatchFunction",
            "dynamodb:Query",
            "arn:aws:dynamodb:us-east-1:123456789012:table/DirectorsTable/index/ByState",
        ),
        iam.Authorization("NotifyFunction", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:SendQueue"),
        iam.Authorization(
            "SenderFunction",
            "ses:SendEmail",
            "arn:aws:ses:us-east-1:123456789012:identity/directormatch.example",
            (("ses:FromAddress", SENDER),),
        ),
    ]
    assert iam.violations(needed, roles) == []


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        # Another table, an index the policy does not name, an action never granted
        (
            iam.Authorization("IntakeFunction", "dynamodb:PutItem", TABLE.replace("Requests", "Directors")),
            "no statement",
        ),
        (
            iam.Authorization("MatchFunction", "dynamodb:Query", TABLE + "/index/RequestsByStatus"),
            "no statement",
        ),
        (iam.Authorization("FeedbackFunction", "dynamodb:DeleteItem", TABLE), "no statement"),
        # SES from an address the ses:FromAddress condition does not allow, or with no From at all
        (
            iam.Authorization(
                "NotifyFunction",
                "ses:SendEmail",
                "arn:aws:ses:us-east-1:123456789012:identity/directormatch.example",
                (("ses:FromAddress", "someone@directormatch.example"),),
            ),
            "no statement",
        ),
        (
            iam.Authorization(
                "NotifyFunction",
                "ses:SendEmail",
                "arn:aws:ses:us-east-1:123456789012:identity/directormatch.example",
            ),
            "no statement",
        ),
        (iam.Authorization("NoSuchFunction", "dynamodb:GetItem", TABLE), "no such function"),
        (iam.Authorization("IntakeFunction", "s3:GetObject", "unmapped-service"), "not mapped"),
    ],
)
def test_iam_refuses_what_the_role_does_not_allow(
    roles: dict[str, list[iam.Statement]], call: iam.Authorization, reason: str
) -> None:
    [violation] = iam.violations([call], roles)
    assert reason in violation.reason
    assert str(violation).startswith(f"{call.function} may not {call.action} on {call.resource}")


def test_iam_explicit_deny_wins_over_allow() -> None:
    allow = iam.Statement("Allow", ("dynamodb:*",), ("*",), {})
    deny = iam.Statement("Deny", ("dynamodb:DeleteItem",), (TABLE,), {})
    delete = iam.Authorization("F", "dynamodb:DeleteItem", TABLE)
    get = iam.Authorization("F", "dynamodb:getitem", TABLE)  # actions are case-insensitive
    assert [v.reason for v in iam.violations([delete, get], {"F": [allow, deny]})] == ["explicitly denied"]


def test_iam_unused_grants_leave_out_managed_policies_and_name_lambdas_own_queue_sends(
    roles: dict[str, list[iam.Statement]],
) -> None:
    used = [iam.Authorization("FeedbackFunction", "dynamodb:PutItem", TABLE)]
    unused = iam.unused_grants(used, roles)
    assert "FeedbackFunction" in unused
    assert not any("PutItem" in grant for grant in unused["FeedbackFunction"])
    assert not any(grant.startswith(("logs:", "xray:")) for grants in unused.values() for grant in grants)
    sends = iam.service_uses(transformed())
    assert {"MatchFunction", "NotifyFunction", "RespondFunction", "FeedbackFunction"} <= set(sends)


def test_iam_unknown_managed_policy_is_an_error() -> None:
    document: dict[str, Any] = copy.deepcopy(template.load())
    document["Resources"]["IntakeFunction"]["Properties"]["Policies"].append("AmazonS3FullAccess")
    with pytest.raises(ValueError, match="AmazonS3FullAccess"):
        iam.function_statements(transformed(document), template.parameter_defaults())


def test_iam_keyring_kms_grant_follows_the_parameter() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/0b8f2c1e-7d4a-4f7e-9a53-2f9d8c6b1a00"
    decrypt = iam.Authorization(
        "IntakeFunction", "kms:Decrypt", key, (("kms:ViaService", "ssm.us-east-1.amazonaws.com"),)
    )
    defaults = template.parameter_defaults()
    # With the AWS-managed aws/ssm key (the default, no ARN) no role holds kms:Decrypt
    without = iam.function_statements(transformed(), defaults)
    assert not any("kms:Decrypt" in s.actions for statements in without.values() for s in statements)
    # With a customer-managed key, the functions that read the keyring may decrypt it through SSM only
    with_key = iam.function_statements(transformed(), {**defaults, "TokenKeysKmsKeyArn": key})
    holders = {f for f, statements in with_key.items() if any("kms:Decrypt" in s.actions for s in statements)}
    assert holders == {"IntakeFunction", "SenderFunction", "RespondFunction", "DirectorsFunction"}
    assert iam.violations([decrypt], with_key) == []
    direct = iam.Authorization("IntakeFunction", "kms:Decrypt", key)
    assert len(iam.violations([direct], with_key)) == 1
