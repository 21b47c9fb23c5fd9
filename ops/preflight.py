"""Deployment prerequisites of template.yaml, checked against the account your AWS credentials reach.

Run it before `sam deploy --guided`, and again after the first deploy (DKIM, MX, receipt rule set):

    make preflight PREFLIGHT_ARGS="--region us-east-1 --sender-email matches@yourdomain.com \
        --inbound-domain reply.yourdomain.com"

It only reads: no call changes anything. One line per check, `OK`, `MISSING`, `WARN` or `SKIPPED`
(could not be checked: why, and how to check by hand), each saying what to do.

Values: the command-line options, else samconfig.toml's deploy parameters (`sam deploy --guided` writes
them) when that file exists, else template.yaml's parameter defaults. The region: `--region`, else
samconfig.toml's, else the one your AWS configuration names.

Exit status: 0 when nothing is missing (warnings allowed), 1 when something is, 2 when there are no
usable credentials or no region (one line on stderr).

The identity running it needs only reads: sts:GetCallerIdentity, lambda:GetAccountSettings,
ses:GetAccount, ses:GetEmailIdentity, ses:DescribeActiveReceiptRuleSet, ssm:GetParameter,
ssm:DescribeParameters, kms:Decrypt and kms:DescribeKey (on the keyring's key),
cloudformation:DescribeStacks and cloudformation:DescribeStackResources. A check it may not read is
SKIPPED, naming the permission.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError, ProfileNotFound

from directormatch.tokens import Keyring
from local import template

SAMCONFIG = template.ROOT / "samconfig.toml"
DEFAULT_STACK_NAME = "directormatch"

# Regions where SES receives mail (has an inbound-smtp.<region>.amazonaws.com endpoint and receipt
# rules). Source: the regions whose CloudFormation registry has AWS::SES::ReceiptRuleSet in cfn-lint
# 1.58's region schemas (commercial partition), which tests/integration/test_preflight.py compares
# with this list. AWS's own table: "Email receiving endpoints" on
# https://docs.aws.amazon.com/general/latest/gr/ses.html (receiving began in us-east-1, us-west-2 and
# eu-west-1 only and has spread since 2023).
SES_RECEIVING_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-south-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)

# Lambda keeps at least this many concurrent executions unreserved; new accounts get a quota of 10.
MIN_UNRESERVED_CONCURRENCY = 100
LAMBDA_CONCURRENCY_QUOTA_CODE = "L-B99A9384"
AWS_MANAGED_SSM_KEY = "alias/aws/ssm"
# RFC 2606 / 6761 names: a stack deployed with them can neither verify nor receive mail.
RESERVED_SUFFIXES = (
    ".example",
    ".test",
    ".invalid",
    ".localhost",
    "example.com",
    "example.net",
    "example.org",
)
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}


class Status(StrEnum):
    """A check's verdict: only MISSING stops the deploy (exit status 1)."""

    OK = "OK"
    MISSING = "MISSING"
    WARN = "WARN"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class Finding:
    """What one check found; run() names it after the check."""

    status: Status
    detail: str
    check: str = ""

    def line(self) -> str:
        return f"{self.status.value:<8} {self.check:<18} {self.detail}"


class Unusable(Exception):
    """No credentials, refused credentials or no region: exit 2 with this message."""


@dataclass(frozen=True)
class Target:
    """What is about to be deployed, and where."""

    region: str
    stack_name: str
    sender_email: str
    inbound_domain: str
    token_keys_parameter: str
    public_base_url: str
    sources: str
    token_keys_kms_key_arn: str = ""

    @property
    def sender_domain(self) -> str:
        return self.sender_email.rpartition("@")[2].lower()

    @property
    def inbound_endpoint(self) -> str:
        return f"inbound-smtp.{self.region}.amazonaws.com"


@dataclass(frozen=True)
class Stack:
    """The CloudFormation stack as it stands (`status` None: not deployed)."""

    status: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)

    @property
    def deployed(self) -> bool:
        return self.status is not None and self.status not in {"ROLLBACK_COMPLETE", "DELETE_COMPLETE"}


