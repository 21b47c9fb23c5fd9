"""Cold start (issue 8): importing the intake handler loads neither pydantic nor Powertools' OpenAPI
validation. The contract is validated by pydantic-core (directormatch.intake.contract); pydantic itself is
imported only to build the OpenAPI document, when GET /openapi.json asks for it."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import ROOT, lambda_like_environment

# Powertools' event_handler package imports openapi.config, constants, exceptions, merge and types
# whatever the resolver (plain modules, no pydantic); these are the ones that need pydantic.
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
import aws_lambda_powertools.event_handler
package = set(sys.modules)
import functions.intake.app
loaded = [m for m in sys.modules if m not in package]
print(json.dumps({"loaded": loaded, "all": list(sys.modules)}))
"""


def test_intake_import_loads_no_pydantic_and_no_openapi_validation() -> None:
    # Given the environment Lambda gives the intake function at init
    env = lambda_like_environment("IntakeFunction", invocation=False)

    # When its handler module is imported in a fresh interpreter
    child = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules = json.loads(child.stdout.strip().splitlines()[-1])

    # Then pydantic is not loaded, nor any Powertools OpenAPI module beyond the event handler's own
    assert "pydantic" not in modules["all"]
    assert not [m for m in modules["loaded"] if m.startswith("aws_lambda_powertools.event_handler.openapi")]
    assert not [m for m in modules["all"] if m.startswith(VALIDATION_MODULES)]
