"""boto3 clients, created on first use (never at import) and cached per process.

Intake runs on Lambda SnapStart: many execution environments resume from one snapshot of the
initialised process. `after_restore` is registered with the runtime's hook (the snapshot_restore_py
module exists only in Lambda's python runtime) and refreshes what the snapshot would otherwise share.
"""

from __future__ import annotations

import os
import random
from functools import cache
from typing import TYPE_CHECKING, Any

from directormatch import snapstart

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client


@cache
def _session() -> Session:
    """One boto3 session for every client of the process: a session loads botocore's endpoint,
    partition and retry data for its first client, so a second session would load them again."""
    import boto3

    return boto3.session.Session()


def _client(service: str) -> Any:
    from botocore.config import Config

    options: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 3}}
    options.update(connect_timeout=2, read_timeout=5)
    if _local_endpoint() and "account_id_endpoint_mode" in Config.OPTION_DEFAULTS:
        # A local endpoint (moto, DynamoDB Local) serves no account-id hosts; keep DynamoDB calls on
        # the configured endpoint. In AWS the default stands. Botocore before 1.37 (an older Lambda
        # runtime) has no such option and would refuse it.
        options["account_id_endpoint_mode"] = "disabled"
    config = Config(**options)
    return _session().client(service, config=config, region_name=os.environ.get("AWS_REGION"))  # type: ignore[call-overload]


def _local_endpoint() -> bool:
    return any(name.startswith("AWS_ENDPOINT_URL") and value for name, value in os.environ.items())


@cache
def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


@cache
def sesv2() -> SESV2Client:
    client: SESV2Client = _client("sesv2")
    client.meta.events.register_first(
        "needs-retry.sesv2.SendEmail", _no_resend_after_lost_answer, unique_id="directormatch-no-resend"
    )
    return client


def _no_resend_after_lost_answer(caught_exception: Exception | None = None, **_: Any) -> None:
    """SendEmail is not retried inside the call when its answer was lost (read timeout, connection
    closed after sending): SES may have taken the message, and each retry could be one more copy.
    The record fails instead; notify releases its claim and Lambda's redelivery sends once more, with
    the same Message-ID (at-least-once). Throttling and connect errors are still retried here."""
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    if isinstance(caught_exception, ReadTimeoutError | ConnectionClosedError):
        raise caught_exception


@cache
def client(service: str) -> Any:
    """Any other service's client (sqs and dynamodbstreams for the replay command)."""
    return _client(service)


def clear_clients() -> None:
    """Forget cached clients and their session (tests switch endpoints and credentials between cases;
    a resumed snapshot resolves its own credentials)."""
    _session.cache_clear()
    dynamodb.cache_clear()
    sesv2.cache_clear()
    client.cache_clear()


def after_restore() -> None:
    """What a resumed snapshot must not share with its siblings: clients made before the snapshot
    (their pooled connections do not survive it, and their credentials were the snapshot's), and the
    `random` state botocore draws its retry jitter from (identical jitter would retry every restored
    environment in step). IDs, tokens and X-Ray ids come from os.urandom, which the kernel keeps
    unique; settings and the keyring are read on first use, after the restore."""
    random.seed()
    clear_clients()


def _register_after_restore() -> bool:
    return snapstart.register("register_after_restore", after_restore)


_register_after_restore()