def is_placeholder(domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == suffix.lstrip(".") or domain.endswith(suffix) for suffix in RESERVED_SUFFIXES)


def dig_mx(domain: str) -> list[tuple[int, str]] | None:
    """The MX records of `domain` as (preference, host), through `dig`; None when dig is not installed."""
    dig = shutil.which("dig")
    if dig is None:
        return None
    done = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        [dig, "+short", "MX", domain], capture_output=True, text=True, timeout=20, check=False
    )
    if done.returncode != 0:
        raise OSError(done.stderr.strip() or f"dig exited with {done.returncode}")
    records = []
    for line in done.stdout.splitlines():
        parts = line.split()
        # +short also prints the target of a CNAME on its own line: only "preference host" pairs count.
        if len(parts) == 2 and parts[0].isdigit():
            records.append((int(parts[0]), parts[1].rstrip(".").lower()))
    return records


def samconfig_values(path: Path = SAMCONFIG, environment: str = "default") -> dict[str, str]:
    """stack_name, region and parameter overrides from samconfig.toml's deploy section (empty if none)."""
    if not path.is_file():
        return {}
    document = tomllib.loads(path.read_text())
    section = document.get(environment, {})
    merged: dict[str, Any] = {
        **section.get("global", {}).get("parameters", {}),
        **section.get("deploy", {}).get("parameters", {}),
    }
    values = {key: str(merged[key]) for key in ("stack_name", "region") if isinstance(merged.get(key), str)}
    overrides = merged.get("parameter_overrides", [])
    tokens = shlex.split(overrides) if isinstance(overrides, str) else [str(token) for token in overrides]
    for token in tokens:
        name, separator, value = token.partition("=")
        if separator:
            values[name] = value
    return values


def template_reserved_concurrency(parameters: dict[str, str]) -> int:
    """Concurrent executions the template's functions reserve (a `!Ref` counts with its value)."""
    total = 0
    for resource in template.resources("AWS::Serverless::Function").values():
        value = resource.get("Properties", {}).get("ReservedConcurrentExecutions")
        if isinstance(value, dict) and "Ref" in value:
            value = parameters.get(str(value["Ref"]), "")
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            total += int(value)
    return total


def api_burst_limit() -> int | None:
    limits = [
        int(setting["ThrottlingBurstLimit"])
        for api in template.resources("AWS::Serverless::Api").values()
        for setting in api.get("Properties", {}).get("MethodSettings", [])
        if "ThrottlingBurstLimit" in setting
    ]
    return max(limits) if limits else None


def keyring_readers() -> list[str]:
    """The template's functions allowed ssm:GetParameter (they read the keyring)."""
    readers = []
    for name, resource in template.resources("AWS::Serverless::Function").items():
        for policy in resource.get("Properties", {}).get("Policies", []):
            statements = policy.get("Statement", []) if isinstance(policy, dict) else []
            if any("ssm:GetParameter" in statement.get("Action", []) for statement in statements):
                readers.append(name)
                break
    return readers


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _skipped_for(error: Exception) -> Finding:
    if isinstance(error, ClientError):
        code = _error_code(error)
        operation = error.operation_name
        if code in ACCESS_DENIED or code.endswith("AccessDenied"):
            return Finding(
                Status.SKIPPED, f"not allowed to call {operation} ({code}): grant it, or check by hand"
            )
        return Finding(Status.SKIPPED, f"{operation} failed ({error}); check by hand")
    return Finding(Status.SKIPPED, f"could not check ({type(error).__name__}: {error}); check by hand")


