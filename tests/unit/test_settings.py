"""Settings from the environment: required names, defaults, overrides, a bad variable named."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.common import FUNCTIONS, ROOT, lambda_like_environment
from directormatch.matching.engine import Weights
from directormatch.settings import REQUIRED, Settings, SettingsError
from tests.conftest import FUNCTION_ENVIRONMENT


def test_settings_required_names_only_give_the_template_defaults() -> None:
    settings = Settings.from_environment(FUNCTION_ENVIRONMENT)

    assert settings.requests_table == "RequestsTable"
    assert (settings.wave_size, settings.offer_hours, settings.max_waves) == (3, 4, 3)
    assert (settings.inbound_domain, settings.ses_configuration_set) == ("", "")
    assert settings.weights == Weights()


@pytest.mark.parametrize("variable", sorted(REQUIRED.values()))
def test_settings_missing_resource_name_is_an_error_naming_it(variable: str) -> None:
    # Given every required name but one (blank counts as missing)
    environment = {**FUNCTION_ENVIRONMENT, variable: " "}

    # When / Then
    with pytest.raises(SettingsError, match=f"^{variable} is not set"):
        Settings.from_environment(environment)


def test_each_variable_overrides_its_setting() -> None:
    settings = Settings.from_environment(
        {
            **FUNCTION_ENVIRONMENT,
            "REQUESTS_TABLE": "dm-Requests",
            "OFFER_WAVE_SIZE": "5",
            "OFFER_HOURS": " 12 ",
            "INBOUND_DOMAIN": "in.example.com",
            "MATCH_WEIGHTS": '{"fairness": 0, "capacity": 2.5}',
        }
    )

    assert settings.requests_table == "dm-Requests"
    assert (settings.wave_size, settings.offer_hours) == (5, 12)
    assert settings.inbound_domain == "in.example.com"
    assert settings.weights == Weights(fairness=0.0, capacity=2.5)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("OFFER_WAVE_SIZE", "three", "OFFER_WAVE_SIZE must be a whole number"),
        ("OFFER_WAVE_SIZE", "0", "OFFER_WAVE_SIZE must be between 1 and 20"),
        ("OFFER_HOURS", "73", "OFFER_HOURS must be between 1 and 72"),
        ("MAX_WAVES", "11", "MAX_WAVES must be between 1 and 10"),
        ("MATCH_WEIGHTS", "{fairness: 1}", "MATCH_WEIGHTS is not JSON"),
        ("MATCH_WEIGHTS", "[1, 2]", "MATCH_WEIGHTS must be a JSON object"),
        ("MATCH_WEIGHTS", '{"luck": 1}', "unknown weight 'luck'"),
        ("MATCH_WEIGHTS", '{"fairness": "high"}', "MATCH_WEIGHTS['fairness'] must be a number"),
        ("MATCH_WEIGHTS", '{"fairness": true}', "MATCH_WEIGHTS['fairness'] must be a number"),
    ],
)
def test_a_bad_variable_is_named_with_the_reason(variable: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        Settings.from_environment({**FUNCTION_ENVIRONMENT, variable: value})


CHILD = """
import importlib, sys
importlib.import_module(sys.argv[1])
from directormatch.settings import get_settings
print("settings read:", get_settings.cache_info().currsize)
"""


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_handler_imports_without_reading_its_settings(function: str) -> None:
    # Given the function's Lambda environment without its resource names (a deploy that lost them)
    env = lambda_like_environment(function, invocation=False)
    for variable in REQUIRED.values():
        env.pop(variable, None)

    # When its handler module is imported in a fresh interpreter
    module = f"functions.{function.removesuffix('Function').lower()}.app"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, module], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )

    # Then the import succeeds and has read no setting: the first call reads them (and names what is missing)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip().splitlines()[-1] == "settings read: 0"
