"""make preflight (ops/preflight.py) against a moto account: what it reports and how it exits.

moto answers STS, SES v2 identities, SES receipt rule sets, SSM and KMS. It has no Lambda
GetAccountSettings nor SES v2 GetAccount, and CloudFormation cannot hold this template's resources in
it: those calls are answered by `before-call` hooks with responses checked against the service's
output shape (an answer AWS could not give fails the test that gives it).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import cfnlint
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters
from moto import mock_aws
from moto.ses.models import ses_backends

from local import template
from ops import preflight
from tests.conftest import ACCOUNT_ID, REGION

ROOT = Path(__file__).resolve().parents[2]
SENDER = "matches@acme-clinics.com"
SENDER_DOMAIN = "acme-clinics.com"
INBOUND = "reply.acme-clinics.com"
KEYS_PARAMETER = "/directormatch/token-keys"
SECRET = "s3cret-signing-key-0123456789abcdef-XYZ"
GOOD_KEYRING = json.dumps({"active": "k1", "keys": {"k1": SECRET}})
STACK = "directormatch"
API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/v1"
RULE_SET = "directormatch-InboundRuleSet-1A2B3C"
SES_MX = f"inbound-smtp.{REGION}.amazonaws.com"
DKIM_TOKENS = ["tokenaaaa", "tokenbbbb", "tokencccc"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> dict[str, tuple[str, str]]:
        """check name -> (status, detail)."""
        found = {}
        for line in self.out.splitlines():
            match = re.match(r"^(OK|MISSING|WARN|SKIPPED) +(\S+) +(.*)$", line)
            if match:
                found[match[2]] = (match[1], match[3])
        return found

    def status(self, check: str) -> str:
        return self.lines[check][0]

    def detail(self, check: str) -> str:
        return self.lines[check][1]


class Account:
    """A moto account, ready to deploy into unless a test changes it."""

    def __init__(self, session: boto3.Session, tmp_path: Path) -> None:
        self.session = session
        self.tmp_path = tmp_path
        self.mx: list[tuple[int, str]] | None = [(10, SES_MX)]
        self.lambda_quota(1000)
        self.ses_account(production=True)
        self.put_keyring(GOOD_KEYRING)

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)  # type: ignore[call-overload]

    def answer(self, service: str, operation: str, response: dict[str, Any] | Exception) -> None:
        """Answer `operation` with `response` (checked against its output shape), or raise it."""
        model = self.client(service).meta.service_model
        if isinstance(response, dict):
            validate_parameters(response, model.operation_model(operation).output_shape)
        event = f"before-call.{model.service_id.hyphenize()}.{operation}"

        def handler(**_: Any) -> Any:
            if isinstance(response, Exception):
                raise response
            return AWSResponse("https://aws.invalid", 200, HTTPHeaders(), None), response

        self.session.events.unregister(event, unique_id=event)
        self.session.events.register(event, handler, unique_id=event)

    def lambda_quota(self, concurrent_executions: int) -> None:
        """The account's Lambda concurrency quota, none of it reserved."""
        limit = {
            "ConcurrentExecutions": concurrent_executions,
            "UnreservedConcurrentExecutions": concurrent_executions,
        }
        self.answer("lambda", "GetAccountSettings", {"AccountLimit": limit})

    def ses_account(self, production: bool = True, **changes: Any) -> None:
        account = {
            "ProductionAccessEnabled": production,
            "SendingEnabled": True,
            "EnforcementStatus": "HEALTHY",
            "DedicatedIpAutoWarmupEnabled": False,
            "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 12.0}
            if production
            else {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 0.0},
            **changes,
        }
        self.answer("sesv2", "GetAccount", account)

    def put_keyring(self, value: str, kind: str = "SecureString", key_id: str | None = None) -> None:
        extra = {"KeyId": key_id} if key_id else {}
        self.client("ssm").put_parameter(Name=KEYS_PARAMETER, Type=kind, Value=value, Overwrite=True, **extra)

    def create_identity(self, name: str, dkim: str = "SUCCESS") -> None:
        """An SES identity as AWS shows it: Easy DKIM tokens, verified once DKIM succeeds."""
        self.client("sesv2").create_email_identity(EmailIdentity=name)
        identity = ses_backends[ACCOUNT_ID][REGION].email_identities[name]
        identity.dkim_attributes = {"SigningEnabled": True, "Status": dkim, "Tokens": DKIM_TOKENS}
        identity.verified_for_sending_status = dkim == "SUCCESS"

    def deploy(self, status: str = "UPDATE_COMPLETE", public_base_url: str = API_URL) -> None:
        """The stack as CloudFormation describes it after `sam deploy`."""
        now = datetime.now(UTC)
        self.answer(
            "cloudformation",
            "DescribeStacks",
            {
                "Stacks": [
                    {
                        "StackName": STACK,
                        "CreationTime": now,
                        "StackStatus": status,
                        "Parameters": [
                            {"ParameterKey": "PublicBaseUrl", "ParameterValue": public_base_url},
                            {"ParameterKey": "SenderEmail", "ParameterValue": SENDER},
                        ],
                        "Outputs": [{"OutputKey": "ApiUrl", "OutputValue": API_URL}],
                    }
                ]
            },
        )
        resources = {
            "SenderIdentity": ("AWS::SES::EmailIdentity", SENDER_DOMAIN),
            "InboundRuleSet": ("AWS::SES::ReceiptRuleSet", RULE_SET),
        }
        self.answer(
            "cloudformation",
            "DescribeStackResources",
            {
                "StackResources": [
                    {
                        "LogicalResourceId": logical,
                        "PhysicalResourceId": physical,
                        "ResourceType": kind,
                        "Timestamp": now,
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                    for logical, (kind, physical) in resources.items()
                ]
            },
        )

    def activate_rule_set(self, name: str, recipients: list[str] | None = None) -> None:
        ses = self.client("ses")
        ses.create_receipt_rule_set(RuleSetName=name)
        if recipients:
            ses.create_receipt_rule(
                RuleSetName=name, Rule={"Name": "existing", "Enabled": True, "Recipients": recipients}
            )
        ses.set_active_receipt_rule_set(RuleSetName=name)

    def run(self, *args: str, config: str | None = None) -> Result:
        config_file = self.tmp_path / "samconfig.toml"
        if config is not None:
            config_file.write_text(config)
        given = list(args)
        if config is None:
            given = ["--region", REGION, "--sender-email", SENDER, "--inbound-domain", INBOUND, *given]
        out, err = io.StringIO(), io.StringIO()
        code = preflight.main(
            [*given, "--config-file", str(config_file)],
            session_factory=lambda **_: self.session,
            resolve_mx=lambda domain: self.mx,
            out=out,
            err=err,
        )
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    with mock_aws():
        yield Account(boto3.Session(region_name=REGION), tmp_path)


def test_an_account_ready_for_the_first_deploy_passes(account: Account) -> None:
    # Given an account out of the sandbox, with quota, the keyring, the MX and no identity yet
    # When preflight runs
    result = account.run()

    # Then nothing is missing and it exits 0
    assert result.code == 0, result.out
    assert "MISSING" not in result.out
    statuses = {name: status for name, (status, _) in result.lines.items()}
    assert statuses == {
        "parameters": "OK",
        "stack": "OK",
        "region": "OK",
        "lambda-concurrency": "OK",
        "sender-identity": "OK",
        "dkim": "SKIPPED",  # the stack creates the identity: nothing to publish yet
        "ses-production": "OK",
        "ses-sending": "OK",
        "inbound-identity": "SKIPPED",  # covered by the sender identity once it verifies
        "inbound-mx": "OK",
        "receipt-rule-set": "OK",
        "token-keys": "OK",
        "token-keys-kms": "OK",
        "public-base-url": "WARN",  # the template's placeholder: the second deploy sets the ApiUrl
    }
    assert result.out.startswith(f"preflight: account {ACCOUNT_ID} ")
    assert "sam deploy --guided" in result.out.splitlines()[-1]
    # And the secret never appears
    assert SECRET not in result.out


def test_a_deployed_verified_stack_passes_every_check(account: Account) -> None:
    # Given the stack deployed with PublicBaseUrl = ApiUrl, its identity verified, its rule set active
    account.deploy()
    account.create_identity(SENDER_DOMAIN)
    account.activate_rule_set(RULE_SET)

    # When preflight runs
    result = account.run()

    # Then every check is OK
    assert result.code == 0, result.out
    assert {status for status, _ in result.lines.values()} == {"OK"}, result.out
    assert "SenderIdentity" in result.detail("sender-identity")
    assert "through its verified parent acme-clinics.com" in result.detail("inbound-identity")


def test_a_missing_keyring_parameter_is_missing_and_exits_1(account: Account) -> None:
    # Given no SSM parameter
    account.client("ssm").delete_parameter(Name=KEYS_PARAMETER)

    # When preflight runs
    result = account.run()

    # Then the keyring is MISSING with the command that creates it, and the run exits 1
    assert result.code == 1
    assert result.status("token-keys") == "MISSING"
    assert f"aws ssm put-parameter --name {KEYS_PARAMETER} --type SecureString" in result.detail("token-keys")
    assert result.status("token-keys-kms") == "SKIPPED"
    assert "Fix what is MISSING" in result.out.splitlines()[-1]


@pytest.mark.parametrize(
    ("value", "kind", "reason"),
    [
        (GOOD_KEYRING, "String", "not a SecureString"),
        ("{not json " + SECRET, "SecureString", "Expecting property name"),
        (json.dumps({"active": "k2", "keys": {"k1": SECRET}}), "SecureString", "'active' must name one of"),
        (json.dumps({"active": "k1", "keys": {"k1": "short-" + SECRET[:10]}}), "SecureString", "at least 32"),
        (json.dumps({"active": "k1", "secret": SECRET}), "SecureString", "missing or malformed 'keys'"),
        (json.dumps([SECRET]), "SecureString", "missing or malformed"),
    ],
    ids=["plain-string", "not-json", "active-not-a-key", "short-secret", "no-keys", "not-an-object"],
)
def test_a_bad_keyring_is_missing_and_never_printed(
    account: Account, value: str, kind: str, reason: str
) -> None:
    # Given a keyring parameter that the functions could not use
    account.put_keyring(value, kind=kind)

    # When preflight runs
    result = account.run()

    # Then it is MISSING with the reason, and no part of the secret is printed
    assert result.code == 1
    assert result.status("token-keys") == "MISSING"
    assert reason in result.detail("token-keys")
    assert SECRET[:10] not in result.out + result.err


def test_a_sender_domain_that_is_already_an_identity_is_missing(account: Account) -> None:
    # Given the sender's domain verified in SES by hand, before any stack
    account.create_identity(SENDER_DOMAIN)

    # When preflight runs
    result = account.run()

    # Then creating the stack's SenderIdentity would fail: MISSING, with what to do
    assert result.code == 1
    assert result.status("sender-identity") == "MISSING"
    detail = result.detail("sender-identity")
    assert f"{SENDER_DOMAIN} is already an SES identity" in detail
    assert f"aws sesv2 delete-email-identity --email-identity {SENDER_DOMAIN}" in detail
    assert "--stack-name" in detail
    assert result.status("dkim") == "SKIPPED"


def test_the_stacks_own_identity_is_fine_and_its_pending_dkim_records_are_printed(account: Account) -> None:
    # Given the deployed stack's identity, DKIM records not yet published
    account.deploy()
    account.create_identity(SENDER_DOMAIN, dkim="PENDING")
    account.activate_rule_set(RULE_SET)

    # When preflight runs
    result = account.run()

    # Then the identity is the stack's, and DKIM is MISSING with the three CNAME records to publish
    assert result.status("sender-identity") == "OK"
    assert result.status("dkim") == "MISSING"
    for token in DKIM_TOKENS:
        assert f"{token}._domainkey.{SENDER_DOMAIN} CNAME {token}.dkim.amazonses.com" in result.detail("dkim")
    # And the inbound domain waits on that same identity
    assert result.status("inbound-identity") == "SKIPPED"
    assert result.code == 1


def test_a_sandboxed_account_is_missing_production_access(account: Account) -> None:
    # Given an account still in the SES sandbox, its production request under review
    account.ses_account(
        production=False,
        Details={
            "MailType": "TRANSACTIONAL",
            "WebsiteURL": "https://acme-clinics.com",
            "ReviewDetails": {"Status": "PENDING", "CaseId": "1234567890"},
        },
    )

    # When preflight runs
    result = account.run()

    # Then production access is MISSING, says the review is pending, and how to ask
    assert result.code == 1
    assert result.status("ses-production") == "MISSING"
    detail = result.detail("ses-production")
    assert "sandbox" in detail
    assert "PENDING, case 1234567890" in detail
    assert "aws sesv2 put-account-details --production-access-enabled" in detail


def test_paused_sending_is_missing(account: Account) -> None:
    account.ses_account(production=True, SendingEnabled=False, EnforcementStatus="SHUTDOWN")

    result = account.run()

    assert result.status("ses-sending") == "MISSING"
    assert "SHUTDOWN" in result.detail("ses-sending")
    assert result.code == 1


def test_a_new_accounts_concurrency_quota_warns_but_does_not_fail(account: Account) -> None:
    # Given a new account's Lambda quota of 10
    account.lambda_quota(10)

    # When preflight runs
    result = account.run()

    # Then it warns with the quota request, and still exits 0 (nothing in the template reserves)
    assert result.status("lambda-concurrency") == "WARN"
    detail = result.detail("lambda-concurrency")
    assert "quota is 10" in detail
    assert f"--quota-code {preflight.LAMBDA_CONCURRENCY_QUOTA_CODE}" in detail
    assert "bursts of 50" in detail  # the API's ThrottlingBurstLimit in template.yaml
    assert result.code == 0, result.out


def test_a_reservation_the_quota_cannot_hold_is_missing(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a template that reserves 1 concurrent execution, on a quota of 10
    monkeypatch.setattr(preflight, "template_reserved_concurrency", lambda parameters: 1)
    account.lambda_quota(10)

    # When preflight runs
    result = account.run()

    # Then the deploy would fail: MISSING
    assert result.status("lambda-concurrency") == "MISSING"
    assert "reserves 1" in result.detail("lambda-concurrency")
    assert result.code == 1


def test_reserved_concurrency_counts_numbers_and_parameter_references(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    functions = {
        "A": {"Properties": {"ReservedConcurrentExecutions": 2}},
        "B": {"Properties": {"ReservedConcurrentExecutions": {"Ref": "SweepReserved"}}},
        "C": {"Properties": {}},
    }
    monkeypatch.setattr(template, "resources", lambda kind: functions)

    assert preflight.template_reserved_concurrency({"SweepReserved": "3"}) == 5
    assert preflight.template_reserved_concurrency({"SweepReserved": ""}) == 2


@pytest.mark.parametrize(
    ("records", "status", "says"),
    [
        ([], "MISSING", f"publish {INBOUND}. MX 10 {SES_MX}."),
        ([(10, "mx.other-host.com")], "MISSING", "is 10 mx.other-host.com, not SES"),
        ([(10, "inbound-smtp.eu-west-1.amazonaws.com")], "MISSING", "not SES in us-east-1"),
        ([(10, SES_MX), (5, "mx.other-host.com")], "WARN", "also has MX mx.other-host.com"),
        ([(10, SES_MX), (20, "backup.other-host.com")], "OK", f"points at {SES_MX}"),
        (None, "SKIPPED", f"dig +short MX {INBOUND}"),
    ],
    ids=["none", "elsewhere", "other-region", "lower-preference-elsewhere", "ses-first", "no-dig"],
)
def test_the_inbound_mx_record(
    account: Account, records: list[tuple[int, str]] | None, status: str, says: str
) -> None:
    account.mx = records

    result = account.run()

    assert result.status("inbound-mx") == status
    assert says in result.detail("inbound-mx")


def test_dig_output_is_read_as_preference_and_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a `dig` on PATH answering as dig +short does (a CNAME target line first)
    fake = tmp_path / "bin" / "dig"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2 $3" = "+short MX reply.acme-clinics.com" ] || exit 9\n'
        "echo reply.elsewhere.net.\n"
        f"echo 10 {SES_MX.upper()}.\n"
        "echo 20 backup.example.net.\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")

    # When preflight asks it for the inbound domain's MX
    records = preflight.dig_mx(INBOUND)

    # Then the records are (preference, lower-case host without the final dot)
    assert records == [(10, SES_MX), (20, "backup.example.net")]


def test_no_dig_means_no_records_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)

    assert preflight.dig_mx(INBOUND) is None


def test_another_active_rule_set_warns_before_the_deploy_and_is_missing_after(account: Account) -> None:
    # Given another rule set active in the region, receiving for another domain
    account.activate_rule_set("helpdesk", recipients=["support.acme-clinics.com"])

    # When preflight runs before the first deploy
    before = account.run()

    # Then it warns that activating the stack's turns the other off
    assert before.status("receipt-rule-set") == "WARN"
    assert "rule set helpdesk is active (rules for support.acme-clinics.com)" in before.detail(
        "receipt-rule-set"
    )
    assert "deactivates helpdesk" in before.detail("receipt-rule-set")

    # And once deployed, the stack's rule set not being the active one is MISSING
    account.deploy()
    account.create_identity(SENDER_DOMAIN)
    after = account.run()
    assert after.status("receipt-rule-set") == "MISSING"
    assert f"aws ses set-active-receipt-rule-set --rule-set-name {RULE_SET}" in after.detail(
        "receipt-rule-set"
    )
    assert after.code == 1


def test_no_active_rule_set_after_the_deploy_is_missing(account: Account) -> None:
    account.deploy()
    account.create_identity(SENDER_DOMAIN)

    result = account.run()

    assert result.status("receipt-rule-set") == "MISSING"
    assert f"SES drops replies to {INBOUND}" in result.detail("receipt-rule-set")


def test_a_region_without_ses_receiving_is_missing(account: Account) -> None:
    # Given a region SES does not receive mail in
    result = account.run("--region", "eu-central-2")

    # Then the region is MISSING and the receipt rule set is not asked
    assert result.status("region") == "MISSING"
    assert "SES does not receive mail in eu-central-2" in result.detail("region")
    assert result.status("receipt-rule-set") == "SKIPPED"
    assert result.code == 1


def test_the_receiving_regions_are_those_cloudformation_offers_receipt_rule_sets_in() -> None:
    # Given cfn-lint's per-region CloudFormation registry (the commercial partition)
    providers = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
    commercial = [
        path
        for path in providers.glob("*.json")
        if re.fullmatch(r"(af|ap|ca|eu|il|me|mx|sa|us)-[a-z]+-\d", path.stem)
        and not path.stem.startswith(("us-gov-", "us-iso", "eu-iso"))
    ]
    assert len(commercial) > 20

    # When the regions with AWS::SES::ReceiptRuleSet are listed
    offered = {path.stem for path in commercial if "AWS::SES::ReceiptRuleSet" in json.loads(path.read_text())}

    # Then they are preflight's list
    assert offered == preflight.SES_RECEIVING_REGIONS


def test_a_customer_managed_keyring_key_is_missing_until_the_stack_names_it(account: Account) -> None:
    # Given the keyring under a customer-managed KMS key
    metadata = account.client("kms").create_key(Description="keyring")["KeyMetadata"]
    account.put_keyring(GOOD_KEYRING, key_id=metadata["KeyId"])

    # When preflight runs without TokenKeysKmsKeyArn
    result = account.run()

    # Then it still reads the keyring, and says to deploy with the key's ARN (the roles' grant)
    assert result.status("token-keys") == "OK"
    assert result.status("token-keys-kms") == "MISSING"
    detail = result.detail("token-keys-kms")
    assert f"TokenKeysKmsKeyArn={metadata['Arn']}" in detail
    for role in ("IntakeFunctionRole", "SenderFunctionRole", "RespondFunctionRole"):
        assert role in detail
    assert result.code == 1

    # And with TokenKeysKmsKeyArn naming that key, the grant is in place
    named = account.run("--token-keys-kms-key-arn", metadata["Arn"])
    assert named.status("token-keys-kms") == "OK"
    assert named.code == 0


def test_the_template_placeholders_are_missing(account: Account) -> None:
    # Given no values: template.yaml's defaults, on reserved example domains
    result = account.run("--region", REGION, config="")

    # Then preflight says to pass real ones
    assert result.status("parameters") == "MISSING"
    assert "--sender-email matches@directormatch.example" in result.detail("parameters")
    assert result.code == 1


def test_the_sender_domain_as_inbound_domain_warns(account: Account) -> None:
    result = account.run("--inbound-domain", SENDER_DOMAIN)

    assert result.status("parameters") == "WARN"
    assert f"use a subdomain (reply.{SENDER_DOMAIN})" in result.detail("parameters")


def test_samconfig_values_stand_in_for_options(account: Account) -> None:
    # Given samconfig.toml as `sam deploy --guided` writes it
    config = (
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "dm-prod"\n'
        f'region = "{REGION}"\n'
        f'parameter_overrides = "SenderEmail=\\"{SENDER}\\" InboundDomain=\\"{INBOUND}\\" '
        'PublicBaseUrl=\\"https://links.acme-clinics.com\\""\n'
    )

    # When preflight runs with no options
    result = account.run(config=config)

    # Then it checks the stack and parameters samconfig.toml names
    assert f"region {REGION}, stack dm-prod" in result.out.splitlines()[0]
    assert f"SenderEmail {SENDER}, InboundDomain {INBOUND}" in result.detail("parameters")
    assert "samconfig.toml overrides" in result.detail("parameters")
    assert result.detail("public-base-url").startswith("links will point at https://links.acme-clinics.com")
    assert result.code == 0, result.out


def test_a_deployed_stack_still_on_the_placeholder_url_is_missing(account: Account) -> None:
    # Given the first deploy done with the template's PublicBaseUrl
    account.deploy(public_base_url="https://api.directormatch.example")
    account.create_identity(SENDER_DOMAIN)
    account.activate_rule_set(RULE_SET)

    # When preflight runs
    result = account.run()

    # Then it says to deploy again with the ApiUrl
    assert result.status("public-base-url") == "MISSING"
    assert f"sam deploy --guided, answering PublicBaseUrl with {API_URL}" in result.detail("public-base-url")
    assert result.code == 1


def test_a_rolled_back_first_deploy_is_missing(account: Account) -> None:
    account.deploy(status="ROLLBACK_COMPLETE")

    result = account.run()

    assert result.status("stack") == "MISSING"
    assert f"aws cloudformation delete-stack --stack-name {STACK}" in result.detail("stack")
    # A rolled-back stack holds nothing: its resources are not treated as present
    assert result.status("sender-identity") == "OK"


def test_a_check_it_may_not_read_is_skipped_and_the_rest_still_run(account: Account) -> None:
    # Given credentials without lambda:GetAccountSettings
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "GetAccountSettings"
    )
    account.answer("lambda", "GetAccountSettings", denied)

    # When preflight runs
    result = account.run()

    # Then that check is SKIPPED naming the call, and every other check ran
    assert result.status("lambda-concurrency") == "SKIPPED"
    assert "not allowed to call GetAccountSettings" in result.detail("lambda-concurrency")
    assert len(result.lines) == len([name for name in dir(preflight.Preflight) if name.startswith("check_")])
    assert result.code == 0