class Preflight:
    def __init__(
        self,
        session: boto3.Session,
        target: Target,
        resolve_mx: Callable[[str], list[tuple[int, str]] | None] = dig_mx,
    ) -> None:
        self.session = session
        self.target = target
        self.resolve_mx = resolve_mx
        self._identities: dict[str, dict[str, Any] | None] = {}
        self._clients: dict[str, Any] = {}
        self.config = Config(
            connect_timeout=5, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"}
        )

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(  # type: ignore[call-overload]
                service, region_name=self.target.region, config=self.config
            )
        return self._clients[service]

    def caller(self) -> dict[str, Any]:
        """Who the credentials are, or Unusable."""
        if self.session.get_credentials() is None:
            raise Unusable(
                "no AWS credentials found: run `aws configure` or `aws sso login` and set AWS_PROFILE "
                "(or pass --profile), or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        try:
            identity: dict[str, Any] = self.client("sts").get_caller_identity()
        except ClientError as error:
            raise Unusable(f"AWS refused the credentials ({_error_code(error)}): {error}") from error
        except BotoCoreError as error:
            raise Unusable(f"could not reach AWS STS in {self.target.region}: {error}") from error
        return identity

    # ---- what the checks share -------------------------------------------------------------------

    @cached_property
    def stack(self) -> Stack:
        cloudformation = self.client("cloudformation")
        try:
            found = cloudformation.describe_stacks(StackName=self.target.stack_name)["Stacks"][0]
        except ClientError as error:
            if _error_code(error) == "ValidationError" and "does not exist" in str(error):
                return Stack()
            raise
        resources = cloudformation.describe_stack_resources(StackName=self.target.stack_name)
        return Stack(
            status=str(found["StackStatus"]),
            parameters={
                p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in found.get("Parameters", [])
            },
            outputs={o["OutputKey"]: str(o["OutputValue"]) for o in found.get("Outputs", [])},
            physical_ids={
                r["LogicalResourceId"]: str(r.get("PhysicalResourceId", ""))
                for r in resources.get("StackResources", [])
            },
        )

    def identity(self, name: str) -> dict[str, Any] | None:
        """sesv2 GetEmailIdentity, None when `name` is no identity."""
        if name not in self._identities:
            try:
                self._identities[name] = self.client("sesv2").get_email_identity(EmailIdentity=name)
            except ClientError as error:
                if _error_code(error) != "NotFoundException":
                    raise
                self._identities[name] = None
        return self._identities[name]

    def stack_owns_sender(self) -> bool:
        return (
            self.stack.deployed and self.stack.physical_ids.get("SenderIdentity") == self.target.sender_domain
        )

    def stack_label(self) -> str:
        return f"stack {self.target.stack_name}"

    # ---- the checks ------------------------------------------------------------------------------

    def check_parameters(self) -> Finding:
        placeholders = [
            f"{option} {value}"
            for option, value in (
                ("--sender-email", self.target.sender_email),
                ("--inbound-domain", self.target.inbound_domain),
            )
            if is_placeholder(value.rpartition("@")[2])
        ]
        if placeholders:
            return Finding(
                Status.MISSING,
                f"placeholder values ({', '.join(placeholders)}): SES cannot verify or receive for "
                "reserved example domains; pass your own (PREFLIGHT_ARGS=...) and deploy with the same",
            )
        if self.target.inbound_domain.lower() == self.target.sender_domain:
            return Finding(
                Status.WARN,
                f"InboundDomain is the sender's own domain {self.target.sender_domain}: its MX moves to SES "
                "and every other mailbox there stops receiving; use a subdomain "
                f"(reply.{self.target.sender_domain})",
            )
        return Finding(
            Status.OK,
            f"SenderEmail {self.target.sender_email}, InboundDomain {self.target.inbound_domain}, "
            f"TokenKeysParameter {self.target.token_keys_parameter} ({self.target.sources})",
        )

    def check_stack(self) -> Finding:
        stack, name = self.stack, self.target.stack_name
        if stack.status is None:
            return Finding(Status.OK, f"{name} is not deployed yet: this is the first deploy")
        if stack.status == "ROLLBACK_COMPLETE":
            return Finding(
                Status.MISSING,
                f"{name} failed its first deploy and rolled back: read why (aws cloudformation "
                f"describe-stack-events --stack-name {name}), then delete it (aws cloudformation "
                f"delete-stack --stack-name {name})",
            )
        if stack.status.endswith("_FAILED"):
            return Finding(
                Status.MISSING,
                f"{name} is {stack.status}: see aws cloudformation describe-stack-events --stack-name {name}",
            )
        if stack.status.endswith("_IN_PROGRESS"):
            return Finding(Status.WARN, f"{name} is {stack.status}: run preflight again when it settles")
        return Finding(Status.OK, f"{name} is deployed ({stack.status})")

    def check_region(self) -> Finding:
        region = self.target.region
        if region in SES_RECEIVING_REGIONS:
            return Finding(Status.OK, f"{region} has SES receiving ({self.target.inbound_endpoint})")
        return Finding(
            Status.MISSING,
            f"SES does not receive mail in {region}, and replies to offers arrive by SES receiving: deploy "
            f"in one of {', '.join(sorted(SES_RECEIVING_REGIONS))}",
        )

    def check_lambda_concurrency(self) -> Finding:
        limits = self.client("lambda").get_account_settings()["AccountLimit"]
        quota = int(limits["ConcurrentExecutions"])
        unreserved = int(limits["UnreservedConcurrentExecutions"])
        # A reservation behind a parameter counts with the parameter's default.
        reserved = template_reserved_concurrency(template.parameter_defaults())
        ask = (
            "request more: aws service-quotas request-service-quota-increase --service-code lambda "
            f"--quota-code {LAMBDA_CONCURRENCY_QUOTA_CODE} --desired-value 1000"
        )
        if reserved and unreserved - reserved < MIN_UNRESERVED_CONCURRENCY:
            return Finding(
                Status.MISSING,
                f"the template reserves {reserved} concurrent executions and Lambda keeps "
                f"{MIN_UNRESERVED_CONCURRENCY} unreserved, but only {unreserved} are (quota {quota}): "
                f"the deploy would fail; {ask}",
            )
        if quota < MIN_UNRESERVED_CONCURRENCY:
            burst = api_burst_limit()
            api = f"; the API alone admits bursts of {burst}" if burst else ""
            return Finding(
                Status.WARN,
                f"account quota is {quota} concurrent executions (new accounts get 10): every function "
                f"shares them{api}, so requests and stream batches throttle under load; {ask}",
            )
        return Finding(Status.OK, f"quota {quota} concurrent executions, {unreserved} unreserved")

    def check_sender_identity(self) -> Finding:
        domain = self.target.sender_domain
        if self.identity(domain) is None:
            return Finding(Status.OK, f"{domain} is not an SES identity yet: the stack creates it")
        if self.stack_owns_sender():
            return Finding(Status.OK, f"{domain} is {self.stack_label()}'s SenderIdentity")
        return Finding(
            Status.MISSING,
            f"{domain} is already an SES identity in {self.target.region}, not made by {self.stack_label()}: "
            "creating the stack's SenderIdentity would fail. Delete it once nothing else sends from it (aws "
            f"sesv2 delete-email-identity --email-identity {domain}; the stack's gets new DKIM records), or "
            "deploy with a SenderEmail on another domain; if another stack name owns it, pass --stack-name",
        )

    def check_dkim(self) -> Finding:
        domain = self.target.sender_domain
        identity = self.identity(domain)
        if identity is not None and not self.stack_owns_sender():
            return Finding(Status.SKIPPED, f"{domain} is not the stack's identity (see sender-identity)")
        if identity is None:
            return Finding(
                Status.SKIPPED,
                "the stack has not created the sender identity yet: after the first deploy, publish the "
                "three CNAME records of the stack outputs SenderDkimRecord1..3 (this check prints them too)",
            )
        dkim = identity.get("DkimAttributes", {})
        status = str(dkim.get("Status", "NOT_STARTED"))
        records = "; ".join(
            f"{token}._domainkey.{domain} CNAME {token}.dkim.amazonses.com"
            for token in dkim.get("Tokens", [])
        )
        if status == "SUCCESS" and identity.get("VerifiedForSendingStatus"):
            return Finding(Status.OK, f"{domain} is verified (DKIM {status})")
        if status == "SUCCESS":
            return Finding(Status.WARN, f"DKIM found, but {domain} is not verified for sending yet")
        publish = (
            f"publish these CNAME records: {records}"
            if records
            else "publish the SenderDkimRecord1..3 outputs"
        )
        if status in {"PENDING", "NOT_STARTED"}:
            return Finding(
                Status.MISSING,
                f"{domain} is not verified (DKIM {status}): SES sends nothing from it until you {publish} "
                "(SES looks for them for 72 hours)",
            )
        return Finding(
            Status.MISSING,
            f"DKIM {status} for {domain}: {publish}, then check them with `dig +short CNAME <name>`",
        )

    def check_ses_sending(self) -> Finding:
        account = self.ses_account
        if not account.get("SendingEnabled", False):
            return Finding(
                Status.MISSING,
                f"sending is paused for this account in {self.target.region} (enforcement "
                f"{account.get('EnforcementStatus', '?')}): see the SES console's reputation page; once "
                "resolved: aws sesv2 put-account-sending-attributes --sending-enabled",
            )
        quota = account.get("SendQuota", {})
        figures = (
            f"{quota.get('Max24HourSend', 0):g} a day at {quota.get('MaxSendRate', 0):g}/s, "
            f"{quota.get('SentLast24Hours', 0):g} sent in the last 24 hours"
        )
        enforcement = str(account.get("EnforcementStatus", "HEALTHY"))
        if enforcement != "HEALTHY":
            return Finding(
                Status.WARN,
                f"account under review ({enforcement}): bounces or complaints are high; SES may pause "
                f"sending ({figures})",
            )
        return Finding(Status.OK, f"sending enabled: {figures}")

    def check_ses_production(self) -> Finding:
        account = self.ses_account
        if account.get("ProductionAccessEnabled", False):
            return Finding(Status.OK, f"out of the SES sandbox in {self.target.region}")
        review = account.get("Details", {}).get("ReviewDetails", {})
        asked = (
            f" (production access asked: {review['Status']}, case {review.get('CaseId', '?')})"
            if review.get("Status")
            else ""
        )
        return Finding(
            Status.MISSING,
            f"the account is in the SES sandbox in {self.target.region}{asked}: it mails only verified "
            "addresses, so clinics and directors get nothing. Ask for production access: aws sesv2 "
            "put-account-details "
            "--production-access-enabled --mail-type TRANSACTIONAL --website-url <site> "
            '--use-case-description "<who gets which mail>" (or the SES console: Account dashboard)',
        )

    @cached_property
    def ses_account(self) -> dict[str, Any]:
        account: dict[str, Any] = self.client("sesv2").get_account()
        return account

    def check_inbound_identity(self) -> Finding:
        domain = self.target.inbound_domain.lower().rstrip(".")
        labels = domain.split(".")
        candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
        for candidate in candidates:
            identity = self.identity(candidate)
            if identity and identity.get("VerifiedForSendingStatus"):
                through = "" if candidate == domain else f" through its verified parent {candidate}"
                return Finding(Status.OK, f"{domain} is verified in SES{through}")
        if self.target.sender_domain in candidates:
            return Finding(
                Status.SKIPPED,
                f"{domain} is covered by the sender identity {self.target.sender_domain} once its DKIM "
                "verifies (see dkim)",
            )
        return Finding(
            Status.MISSING,
            f"SES receives only for verified domains and {domain} is not one: aws sesv2 "
            f"create-email-identity --email-identity {domain}, then publish the three DKIM CNAME records "
            "it returns",
        )

    def check_inbound_mx(self) -> Finding:
        domain, expected = self.target.inbound_domain.lower().rstrip("."), self.target.inbound_endpoint
        wanted = f"{domain}. MX 10 {expected}."
        records = self.resolve_mx(domain)
        if records is None:
            return Finding(
                Status.SKIPPED,
                f"dig is not installed: check by hand that `dig +short MX {domain}` answers `10 {expected}.`",
            )
        if not records:
            return Finding(Status.MISSING, f"{domain} has no MX record: publish {wanted}")
        ours = [preference for preference, host in records if host == expected]
        if not ours:
            found = ", ".join(f"{preference} {host}" for preference, host in sorted(records))
            return Finding(
                Status.MISSING,
                f"MX of {domain} is {found}, not SES in {self.target.region}: publish {wanted}",
            )
        others = [host for preference, host in records if host != expected and preference <= min(ours)]
        if others:
            return Finding(
                Status.WARN,
                f"{domain} also has MX {', '.join(others)} at the same or a lower preference: some "
                f"replies go there, not to SES; keep only {expected}",
            )
        return Finding(Status.OK, f"{domain} MX points at {expected}")

    def check_receipt_rule_set(self) -> Finding:
        if self.target.region not in SES_RECEIVING_REGIONS:
            return Finding(Status.SKIPPED, f"no SES receiving in {self.target.region} (see region)")
        active = self.client("ses").describe_active_receipt_rule_set()
        name = active.get("Metadata", {}).get("Name")
        ours = self.stack.physical_ids.get("InboundRuleSet") if self.stack.deployed else None
        activate = "aws ses set-active-receipt-rule-set --rule-set-name " + (
            ours or "<InboundRuleSetName output> after the deploy"
        )
        if name and name == ours:
            return Finding(Status.OK, f"{self.stack_label()}'s rule set {name} is active")
        if name:
            recipients = sorted({r for rule in active.get("Rules", []) for r in rule.get("Recipients", [])})
            holds = f" (rules for {', '.join(recipients)})" if recipients else ""
            return Finding(
                Status.MISSING if ours else Status.WARN,
                f"rule set {name} is active{holds}. A region has one active rule set: activating the stack's "
                f"deactivates {name} and its rules stop receiving. Move its rules into the stack's rule set "
                f"first, or add the stack's rule to {name}; then {activate}",
            )
        if ours:
            return Finding(
                Status.MISSING,
                f"no rule set is active, so SES drops replies to {self.target.inbound_domain}: {activate}",
            )
        return Finding(
            Status.OK,
            f"no rule set is active, so activating the stack's turns nothing else off; {activate}",
        )

    def check_token_keys(self) -> Finding:
        name = self.target.token_keys_parameter
        put = (
            f"aws ssm put-parameter --name {name} --type SecureString --value "
            """'{"active": "k1", "keys": {"k1": "'$(openssl rand -base64 48)'"}}'"""
        )
        try:
            parameter = self.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]
        except ClientError as error:
            if _error_code(error) == "ParameterNotFound":
                return Finding(Status.MISSING, f"no SSM parameter {name}: create the keyring: {put}")
            raise
        if parameter.get("Type") != "SecureString":
            return Finding(
                Status.MISSING,
                f"{name} is a {parameter.get('Type')}, not a SecureString: delete it (aws ssm "
                f"delete-parameter --name {name}) and create it again: {put}",
            )
        try:
            keyring = Keyring.from_json(str(parameter.get("Value", "")))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # The message never holds the secret: json and Keyring name positions and rules, not values.
            reason = str(error) if isinstance(error, ValueError) else f"missing or malformed {error}"
            return Finding(
                Status.MISSING,
                f'{name} is not a keyring like {{"active": "k1", "keys": {{"k1": "<32+ chars>"}}}} '
                f"({reason}): put a valid one: aws ssm put-parameter --overwrite --name {name} "
                "--type SecureString --value ...",
            )
        return Finding(
            Status.OK,
            f"{name}: SecureString keyring, active key {keyring.active_kid}, {len(keyring.keys)} key(s)",
        )

    def check_token_keys_kms(self) -> Finding:
        name = self.target.token_keys_parameter
        found = self.client("ssm").describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
        )["Parameters"]
        if not found or found[0].get("Type") != "SecureString":
            return Finding(Status.SKIPPED, f"no SecureString {name} yet (see token-keys)")
        key = str(found[0].get("KeyId") or AWS_MANAGED_SSM_KEY)
        manager = "AWS" if key == AWS_MANAGED_SSM_KEY else None
        arn = ""
        if manager is None:
            metadata = self.client("kms").describe_key(KeyId=key)["KeyMetadata"]
            manager, arn = str(metadata.get("KeyManager")), str(metadata.get("Arn"))
        if manager == "AWS":
            return Finding(
                Status.OK,
                f"{name} is encrypted with the AWS-managed key aws/ssm: the functions' ssm:GetParameter "
                "is enough",
            )
        roles = ", ".join(f"{function}Role" for function in keyring_readers())
        if self.target.token_keys_kms_key_arn == arn:
            return Finding(
                Status.OK,
                f"{name} is encrypted with the customer-managed key {arn}: TokenKeysKmsKeyArn names it, so "
                f"the stack grants {roles} kms:Decrypt on it through SSM",
            )
        return Finding(
            Status.MISSING,
            f"{name} is encrypted with the customer-managed key {arn or key}: deploy with "
            f"TokenKeysKmsKeyArn={arn or key} (sam deploy --guided asks for it) so that {roles} may "
            "kms:Decrypt it through SSM, or put the keyring under aws/ssm (no --key-id); until then no link "
            "can be signed or checked",
        )

    def check_public_base_url(self) -> Finding:
        planned = self.stack.parameters.get("PublicBaseUrl", self.target.public_base_url)
        api_url = self.stack.outputs.get("ApiUrl")
        host = urlsplit(planned).hostname or ""
        # --guided, not --parameter-overrides: guided saves the answer in samconfig.toml, where a later
        # plain `sam deploy` would otherwise find the placeholder again and put it back.
        second_deploy = (
            "deploy again with sam deploy --guided, answering PublicBaseUrl with {url} (or use a custom "
            "domain you map to the API yourself)"
        )
        if not self.stack.deployed:
            if is_placeholder(host):
                return Finding(
                    Status.WARN,
                    f"PublicBaseUrl is the placeholder {planned}: the API's URL exists only after the first "
                    "deploy, so links in emails are wrong until you "
                    + second_deploy.format(url="the ApiUrl output"),
                )
            return Finding(
                Status.OK, f"links will point at {planned}: map that domain to the API after the deploy"
            )
        if api_url and planned.rstrip("/") == api_url.rstrip("/"):
            return Finding(Status.OK, f"links point at the API ({api_url})")
        if is_placeholder(host):
            return Finding(
                Status.MISSING,
                f"the stack's PublicBaseUrl is the placeholder {planned}: every link in every email is dead; "
                + second_deploy.format(url=api_url or "the ApiUrl output"),
            )
        return Finding(
            Status.OK,
            f"links point at {planned}, not the ApiUrl {api_url}: that domain must route to this API",
        )

    def checks(self) -> list[Callable[[], Finding]]:
        return [
            self.check_parameters,
            self.check_stack,
            self.check_region,
            self.check_lambda_concurrency,
            self.check_sender_identity,
            self.check_dkim,
            self.check_ses_production,
            self.check_ses_sending,
            self.check_inbound_identity,
            self.check_inbound_mx,
            self.check_receipt_rule_set,
            self.check_token_keys,
            self.check_token_keys_kms,
            self.check_public_base_url,
        ]

    def run(self) -> list[Finding]:
        results = []
        for check in self.checks():
            name = check.__name__.removeprefix("check_").replace("_", "-")
            try:
                finding = check()
            except (ClientError, BotoCoreError, OSError, subprocess.SubprocessError) as error:
                finding = _skipped_for(error)
            results.append(replace(finding, check=name))
        return results


