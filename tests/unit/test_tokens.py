"""Signed offer links: what verify() accepts and every way it refuses a link."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from directormatch import tokens
from directormatch.errors import TokenExpired, TokenInvalid
from directormatch.tokens import Claims, Keyring
from directormatch.vocabulary import Action
from tests.conftest import TEST_TOKEN_KEYS

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(hours=4)
REQUEST_ID = "01JDQ2V7K9M3X8T4N6P0R5S2W1"
DIRECTOR_ID = "D3f9a1c2b7e8d4a6f0b12"
SECRET_A = "a" * 32
SECRET_B = "b" * 32


def ring(active: str = "k1", **secrets: str) -> Keyring:
    return Keyring.from_json({"active": active, "keys": secrets or {"k1": SECRET_A}})


def offer_token(keyring: Keyring, action: Action = Action.ACCEPT) -> str:
    return tokens.issue(keyring, action, REQUEST_ID, DIRECTOR_ID, EXPIRES)


def with_part(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


def test_token_issued_then_verified_returns_its_claims() -> None:
    # Given a link issued with the active key
    keyring = ring()
    token = offer_token(keyring)

    # When it is verified before it expires
    claims = tokens.verify(keyring, token, now=NOW)

    # Then the claims are what was signed, and the token carries only ids and URL-safe characters
    assert claims == Claims(Action.ACCEPT, REQUEST_ID, DIRECTOR_ID, int(EXPIRES.timestamp()), "k1")
    assert token.split(".")[:5] == ["k1", "accept", REQUEST_ID, DIRECTOR_ID, str(int(EXPIRES.timestamp()))]
    assert all(c.isalnum() or c in "._-" for c in token)


def test_token_with_changed_signature_is_invalid() -> None:
    # Given a valid link whose signature has one character changed
    token = offer_token(ring())
    signature = token.rsplit(".", 1)[1]
    forged = with_part(token, 5, ("B" if signature[0] == "A" else "A") + signature[1:])

    # When it is verified, Then it is refused as invalid
    with pytest.raises(TokenInvalid, match="signature"):
        tokens.verify(ring(), forged, now=NOW)


@pytest.mark.parametrize(
    ("index", "value"),
    [
        pytest.param(3, "D0000000000000000other", id="director-id"),
        pytest.param(2, "01JDQ2V7K9M3X8T4N6P0R5OTHER", id="request-id"),
        pytest.param(1, "decline", id="action"),
        pytest.param(4, str(int((EXPIRES + timedelta(days=30)).timestamp())), id="expiry"),
    ],
)
def test_token_with_changed_field_is_invalid(index: int, value: str) -> None:
    # Given a valid link with one signed field changed and the signature kept
    forged = with_part(offer_token(ring()), index, value)

    # When it is verified, Then the signature no longer matches
    with pytest.raises(TokenInvalid, match="signature"):
        tokens.verify(ring(), forged, now=NOW)


def test_token_past_expiry_is_expired() -> None:
    # Given a valid link
    token = offer_token(ring())

    # When it is verified one second after its expiry, Then it is refused as expired
    with pytest.raises(TokenExpired):
        tokens.verify(ring(), token, now=EXPIRES + timedelta(seconds=1))


def test_token_forged_and_expired_is_invalid_not_expired() -> None:
    # Given an expired link whose request id was changed
    forged = with_part(offer_token(ring()), 2, "01JDQ2V7K9M3X8T4N6P0R5OTHER")

    # When it is verified after expiry, Then the signature is checked first: invalid, not expired
    with pytest.raises(TokenInvalid):
        tokens.verify(ring(), forged, now=EXPIRES + timedelta(days=1))


def test_token_signed_with_unknown_key_id_is_invalid() -> None:
    # Given a link signed with a key id the verifying keyring does not hold
    token = offer_token(ring("k9", k9=SECRET_B))

    # When it is verified, Then it is refused naming the unknown key
    with pytest.raises(TokenInvalid, match="unknown key"):
        tokens.verify(ring(), token, now=NOW)


def test_token_from_another_environment_with_same_key_id_is_invalid() -> None:
    # Given a link from another environment: same key id "k1", another secret
    token = offer_token(ring(k1=SECRET_B))

    # When this environment verifies it, Then the signature does not match
    with pytest.raises(TokenInvalid, match="signature"):
        tokens.verify(ring(k1=SECRET_A), token, now=NOW)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="five-parts"),
        pytest.param(lambda t: t + ".extra", id="seven-parts"),
        pytest.param(lambda t: t.replace(".", "..", 1), id="empty-part"),
        pytest.param(lambda t: with_part(t, 2, "01JDQ2V7/../../admin"), id="slash-in-field"),
        pytest.param(lambda t: with_part(t, 3, "D3f9a1c2 b7e8"), id="space-in-field"),
        pytest.param(lambda t: with_part(t, 3, "D3f9a1c2b7e8d4a6f0b1é"), id="non-ascii-field"),
        pytest.param(lambda t: with_part(t, 5, "é" * 43), id="non-ascii-signature"),
        pytest.param(lambda t: with_part(t, 5, t.rsplit(".", 1)[1] + "="), id="padded-signature"),
        pytest.param(lambda t: with_part(t, 2, "R" * 65), id="field-too-long"),
    ],
)
def test_token_malformed_is_invalid(mangle: Callable[[str], str]) -> None:
    # Given a link mangled out of the token format
    token = mangle(offer_token(ring()))

    # When it is verified, Then it is refused as invalid (never another error)
    with pytest.raises(TokenInvalid):
        tokens.verify(ring(), token, now=NOW)


def test_token_signed_with_old_key_verifies_during_rotation_and_fails_once_removed() -> None:
    # Given a link signed before rotation with key k1
    token = offer_token(ring("k1", k1=SECRET_A))

    # When k2 becomes active and k1 stays in the keyring
    rotating = ring("k2", k1=SECRET_A, k2=SECRET_B)

    # Then the old link still verifies, and new links are signed with k2
    assert tokens.verify(rotating, token, now=NOW).kid == "k1"
    assert offer_token(rotating).startswith("k2.")
    assert tokens.verify(rotating, offer_token(rotating), now=NOW).kid == "k2"

    # When k1 is removed
    rotated = ring("k2", k2=SECRET_B)

    # Then the old link is refused
    with pytest.raises(TokenInvalid, match="unknown key"):
        tokens.verify(rotated, token, now=NOW)


def test_token_issue_with_field_outside_the_alphabet_raises() -> None:
    # Given a request id holding the separator, When a link is issued for it, Then it is refused
    with pytest.raises(ValueError, match="token fields"):
        tokens.issue(ring(), Action.ACCEPT, "R.1", DIRECTOR_ID, EXPIRES)


def test_keyring_from_json_string_or_mapping_reads_active_and_keys() -> None:
    # Given the keyring document as JSON text and as a mapping
    document = {"active": "k2", "keys": {"k1": SECRET_A, "k2": SECRET_B}}

    # When it is read
    from_text, from_mapping = Keyring.from_json(json.dumps(document)), Keyring.from_json(document)

    # Then both hold the active key id and every secret as bytes
    assert from_text == from_mapping == Keyring("k2", {"k1": SECRET_A.encode(), "k2": SECRET_B.encode()})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param({"active": "k2", "keys": {"k1": SECRET_A}}, "active", id="active-missing"),
        pytest.param({"active": "k1", "keys": {"k1": "x" * 31}}, "32 bytes", id="short-secret"),
        pytest.param({"active": "k1", "keys": {"k1": SECRET_A, "k2": "short"}}, "32 bytes", id="short-old"),
        pytest.param({"active": "k.1", "keys": {"k.1": SECRET_A}}, "key ids", id="dot-in-key-id"),
    ],
)
def test_keyring_from_json_invalid_document_raises(document: dict[str, object], message: str) -> None:
    # Given an invalid keyring document, When it is read, Then it is refused naming the rule
    with pytest.raises(ValueError, match=message):
        Keyring.from_json(document)


def test_keyring_from_environment_reads_token_keys() -> None:
    # Given TOKEN_KEYS set (tests/conftest.py), When the keyring is read, Then it is that document
    assert tokens.keyring() == Keyring.from_json(TEST_TOKEN_KEYS)