def test_refused_credentials_exit_2_with_one_line(account: Account) -> None:
    expired = ClientError(
        {
            "Error": {
                "Code": "ExpiredToken",
                "Message": "The security token included in the request is expired",
            }
        },
        "GetCallerIdentity",
    )
    account.answer("sts", "GetCallerIdentity", expired)

    result = account.run()

    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("preflight: AWS refused the credentials (ExpiredToken)")


def run_without_credentials(
    command: list[str], tmp_path: Path, timeout: int
) -> subprocess.CompletedProcess[str]:
    """`command` run from the repository root in a shell with no AWS credentials anywhere."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION=REGION,
    )
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_no_credentials_exit_2_with_one_line(tmp_path: Path) -> None:
    # Given a shell with no AWS credentials anywhere
    # When `python -m ops.preflight` runs
    done = run_without_credentials(
        [sys.executable, "-m", "ops.preflight", "--config-file", str(tmp_path / "none.toml")],
        tmp_path,
        timeout=60,
    )

    # Then it exits 2 with one line saying what to set, and checks nothing
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("preflight: no AWS credentials found")


def test_the_readmes_make_preflight_command_runs_the_tool(tmp_path: Path) -> None:
    # Given the README's `make preflight` command, in a shell with no credentials
    command = re.search(r'make preflight PREFLIGHT_ARGS="[^"]*"', (ROOT / "README.md").read_text())
    assert command, "README shows no make preflight command"

    # When it runs
    done = run_without_credentials(shlex.split(command[0]), tmp_path, timeout=300)

    # Then the tool ran in the venv, took the arguments, and stopped at the missing credentials
    assert done.returncode != 0
    assert "preflight: no AWS credentials found" in done.stderr, done.stdout + done.stderr
    assert "usage:" not in done.stderr
