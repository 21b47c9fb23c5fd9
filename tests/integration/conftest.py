"""moto in-process: the tables, indexes, streams and identities of template.yaml, and read-back helpers."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from directormatch.settings import get_settings
from directormatch.store import DirectorStore, RequestStore, from_attributes
from local import resources
from tests.conftest import ACCOUNT_ID, REGION


@dataclass
class Aws:
    """The mocked account: the template's resources, the function environment and read-back helpers."""

    session: boto3.Session
    parameters: dict[str, str]
    environment: dict[str, str]
    monkeypatch: pytest.MonkeyPatch

    @property
    def dynamodb(self) -> Any:
        return self.session.client("dynamodb", region_name=REGION)

    @property
    def requests_table(self) -> str:
        return self.environment["REQUESTS_TABLE"]

    @property
    def directors_table(self) -> str:
        return self.environment["DIRECTORS_TABLE"]

    def use_function(self, function: str) -> dict[str, str]:
        """Set the environment template.yaml gives `function` (Globals plus its own variables)."""
        self.environment = resources.local_environment(function, self.parameters)
        for name, value in self.environment.items():
            self.monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return self.environment

    def request_store(self) -> RequestStore:
        return RequestStore(self.requests_table)

    def director_store(self) -> DirectorStore:
        return DirectorStore(self.directors_table, self.environment["DIRECTORS_BY_STATE_INDEX"])

    def items(self, table: str | None = None) -> list[dict[str, Any]]:
        """Every item of a table, sorted by key. Test code only: production never scans."""
        paginator = self.dynamodb.get_paginator("scan")
        found = [
            from_attributes(raw)
            for page in paginator.paginate(TableName=table or self.requests_table, ConsistentRead=True)
            for raw in page.get("Items", [])
        ]
        return sorted(found, key=lambda item: (item["pk"], item["sk"]))

    def items_with_sk(self, sk: str, prefix: bool = False) -> list[dict[str, Any]]:
        return [i for i in self.items() if (i["sk"].startswith(sk) if prefix else i["sk"] == sk)]

    def sent_emails(self) -> list[Any]:
        """Raw messages SES accepted, in sending order."""
        from moto.ses.models import ses_backends

        return list(ses_backends[ACCOUNT_ID][REGION].sent_messages)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """A fresh mocked account per test, built from template.yaml by local.resources (as `make run` does)."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        parameters = resources.local_parameters()
        resources.create_all(session, parameters)
        account = Aws(session=session, parameters=parameters, environment={}, monkeypatch=monkeypatch)
        account.use_function("IntakeFunction")
        yield account


@pytest.fixture
def intake_app(aws: Aws) -> ModuleType:
    aws.use_function("IntakeFunction")
    from functions.intake import app as intake_app

    return importlib.reload(intake_app)


@pytest.fixture
def match_app(aws: Aws) -> ModuleType:
    aws.use_function("MatchFunction")
    from functions.match import app as match_app

    return match_app


@pytest.fixture
def notify_app(aws: Aws) -> ModuleType:
    aws.use_function("NotifyFunction")
    from functions.notify import app as notify_app

    return notify_app


@pytest.fixture
def load_roster(aws: Aws) -> Callable[..., list[dict[str, Any]]]:
    """Put synthetic roster items (or any director items) into the Directors table; returns them."""
    from directormatch.roster import synthetic_roster

    def load(items: list[dict[str, Any]] | None = None, count: int = 153) -> list[dict[str, Any]]:
        chosen = synthetic_roster(count=count) if items is None else items
        aws.director_store().put_items(chosen)
        return chosen

    return load
