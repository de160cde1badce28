"""Access tokens: short-lived JWTs, HS256 only, with a ``kid`` header for key rotation.

Claims: ``iss``, ``aud``, ``sub`` (user id), ``role``, ``iat``, ``exp``, ``jti``. Decoding pins
the algorithm list to HS256, so ``alg: none`` and algorithm-confusion tokens never verify.
``decode_access_token`` returns what the token claims; requests are authorised with the user's
current role instead (``chalicelib.auth.bearer``).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

from chalicelib.auth.credentials import rejected
from chalicelib.auth.principal import ROLES, Principal
from chalicelib.config import get_settings
from chalicelib.errors import Unauthorized
from chalicelib.secrets import get_jwt_keys

ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "role", "iat", "exp", "jti"]


def _unauthorized(message: str, *, code: str | None = None) -> Unauthorized:
    return rejected(message, code=code)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def issue_access_token(user_id: str, role: str, *, now: float | None = None) -> tuple[str, int]:
    """Sign an access token for the user; returns ``(token, expires_in_seconds)``."""
    settings = get_settings().auth
    keys = get_jwt_keys()
    issued_at = int(time.time() if now is None else now)
    ttl = settings.access_token_ttl_s
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": user_id,
        "role": role,
        "iat": issued_at,
        "exp": issued_at + ttl,
        "jti": secrets.token_urlsafe(12),
    }
    token = jwt.encode(
        claims, keys.current_key, algorithm=ALGORITHM, headers={"kid": keys.current_kid}
    )
    return token, ttl


def decode_access_token(token: str) -> Principal:
    """Verify signature, algorithm, kid, issuer, audience and lifetime; raise Unauthorized."""
    settings = get_settings().auth
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise _unauthorized("The access token is malformed.") from None
    if header.get("alg") != ALGORITHM:
        raise _unauthorized("The access token uses an unsupported algorithm.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _unauthorized("The access token has no key id.")
    key = get_jwt_keys().key_for(kid)
    if key is None:
        raise _unauthorized("The access token was signed with an unknown key.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_s,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The access token has expired.", code="token_expired") from None
    except jwt.InvalidAudienceError:
        raise _unauthorized("The access token is not meant for this API.") from None
    except jwt.InvalidIssuerError:
        raise _unauthorized("The access token was not issued by this service.") from None
    except jwt.InvalidSignatureError:
        raise _unauthorized("The access token signature is invalid.") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("The access token is invalid.") from None
    sub, role, jti = claims["sub"], claims["role"], claims["jti"]
    if not isinstance(sub, str) or not sub or role not in ROLES or not isinstance(jti, str):
        raise _unauthorized("The access token is invalid.")
    return Principal(user_id=sub, role=role, token_id=jti)
