"""The link-signing keyring as AWS serves it: the SecureString parameter TokenKeysParameter, read
through Powertools Parameters (TOKEN_KEYS, what local runs use, unset). The offer page opens with a
link signed by that keyring, and the SSM call is allowed by RespondFunction's role (checks.iam)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters import base as parameters_base

from checks import iam
from checks.transform import transformed
from directormatch import tokens
from directormatch.aws import clients
from local import template
from local.lambdas import LambdaContext
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest
from tests.integration.test_respond import heading, link_token, offer_event

KEYRING = '{"active": "s1", "keys": {"s1": "ssm-signing-key-0123456789abcdef0123456789"}}'


@pytest.fixture
def keyring_in_ssm(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """TOKEN_KEYS unset; the keyring stored where TOKEN_KEYS_PARAMETER names it; no cached provider."""
    name = aws.environment["TOKEN_KEYS_PARAMETER"]
    aws.session.client("ssm").put_parameter(Name=name, Value=KEYRING, Type="SecureString")
    monkeypatch.delenv("TOKEN_KEYS")
    parameters_base.DEFAULT_PROVIDERS.clear()
    yield name
    parameters_base.DEFAULT_PROVIDERS.clear()


@pytest.fixture
def open_offer(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    keyring_in_ssm: str,
) -> dict[str, Any]:
    """An OPEN offer of a TX request, with RespondFunction's environment and the keyring in SSM only."""
    load_directors(4)
    request = offered_request()
    aws.use_function("RespondFunction")
    offer: dict[str, Any] = aws.request_store().offers(request["request_id"])[0]
    return offer


def test_respond_reads_the_keyring_from_ssm_as_its_role_allows(
    open_offer: dict[str, Any], lambda_context: LambdaContext, keyring_in_ssm: str
) -> None:
    # Given an offer and the keyring in SSM only
    from functions.respond import app as respond_app

    token = link_token(open_offer, keyring=tokens.Keyring.from_json(KEYRING))

    # When the director opens the offer link, with the calls recorded
    with iam.recording() as recorder:
        clients.clear_clients()
        parameters_base.DEFAULT_PROVIDERS.clear()
        response = respond_app.lambda_handler(offer_event("GET", token), lambda_context)

    # Then the page opens: the link was checked against the keyring read from SSM
    assert response["statusCode"] == 200, heading(response)
    assert heading(response) == "Accept this directorship?"
    parameter_arn = f"arn:aws:ssm:us-east-1:123456789012:parameter{keyring_in_ssm}"
    assert iam.Authorization("RespondFunction", "ssm:GetParameter", parameter_arn) in recorder.seen
    # And RespondFunction's role allows every call it made
    text, ok = iam.report(recorder.seen, transformed(), template.parameter_defaults())
    assert ok, text


def test_a_link_signed_by_another_keyring_is_refused_when_the_keyring_is_in_ssm(
    open_offer: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given a link signed with a key the SSM keyring does not hold
    from functions.respond import app as respond_app

    other = tokens.Keyring.from_json(
        '{"active": "s1", "keys": {"s1": "another-key-0123456789abcdef0123456789"}}'
    )
    token = link_token(open_offer, keyring=other)

    # When it is opened, Then it is refused
    response = respond_app.lambda_handler(offer_event("GET", token), lambda_context)
    assert response["statusCode"] == 403


def test_sweep_signs_the_manage_link_of_an_expiry_warning_with_the_keyring_from_ssm_as_its_role_allows(
    aws: Aws, keyring_in_ssm: str, lambda_context: LambdaContext
) -> None:
    # Given a director whose license lapses in 10 days, and the keyring in SSM only
    from directormatch.directors import director_items
    from tests.integration.test_expiry_warnings import NOW, director, expiry_event

    aws.director_store().put_items(director_items(director(1, 10)))
    aws.use_function("SweepFunction")
    from functions.sweep import app as sweep_app

    # When the daily task warns them, with the calls recorded
    with iam.recording() as recorder:
        clients.clear_clients()
        parameters_base.DEFAULT_PROVIDERS.clear()
        result = sweep_app.lambda_handler(expiry_event(NOW), lambda_context)

    # Then the warning went out with a manage link signed by the SSM keyring, as SweepFunction's role allows
    assert result["expiry_warnings"] == 1
    [warning] = [
        m for m in aws.sent_emails() if sorted(set(m.destinations)) != [aws.environment["OPS_EMAIL"]]
    ]
    assert "/manage/s1.manage." in warning.raw_data
    text, ok = iam.report(recorder.seen, transformed(), template.parameter_defaults())
    assert ok, text
