"""Cold start: importing the intake handler loads pydantic (the contract) but builds no validator,
loads no Powertools OpenAPI validation (the document is made from the models when asked for) and
no Jinja2 (pages render only when a page is answered)."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import ROOT, lambda_like_environment

# Powertools' event_handler package imports openapi.config, constants, exceptions, merge and types
# whatever the resolver (plain modules); these are the ones its `enable_validation` needs.
VALIDATION_MODULES = (
    "aws_lambda_powertools.event_handler.openapi.compat",
    "aws_lambda_powertools.event_handler.openapi.dependant",
    "aws_lambda_powertools.event_handler.openapi.encoders",
    "aws_lambda_powertools.event_handler.openapi.models",
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.event_handler.openapi.pydantic_loader",
    "aws_lambda_powertools.event_handler.openapi.schema_generator",
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
)
CHILD = """
import json, sys
import functions.intake.app
from directormatch.intake.contract import QuoteRequest
print(json.dumps({"all": list(sys.modules), "built": QuoteRequest.__pydantic_complete__}))
"""


def test_intake_import_builds_no_validator_and_loads_no_openapi_validation_nor_jinja2() -> None:
    # Given the environment Lambda gives the intake function at init
    env = lambda_like_environment("IntakeFunction", invocation=False)

    # When its handler module is imported in a fresh interpreter
    child = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(child.stdout.strip().splitlines()[-1])

    # Then the contract's models are defined but their validators not yet built
    assert "pydantic" in loaded["all"]
    assert loaded["built"] is False
    # And neither Powertools' OpenAPI validation, nor Jinja2, nor email_validator is loaded
    assert not [m for m in loaded["all"] if m.startswith(VALIDATION_MODULES)]
    assert not [m for m in loaded["all"] if m.split(".")[0] in ("jinja2", "email_validator")]


def test_respond_import_loads_no_pydantic() -> None:
    # Given the environment Lambda gives the respond function at init (its pages need no contract)
    env = lambda_like_environment("RespondFunction", invocation=False)

    # When its handler module is imported in a fresh interpreter
    child = subprocess.run(
        [sys.executable, "-c", "import sys, functions.respond.app; print('pydantic' in sys.modules)"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    # Then the shared resolver factory did not bring pydantic in
    assert child.stdout.strip().splitlines()[-1] == "False"
