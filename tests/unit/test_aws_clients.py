"""directormatch.aws.clients: clients keep DynamoDB on a local endpoint (moto, DynamoDB Local) without
refusing to start on a runtime whose botocore predates account-id endpoints (before 1.37)."""

from __future__ import annotations

import random
import subprocess
import sys
import types
from typing import Any

import botocore.config
import pytest
from botocore.config import Config

from directormatch.aws import clients as aws


def test_clients_disable_account_id_endpoints_for_a_local_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    assert aws.dynamodb().meta.config.account_id_endpoint_mode == "disabled"


def test_clients_leave_account_id_endpoints_to_botocore_in_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", raising=False)
    assert aws.dynamodb().meta.config.account_id_endpoint_mode == "preferred"  # botocore's default


def test_clients_start_on_a_botocore_without_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a botocore that predates the option: its Config refuses the keyword
    older = {k: v for k, v in Config.OPTION_DEFAULTS.items() if k != "account_id_endpoint_mode"}

    class OlderConfig(Config):
        OPTION_DEFAULTS = older

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.account_id_endpoint_mode = None  # read later by this (newer) botocore's client

    monkeypatch.setattr(botocore.config, "Config", OlderConfig)
    with pytest.raises(TypeError):
        OlderConfig(account_id_endpoint_mode="disabled")
    # When a client is made for a local endpoint, it is made, with the rest of the configuration
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    config = aws.dynamodb().meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 5)


def test_clients_share_one_session_and_its_loaded_data_until_cleared() -> None:
    # Given the DynamoDB client a function makes first
    first = aws.dynamodb()

    # When it makes its SES client, and again after its clients are forgotten
    second = aws.sesv2()
    aws.clear_clients()
    fresh = aws.sesv2()

    # Then the second client reads the endpoint and retry data the first one's session loaded, and
    # a fresh session loads its own
    assert second._loader is first._loader
    assert fresh._loader is not first._loader


def test_after_restore_forgets_clients_and_reseeds_random() -> None:
    # Given a client made before the snapshot, and the random state every restored copy would share
    before = aws.dynamodb()
    random.seed(7)
    shared = random.getstate()

    # When Lambda resumes the snapshot
    aws.after_restore()

    # Then the next call makes its own client, and the random state is fresh
    assert aws.dynamodb() is not before
    assert random.getstate() != shared


def _runtime_hooks(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Lambda's `snapshot_restore_py`, recording what each hook is given."""
    registered: dict[str, list[Any]] = {"register_before_snapshot": [], "register_after_restore": []}
    runtime_hooks = types.ModuleType("snapshot_restore_py")
    for hook, functions in registered.items():
        setattr(runtime_hooks, hook, functions.append)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime_hooks)
    return registered


def test_after_restore_is_registered_with_lambdas_runtime_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    registered = _runtime_hooks(monkeypatch)

    assert aws._register_after_restore()
    assert registered == {"register_before_snapshot": [], "register_after_restore": [aws.after_restore]}


def test_intake_builds_its_validators_before_the_snapstart_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    from directormatch.intake import contract

    registered = _runtime_hooks(monkeypatch)

    assert contract.register_before_snapshot()
    assert registered == {
        "register_before_snapshot": [contract.build_validators],
        "register_after_restore": [],
    }


def test_no_runtime_hook_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    from directormatch.intake import contract

    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as outside Lambda
    assert not aws._register_after_restore()
    assert not contract.register_before_snapshot()


def test_build_validators_leaves_nothing_for_the_first_request() -> None:
    # Given a fresh process, where the contract's validators wait for first use (defer_build)
    probe = (
        "import sys\n"
        "from directormatch.intake import contract\n"
        "before = (contract.QuoteRequest.__pydantic_complete__, 'email_validator' in sys.modules)\n"
        "contract.build_validators()\n"
        "after = (contract.QuoteRequest.__pydantic_complete__, 'email_validator' in sys.modules)\n"
        "print(before, after)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    # Then building them completes the model and imports email_validator, before any request
    assert result.stdout.split() == ["(False,", "False)", "(True,", "True)"]
