"""template.yaml against the code and the mocked account: handlers import, resources exist as declared."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from local import template
from tests.integration.conftest import Aws

FUNCTIONS = sorted(template.resources("AWS::Serverless::Function"))


def test_template_declares_the_three_functions() -> None:
    # Given template.yaml
    # When its functions are listed
    # Then intake, match and notify are there (a new function gets a case below automatically)
    assert {"IntakeFunction", "MatchFunction", "NotifyFunction"} <= set(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_template_handler_of_each_function_imports(aws: Aws, function: str) -> None:
    # Given a function's CodeUri and Handler, and its environment from the template
    module_name, attribute = template.handler_module(function)
    code_uri = template.ROOT / template.load()["Resources"][function]["Properties"]["CodeUri"]
    aws.use_function(function)

    # When the handler module is imported as a package
    module = importlib.import_module(module_name)

    # Then the CodeUri exists and the handler is a callable
    assert Path(code_uri).is_dir()
    assert callable(getattr(module, attribute))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_template_environment_resolves_every_reference(function: str) -> None:
    # Given the local parameters
    parameters = template.parameter_defaults()

    # When a function's environment is derived from the template
    environment = template.function_environment(function, parameters)

    # Then every value is a plain string, tables are named, and the origin is never *
    assert all(isinstance(value, str) and value for value in environment.values())
    assert environment["REQUESTS_TABLE"] == "RequestsTable"
    assert environment["DIRECTORS_TABLE"] == "DirectorsTable"
    assert environment["SITE_ORIGIN"] == parameters["SiteOrigin"] != "*"


def test_template_tables_are_created_with_keys_indexes_and_streams(aws: Aws) -> None:
    # Given the mocked account built from template.yaml
    # When its tables are described
    requests = aws.dynamodb.describe_table(TableName=aws.requests_table)["Table"]
    directors = aws.dynamodb.describe_table(TableName=aws.directors_table)["Table"]

    # Then keys, indexes and the Requests stream are as declared
    assert [k["AttributeName"] for k in requests["KeySchema"]] == ["pk", "sk"]
    assert {i["IndexName"] for i in requests["GlobalSecondaryIndexes"]} == {
        "RequestsByStatusDay",
        "OffersByDirector",
    }
    assert requests["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert requests["LatestStreamArn"]
    assert {i["IndexName"] for i in directors["GlobalSecondaryIndexes"]} == {
        aws.environment["DIRECTORS_BY_STATE_INDEX"],
        "ByExpiryMonth",
    }
    availability = aws.dynamodb.describe_table(TableName=aws.availability_table)["Table"]
    [available] = availability["GlobalSecondaryIndexes"]
    assert available["IndexName"] == "Available"
    assert [k["AttributeName"] for k in available["KeySchema"]] == ["available_key", "license_expires_on"]


def test_template_sender_identity_is_verified_for_sending(aws: Aws) -> None:
    # Given the mocked account built from template.yaml
    # When the SES identities are listed
    identities = aws.session.client("sesv2").list_email_identities()["EmailIdentities"]

    # Then the sender's domain is an identity
    sender_domain = aws.environment["SENDER_EMAIL"].split("@", 1)[1]
    assert sender_domain in {i["IdentityName"] for i in identities}