def _sender_email(value: str) -> str:
    local_part, at, domain = value.partition("@")
    if not local_part or not at or "." not in domain or "@" in domain:
        raise argparse.ArgumentTypeError(f"not an email address: {value!r}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ops.preflight",
        description="Check an AWS account's prerequisites for deploying template.yaml (reads only).",
    )
    parser.add_argument(
        "--region", help="AWS region to deploy in (default: samconfig.toml's, else your AWS config)"
    )
    parser.add_argument("--profile", help="AWS named profile (default: AWS_PROFILE or the default chain)")
    parser.add_argument(
        "--stack-name", help=f"CloudFormation stack (default: samconfig.toml's, else {DEFAULT_STACK_NAME})"
    )
    parser.add_argument("--sender-email", type=_sender_email, help="SenderEmail parameter")
    parser.add_argument("--inbound-domain", help="InboundDomain parameter")
    parser.add_argument("--token-keys-parameter", help="TokenKeysParameter parameter")
    parser.add_argument("--public-base-url", help="PublicBaseUrl parameter")
    parser.add_argument("--token-keys-kms-key-arn", help="TokenKeysKmsKeyArn parameter")
    parser.add_argument(
        "--config-file", type=Path, default=SAMCONFIG, help="samconfig.toml to read (if it exists)"
    )
    return parser.parse_args(argv)


