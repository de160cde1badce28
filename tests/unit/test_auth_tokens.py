"""Access tokens: claims, key rotation, and the negatives that must all be 401."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import jwt
import pytest

from chalicelib import secrets as aion_secrets
from chalicelib.auth import tokens
from chalicelib.auth.credentials import bearer_credential
from chalicelib.auth.principal import Principal
from chalicelib.errors import Unauthorized

SECRET = "test-jwt-secret-0123456789abcdef0123456789abcdef"
OTHER = "another-secret-0123456789abcdef0123456789abcdef"


# Settings read afresh in each test (some change the environment).
pytestmark = pytest.mark.usefixtures("reset_caches")


def _claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "aion",
        "aud": "aion-api",
        "sub": "usr_1",
        "role": "member",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
    }
    claims.update(over)
    return claims


def _sign(claims: dict[str, object], key: str = SECRET, kid: str | None = "default") -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, key, algorithm="HS256", headers=headers)


def _claimed(header: str | None) -> Principal:
    """What a bearer header's access token claims (requests then read the current user)."""
    return tokens.decode_access_token(bearer_credential(header))


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issue_and_decode_roundtrip() -> None:
    token, expires_in = tokens.issue_access_token("usr_1", "admin")
    assert expires_in == 15 * 60
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "default", "typ": "JWT"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="aion-api")
    assert claims["iss"] == "aion"
    assert claims["sub"] == "usr_1"
    assert claims["role"] == "admin"
    assert claims["exp"] - claims["iat"] == 900
    principal = tokens.decode_access_token(token)
    assert principal == Principal(user_id="usr_1", role="admin", token_id=claims["jti"])
    assert principal.is_admin


def test_each_token_has_its_own_jti() -> None:
    a = tokens.decode_access_token(tokens.issue_access_token("usr_1", "member")[0])
    b = tokens.decode_access_token(tokens.issue_access_token("usr_1", "member")[0])
    assert a.token_id != b.token_id
    # 12 random bytes, URL-safe base64: 16 characters.
    assert len(a.token_id) == len(b.token_id) == 16


def test_lifetime_comes_from_settings(
    monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> None:
    monkeypatch.setenv("AION_ACCESS_TOKEN_TTL_SECONDS", "60")
    reset_caches()
    assert tokens.issue_access_token("usr_1", "member")[1] == 60


def test_bearer_header_parsing() -> None:
    token, _ = tokens.issue_access_token("usr_1", "member")
    assert _claimed(f"Bearer {token}").user_id == "usr_1"
    assert _claimed(f"bearer   {token}  ").user_id == "usr_1"
    for header in (None, "", "   ", token, f"Basic {token}", "Bearer", "Bearer  "):
        with pytest.raises(Unauthorized) as info:
            _claimed(header)
        assert info.value.status == 401
        assert info.value.headers["WWW-Authenticate"].startswith("Bearer")


def _rejects(token: str, message: str) -> Unauthorized:
    """The token is refused with exactly ``message`` ("The access token " + it): the client's
    only clue to what is wrong with it."""
    with pytest.raises(Unauthorized) as info:
        _claimed(f"Bearer {token}")
    assert info.value.message == f"The access token {message}"
    assert info.value.status == 401
    assert SECRET not in info.value.message
    return info.value


def test_alg_none_is_rejected() -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'default'})}.{_b64(_claims())}."
    _rejects(unsigned, "uses an unsupported algorithm.")
    # Even with the header lying about the algorithm, decode pins HS256.
    lying = f"{_b64({'alg': 'HS256', 'kid': 'default'})}.{_b64(_claims())}."
    _rejects(lying, "signature is invalid.")


def test_other_hmac_algorithms_are_rejected() -> None:
    token = jwt.encode(_claims(), SECRET * 2, algorithm="HS512", headers={"kid": "default"})
    _rejects(token, "uses an unsupported algorithm.")


def test_wrong_key_is_rejected() -> None:
    _rejects(_sign(_claims(), key=OTHER), "signature is invalid.")


