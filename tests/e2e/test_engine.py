"""The stack `make run` starts runs on the DynamoDB engine chosen: moto (default) or, with
DYNAMODB=local, AWS's DynamoDB Local (`make test` runs the e2e suite on both)."""

from __future__ import annotations

import pytest

from local import dynamodb_local
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def test_stack_tables_live_in_the_chosen_engine_and_the_banner_says_which(local_stack: RunningStack) -> None:
    # Given the stack the e2e tests share, started as `make run` starts it (this run's DYNAMODB)
    on_local = dynamodb_local.engine() == "local"

    # When its banner and its DynamoDB endpoint are read
    banner = local_stack.banner
    tables = local_stack.dynamodb().list_tables()["TableNames"]

    # Then the template's tables are there; with DYNAMODB=local in DynamoDB Local, a process of its
    # own beside moto (which keeps SES, SQS and SNS), and the banner names it
    assert {"RequestsTable", "DirectorsTable"} <= set(tables)
    if on_local:
        assert local_stack.dynamodb_endpoint != local_stack.moto_endpoint
        assert f"DynamoDB {local_stack.dynamodb_endpoint}  (AWS's DynamoDB Local" in banner
        assert dynamodb_local.answers(local_stack.dynamodb_endpoint)
    else:
        assert local_stack.dynamodb_endpoint == local_stack.moto_endpoint
        assert "DYNAMODB=local make run" in banner