def target_from(args: argparse.Namespace, session_region: str | None) -> Target:
    defaults = template.parameter_defaults()
    saved = samconfig_values(args.config_file)
    sources = "template.yaml defaults" + (f", {args.config_file.name} overrides" if saved else "")

    def pick(option: str | None, parameter: str) -> str:
        return option or saved.get(parameter) or defaults.get(parameter, "")

    region = args.region or saved.get("region") or session_region
    if not region:
        raise Unusable(
            "no AWS region: pass --region, or set AWS_DEFAULT_REGION or a region in your AWS profile"
        )
    return Target(
        region=region,
        stack_name=args.stack_name or saved.get("stack_name") or DEFAULT_STACK_NAME,
        sender_email=pick(args.sender_email, "SenderEmail"),
        inbound_domain=pick(args.inbound_domain, "InboundDomain"),
        token_keys_parameter=pick(args.token_keys_parameter, "TokenKeysParameter"),
        public_base_url=pick(args.public_base_url, "PublicBaseUrl"),
        sources=sources,
        token_keys_kms_key_arn=pick(args.token_keys_kms_key_arn, "TokenKeysKmsKeyArn"),
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    session_factory: Callable[..., boto3.Session] = boto3.Session,
    resolve_mx: Callable[[str], list[tuple[int, str]] | None] = dig_mx,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = parse_args(argv)
    try:
        session = session_factory(profile_name=args.profile) if args.profile else session_factory()
        target = target_from(args, session.region_name)
        preflight = Preflight(session, target, resolve_mx)
        caller = preflight.caller()
    except (Unusable, ProfileNotFound, NoRegionError) as error:
        print(f"preflight: {error}", file=err)
        return 2
    print(
        f"preflight: account {caller.get('Account')} as {caller.get('Arn')}, region {target.region}, "
        f"stack {target.stack_name}",
        file=out,
    )
    results = preflight.run()
    for result in results:
        print(result.line(), file=out)
    counts = {status: sum(r.status is status for r in results) for status in Status}
    summary = (
        f"{counts[Status.MISSING]} missing, {counts[Status.WARN]} warning(s), "
        f"{counts[Status.SKIPPED]} skipped (not checked: check those by hand)"
    )
    if counts[Status.MISSING]:
        print(f"preflight: {summary}. Fix what is MISSING, then run make preflight again.", file=out)
        return 1
    print(f"preflight: {summary}. Nothing missing: sam build, then sam deploy --guided.", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
