"""Auth over HTTP: login/refresh/logout/ws-ticket and JWT negatives (every one a 401)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.integration.conftest import ApiClient

SECRET = "test-jwt-secret-0123456789abcdef0123456789abcdef"


def _claims(user_id: str, **over: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "aion",
        "aud": "aion-api",
        "sub": user_id,
        "role": "member",
        "iat": now,
        "exp": now + 600,
        "jti": "abc",
    }
    claims.update(over)
    return claims


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_login_refresh_logout_cycle(api: ApiClient) -> None:
    alice = api.user()
    bad = api.post("/auth/login", {"email": alice.email, "password": "wrong-password"})
    assert bad.status == 401
    unknown = api.post("/auth/login", {"email": "ghost@example.test", "password": "wrong-password"})
    assert unknown.status == 401
    assert unknown.body["error"]["message"] == bad.body["error"]["message"]
    login = api.post("/auth/login", {"email": alice.email.upper(), "password": alice.password})
    assert login.status == 200
    session = login.body
    assert session["tokenType"] == "Bearer"
    assert session["user"]["id"] == alice.id
    me = api.get("/me", headers={"Authorization": f"Bearer {session['accessToken']}"})
    assert me.status == 200
    rotated = api.post("/auth/refresh", {"refreshToken": session["refreshToken"]})
    assert rotated.status == 200
    assert rotated.body["refreshToken"] != session["refreshToken"]
    assert api.post("/auth/logout", {"refreshToken": rotated.body["refreshToken"]}).status == 204
    assert api.post("/auth/refresh", {"refreshToken": rotated.body["refreshToken"]}).status == 401
    assert api.post("/auth/login", {"email": alice.email}).status == 400


def test_ws_ticket_needs_a_user(api: ApiClient) -> None:
    alice = api.user()
    assert api.post("/auth/ws-ticket").status == 401
    reply = api.post("/auth/ws-ticket", who=alice)
    assert reply.status == 200
    assert reply.body["ticket"]
    assert 0 < reply.body["expiresIn"] <= 60


def test_repeated_login_failures_are_throttled(api: ApiClient) -> None:
    alice = api.user()
    statuses = [
        api.post("/auth/login", {"email": alice.email, "password": "nope-nope"}).status
        for _ in range(8)
    ]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    throttled = api.post("/auth/login", {"email": alice.email, "password": alice.password})
    assert throttled.status == 429
    assert int(throttled.header("Retry-After")) > 0


BAD_TOKENS = [
    pytest.param(lambda uid: None, id="missing"),
    pytest.param(lambda uid: "Basic dXNlcjpwYXNz", id="basic-scheme"),
    pytest.param(lambda uid: "Bearer not.a.jwt", id="garbage"),
    pytest.param(
        lambda uid: (
            "Bearer "
            + _b64({"alg": "none", "typ": "JWT", "kid": "default"})
            + "."
            + _b64(_claims(uid))
            + "."
        ),
        id="alg-none",
    ),
    pytest.param(
        lambda uid: (
            "Bearer "
            + jwt.encode(
                _claims(uid),
                "another-key-0123456789abcdef0123456789",
                algorithm="HS256",
                headers={"kid": "default"},
            )
        ),
        id="wrong-key",
    ),
    pytest.param(
        lambda uid: (
            "Bearer "
            + jwt.encode(
                _claims(uid, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
                SECRET,
                algorithm="HS256",
                headers={"kid": "default"},
            )
        ),
        id="expired",
    ),
    pytest.param(
        lambda uid: (
            "Bearer "
            + jwt.encode(
                _claims(uid, aud="someone-else"),
                SECRET,
                algorithm="HS256",
                headers={"kid": "default"},
            )
        ),
        id="wrong-aud",
    ),
    pytest.param(
        lambda uid: (
            "Bearer "
            + jwt.encode(
                _claims(uid, iss="evil"), SECRET, algorithm="HS256", headers={"kid": "default"}
            )
        ),
        id="wrong-iss",
    ),
    pytest.param(
        lambda uid: (
            "Bearer "
            + jwt.encode(
                _claims(uid, role="member"), SECRET, algorithm="HS512", headers={"kid": "default"}
            )
        ),
        id="other-alg",
    ),
]


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_bad_tokens_are_401_with_the_envelope(api: ApiClient) -> None:
    alice = api.user()
    assert api.get("/me", who=alice).status == 200
    for case in BAD_TOKENS:
        value = case.values[0](alice.id)
        headers = {"Authorization": value} if value else {}
        reply = api.get("/me", headers=headers)
        assert reply.status == 401, case.id
        assert reply.body["error"]["code"], case.id
        assert SECRET not in json.dumps(reply.body)


def test_tampered_payload_is_401(api: ApiClient) -> None:
    alice, admin = api.user(), api.user("admin")
    head, _payload, sig = alice.token.split(".")
    forged = ".".join([head, _b64(_claims(alice.id, role="admin")), sig])
    assert api.get("/users", headers={"Authorization": f"Bearer {forged}"}).status == 401
    assert api.get("/users", who=alice).status == 403
    assert api.get("/users", who=admin).status == 200
