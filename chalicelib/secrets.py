"""Secrets: the JWT signing keys and the bridge token.

Locally they come from the environment (``AION_JWT_SECRET``, ``AION_BRIDGE_TOKEN``); in the
cloud from Secrets Manager (``AION_JWT_SECRET_ARN``, ``AION_BRIDGE_TOKEN_ARN``) through
Powertools Parameters, which caches each value for ``AION_SECRETS_MAX_AGE_SECONDS`` so a
rotation is picked up without a redeploy. The ARN wins when both are set.

The JWT secret is either a plain string (one key, kid ``default``) or JSON for rotation::

    {"current": "k2", "keys": {"k1": "<old key>", "k2": "<new key>"}}

New tokens are signed with ``current``; tokens signed with any listed key still verify until
the old key is removed. Secret values never appear in logs, exceptions or responses.

Secrets are read on each use rather than held by ``chalicelib.config``'s settings: a rotated
value (Secrets Manager, or the environment in tests) is picked up without a restart.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from chalicelib.config import get_settings
from chalicelib.errors import ServiceUnavailable

DEFAULT_KID = "default"
# HS256 wants at least 256 bits of key; shorter keys are refused rather than used.
MIN_KEY_LENGTH = 32
_KID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SecretConfigError(RuntimeError):
    """A secret is missing or malformed. The message names the setting, never the value."""


@dataclass(frozen=True)
class JwtKeys:
    current_kid: str
    keys: Mapping[str, str] = field(repr=False)  # kid -> key; repr=False keeps keys out of logs

    @property
    def current_key(self) -> str:
        return self.keys[self.current_kid]

    def key_for(self, kid: str) -> str | None:
        return self.keys.get(kid)


def get_jwt_keys() -> JwtKeys:
    raw = _read_secret("AION_JWT_SECRET", "AION_JWT_SECRET_ARN", what="JWT signing key")
    return _parse_jwt_keys(raw)


def get_bridge_token() -> str:
    raw = _read_secret("AION_BRIDGE_TOKEN", "AION_BRIDGE_TOKEN_ARN", what="bridge token")
    token = raw.strip()
    if len(token) < MIN_KEY_LENGTH // 2:
        raise SecretConfigError(f"the bridge token must be at least {MIN_KEY_LENGTH // 2} chars")
    return token


def get_optional_secret(env_name: str, arn_env_name: str, *, what: str) -> str | None:
    """A secret that may be absent (e.g. an LLM endpoint's API key): its value or None.

    Same sources as the required ones: ``arn_env_name`` (Secrets Manager) wins over
    ``env_name``; raises ``ServiceUnavailable`` when Secrets Manager cannot be read.
    """
    arn = os.environ.get(arn_env_name, "").strip()
    if arn:
        return _fetch_from_secrets_manager(arn, what=what).strip()
    return os.environ.get(env_name, "").strip() or None


def _read_secret(env_name: str, arn_env_name: str, *, what: str) -> str:
    value = get_optional_secret(env_name, arn_env_name, what=what)
    if not value:
        raise SecretConfigError(f"the {what} is not configured: set {env_name} or {arn_env_name}")
    return value


def _fetch_from_secrets_manager(arn: str, *, what: str) -> str:
    # Imported here: only cloud Lambdas take this path, and Powertools adds to cold start.
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(arn, max_age=get_settings().secrets_max_age_s)
    except parameters.exceptions.GetParameterError as exc:
        # The cause names the ARN and the AWS error only; still, keep the client message generic.
        raise ServiceUnavailable(f"the {what} is temporarily unavailable") from exc
    if not isinstance(value, str) or not value.strip():
        raise SecretConfigError(f"the {what} secret is empty or binary")
    return value


@lru_cache(maxsize=8)
def _parse_jwt_keys(raw: str) -> JwtKeys:
    """Parse once per distinct secret value (a rotation yields a new value, hence a new entry)."""
    text = raw.strip()
    if not text.startswith("{"):
        _check_key(text, DEFAULT_KID)
        return JwtKeys(DEFAULT_KID, MappingProxyType({DEFAULT_KID: text}))
    try:
        data = json.loads(text)
    except ValueError:
        raise SecretConfigError("the JWT secret looks like JSON but does not parse") from None
    if not isinstance(data, dict):
        raise SecretConfigError('the JWT secret JSON must be {"current": kid, "keys": {...}}')
    current = data.get("current")
    keys = data.get("keys")
    if not isinstance(current, str) or not isinstance(keys, dict) or not keys:
        raise SecretConfigError('the JWT secret JSON must be {"current": kid, "keys": {...}}')
    for kid, key in keys.items():
        if not isinstance(kid, str) or not _KID_RE.match(kid):
            raise SecretConfigError("JWT key ids must be 1-64 characters of [A-Za-z0-9._-]")
        if not isinstance(key, str):
            raise SecretConfigError(f"the JWT key {kid!r} must be a string")
        _check_key(key, kid)
    if current not in keys:
        raise SecretConfigError(f"the current JWT key id {current!r} is not among the keys")
    return JwtKeys(current, MappingProxyType(dict(keys)))


def _check_key(key: str, kid: str) -> None:
    if len(key) < MIN_KEY_LENGTH:
        raise SecretConfigError(f"the JWT key {kid!r} is shorter than {MIN_KEY_LENGTH} characters")