def test_expired_is_rejected_with_its_own_code() -> None:
    old = int(time.time()) - 3600
    error = _rejects(_sign(_claims(iat=old, exp=old + 900)), "has expired.")
    assert error.code == "token_expired"
    issued, _ = tokens.issue_access_token("usr_1", "member", now=time.time() - 901 - 10)
    _rejects(issued, "has expired.")


def test_small_clock_skew_is_tolerated() -> None:
    issued, _ = tokens.issue_access_token("usr_1", "member", now=time.time() - 902)
    assert tokens.decode_access_token(issued).user_id == "usr_1"


def test_wrong_audience_and_issuer_are_rejected() -> None:
    _rejects(_sign(_claims(aud="someone-else")), "is not meant for this API.")
    _rejects(_sign(_claims(iss="evil")), "was not issued by this service.")


def test_tampered_payload_is_rejected() -> None:
    token, _ = tokens.issue_access_token("usr_1", "member")
    header, _payload, signature = token.split(".")
    forged = _b64({**jwt.decode(token, options={"verify_signature": False}), "role": "admin"})
    _rejects(f"{header}.{forged}.{signature}", "signature is invalid.")


def test_missing_or_unknown_kid_is_rejected() -> None:
    _rejects(_sign(_claims(), kid=None), "has no key id.")
    _rejects(_sign(_claims(), kid=""), "has no key id.")
    _rejects(_sign(_claims(), kid="k9"), "was signed with an unknown key.")


def test_missing_claims_and_bad_role_are_rejected() -> None:
    for claim in ("jti", "sub", "role", "exp", "iat"):
        claims = _claims()
        del claims[claim]
        _rejects(_sign(claims), "is invalid.")
    _rejects(_sign(_claims(role="root")), "is invalid.")
    _rejects(_sign(_claims(sub="")), "is invalid.")


def test_garbage_is_rejected() -> None:
    for token in ("abc", "a.b.c", "....", "eyJ.eyJ.x"):
        _rejects(token, "is malformed.")


def test_key_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    old_token, _ = tokens.issue_access_token("usr_1", "member")
    rotated = {"current": "k2", "keys": {"default": SECRET, "k2": OTHER}}
    monkeypatch.setenv("AION_JWT_SECRET", json.dumps(rotated))
    new_token, _ = tokens.issue_access_token("usr_2", "member")
    assert jwt.get_unverified_header(new_token)["kid"] == "k2"
    # Old tokens verify while their key is still listed; new ones use the new key.
    assert tokens.decode_access_token(old_token).user_id == "usr_1"
    assert tokens.decode_access_token(new_token).user_id == "usr_2"
    monkeypatch.setenv("AION_JWT_SECRET", json.dumps({"current": "k2", "keys": {"k2": OTHER}}))
    _rejects(old_token, "was signed with an unknown key.")
    assert tokens.decode_access_token(new_token).user_id == "usr_2"


def test_secret_parsing_errors_name_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        "short": "shorter than 32",
        "{not json": "does not parse",
        json.dumps({"current": "k1", "keys": {"k2": OTHER}}): "not among the keys",
        json.dumps({"current": "k1", "keys": {"k1": "tiny"}}): "shorter than 32",
        json.dumps({"current": "k 1", "keys": {"k 1": OTHER}}): "key ids",
        json.dumps({"current": 1, "keys": {}}): "must be",
    }
    for raw, message in cases.items():
        monkeypatch.setenv("AION_JWT_SECRET", raw)
        with pytest.raises(aion_secrets.SecretConfigError, match=message) as info:
            aion_secrets.get_jwt_keys()
        assert OTHER not in str(info.value)
    monkeypatch.delenv("AION_JWT_SECRET")
    with pytest.raises(aion_secrets.SecretConfigError, match="AION_JWT_SECRET_ARN"):
        aion_secrets.get_jwt_keys()


def test_keys_do_not_show_in_repr() -> None:
    assert SECRET not in repr(aion_secrets.get_jwt_keys())
