"""Signed links: `{kid}.{action}.{request_id}.{subject}.{expires}.{signature}`, all URL-safe.

HMAC-SHA256 over everything before the signature, with the key named by `kid`; compared in
constant time. Several keys may be live at once (rotation): links signed with the old key keep
working until it is removed. Tokens are not secret-bearing: they carry opaque ids only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from directormatch.errors import TokenExpired, TokenInvalid
from directormatch.vocabulary import Action

FIELD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SEPARATOR = "."
SECRET_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Claims:
    action: Action
    request_id: str
    subject: str  # the director id of an offer link, or "clinic" for the status page
    expires_at: int
    kid: str


@dataclass(frozen=True)
class Keyring:
    active_kid: str
    keys: dict[str, bytes]

    @classmethod
    def from_json(cls, document: str | dict[str, Any]) -> Keyring:
        data = json.loads(document) if isinstance(document, str) else document
        keys = {str(kid): str(secret).encode() for kid, secret in data["keys"].items()}
        active = str(data["active"])
        if active not in keys or any(not FIELD.match(kid) for kid in keys):
            raise ValueError("token keyring: 'active' must name one of 'keys'; key ids are [A-Za-z0-9_-]")
        if any(len(secret) < 32 for secret in keys.values()):
            raise ValueError("token keyring: every secret needs at least 32 bytes")
        return cls(active, keys)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def issue(keyring: Keyring, action: Action, request_id: str, subject: str, expires_at: datetime) -> str:
    fields = [keyring.active_kid, action.value, request_id, subject, str(int(expires_at.timestamp()))]
    if any(not FIELD.match(field) for field in fields):
        raise ValueError("token fields must be [A-Za-z0-9_-]{1,64}")
    payload = SEPARATOR.join(fields)
    return f"{payload}{SEPARATOR}{_sign(keyring.keys[keyring.active_kid], payload)}"


def verify(keyring: Keyring, token: str, now: datetime | None = None) -> Claims:
    """The token's claims, or TokenInvalid / TokenExpired. Expiry is checked after the signature."""
    parts = token.split(SEPARATOR)
    # The signature too: compare_digest raises TypeError on a non-ASCII str.
    if len(parts) != 6 or any(not FIELD.match(part) for part in parts):
        raise TokenInvalid("malformed link")
    kid, action, request_id, subject, expires, signature = parts
    key = keyring.keys.get(kid)
    if key is None:
        raise TokenInvalid("link signed with an unknown key")
    if not hmac.compare_digest(_sign(key, SEPARATOR.join(parts[:5])), signature):
        raise TokenInvalid("link signature does not match")
    if action not in Action._value2member_map_ or not expires.isdigit():
        raise TokenInvalid("malformed link")
    now = now or datetime.now(UTC)
    if int(expires) < now.timestamp():
        raise TokenExpired("link has expired")
    return Claims(Action(action), request_id, subject, int(expires), kid)


@cache
def _parsed(document: str) -> Keyring:
    return Keyring.from_json(document)


def keyring() -> Keyring:
    """TOKEN_KEYS (JSON) locally; in AWS the SecureString parameter named by TOKEN_KEYS_PARAMETER.

    Powertools caches the parameter for SECRET_CACHE_SECONDS, so a rotated keyring is picked up
    without a deploy.
    """
    local = os.environ.get("TOKEN_KEYS")
    if local:
        return _parsed(local)
    parameter = os.environ.get("TOKEN_KEYS_PARAMETER")
    if not parameter:
        raise RuntimeError("set TOKEN_KEYS (local) or TOKEN_KEYS_PARAMETER (AWS)")
    from aws_lambda_powertools.utilities import parameters

    document = parameters.get_parameter(parameter, decrypt=True, max_age=SECRET_CACHE_SECONDS)
    return _parsed(str(document))
