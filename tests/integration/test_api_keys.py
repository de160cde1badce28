"""API keys over HTTP: the key works wherever an access token does, with the user's current
rights, except what would let a leaked key entrench itself (manage keys or users, change a
password or role: 403). Revocation, expiry and disabling the user take effect at once; the key
text appears in the creation answer and nowhere else (responses, errors, logs)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.dal.auth_models import ApiKey
from chalicelib.logic import connections, websocket
from tests.integration.conftest import ApiClient, Reply, Who
from tests.unit.realtime_fakes import RecordingManagementClient


@pytest.fixture
def mgmt(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingManagementClient]:
    client = RecordingManagementClient()
    monkeypatch.setattr(connections, "_client", client)
    yield client
    monkeypatch.undo()
    connections.reset_management_client()


def _new_key(api: ApiClient, who: Who, **body: Any) -> dict[str, Any]:
    reply = api.post("/api-keys", {"name": "script", **body}, who=who)
    assert reply.status == 201, reply.body
    return reply.body


def _as_key(who: Who, key: str) -> Who:
    """The same user, presenting an API key instead of an access token."""
    return Who(who.id, who.email, who.password, who.role, key)


def test_create_list_revoke_and_the_key_shown_once(api: ApiClient) -> None:
    ada = api.user()
    created = _new_key(api, ada, expiresAt="2099-01-01T00:00:00Z")
    assert set(created) == {"id", "name", "prefix", "key", "createdAt", "expiresAt", "lastUsedAt"}
    assert created["key"].startswith(created["prefix"] + "_")
    assert created["expiresAt"] == "2099-01-01T00:00:00.000Z"
    listed = api.get("/api-keys", who=ada)
    assert listed.status == 200
    assert listed.body["nextCursor"] is None
    assert [k["id"] for k in listed.body["items"]] == [created["id"]]
    assert created["key"] not in json.dumps(listed.body)
    assert "key" not in listed.body["items"][0]
    assert api.delete(f"/api-keys/{created['id']}", who=ada).status == 204
    assert api.get("/api-keys", who=ada).body["items"] == []
    gone = api.delete(f"/api-keys/{created['id']}", who=ada)
    assert (gone.status, gone.error_code) == (404, "api_key_not_found")


def test_bad_input_is_a_400(api: ApiClient) -> None:
    ada = api.user()
    for body in (
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "n", "expiresAt": "not a date"},
        {"name": "n", "expiresAt": "2001-01-01T00:00:00Z"},
        {"name": "n", "key": "aion_chosen_by_me"},
    ):
        reply = api.post("/api-keys", body, who=ada)
        assert reply.status == 400, (body, reply.body)
    assert api.get("/api-keys?limit=0", who=ada).status == 400


def test_a_key_works_wherever_an_access_token_does(api: ApiClient) -> None:
    ada = api.user()
    via_key = _as_key(ada, _new_key(api, ada)["key"])
    me = api.get("/me", who=via_key)
    assert (me.status, me.body["id"]) == (200, ada.id)
    project = api.post("/projects", {"name": "Scripts"}, who=via_key)
    assert project.status == 201
    task = api.post(
        "/tasks",
        {"projectId": project.body["id"], "instruction": "count the words", "input": "a b c"},
        who=via_key,
    )
    assert task.status == 202, task.body
    assert api.get(f"/tasks/{task.body['id']}", who=via_key).status == 200
    assert (
        api.post("/router/explain", {"instruction": "count the words"}, who=via_key).status == 200
    )
    ticket = api.post("/auth/ws-ticket", who=via_key)
    assert ticket.status == 200
    principal = websocket.connect("ws-key", ticket.body["ticket"])
    assert (principal.user_id, principal.role) == (ada.id, "member")
    listed = api.get("/api-keys", who=ada).body["items"]
    assert listed[0]["lastUsedAt"] is not None


FORBIDDEN_TO_KEYS = {
    ("POST", "/api-keys"),
    ("GET", "/api-keys"),
    ("DELETE", "/api-keys/{key_id}"),
    ("POST", "/users"),
    ("GET", "/users"),
    ("PATCH", "/users/{user_id}"),
}


def test_exactly_key_and_user_management_is_refused_to_keys() -> None:
    import app  # noqa: F401 - registers every blueprint's routes
    from chalicelib.api.rest import ROUTES

    assert {(s.method, s.path) for s in ROUTES if not s.api_key} == FORBIDDEN_TO_KEYS


def test_a_key_cannot_entrench_itself(api: ApiClient) -> None:
    """The four forbidden things, with an admin's key: manage keys, manage users, change one's
    password, change one's role. Each is 403 api_key_not_allowed, and nothing changed."""
    admin = api.user("admin")
    created = _new_key(api, admin)
    via_key = _as_key(admin, created["key"])
    attempts = [
        ("POST", "/api-keys", {"name": "another"}, {}),
        ("GET", "/api-keys", None, {}),
        ("DELETE", f"/api-keys/{created['id']}", None, {}),
        ("POST", "/users", {"email": "x@example.test", "name": "X", "password": "long-pass-1"}, {}),
        ("GET", "/users", None, {}),
        ("PATCH", f"/users/{admin.id}", {"password": "a-new-password"}, {"If-Match": "1"}),
        ("PATCH", f"/users/{admin.id}", {"role": "member"}, {"If-Match": "1"}),
        ("PATCH", f"/users/{api.user().id}", {"disabled": True}, {"If-Match": "1"}),
    ]
    for method, path, body, headers in attempts:
        reply = api.call(method, path, who=via_key, json_body=body, headers=headers)
        assert (reply.status, reply.error_code) == (403, "api_key_not_allowed"), (method, path)
        assert "sign in" in reply.body["error"]["message"]
    assert api.get("/api-keys", who=admin).body["items"][0]["id"] == created["id"]
    assert api.get("/me", who=admin).body["role"] == "admin"
    assert api.post("/auth/login", {"email": admin.email, "password": admin.password}).status == 200


def test_every_other_route_accepts_a_key(api: ApiClient) -> None:
    """No route but the forbidden ones refuses a key as a credential (whatever else it says)."""
    import app  # noqa: F401
    from chalicelib.api.rest import ROUTES
    from chalicelib.http.routes import AUTH_BRIDGE, AUTH_NONE

    admin = api.user("admin")
    via_key = _as_key(admin, _new_key(api, admin)["key"])
    for spec in ROUTES:
        if spec.auth in (AUTH_NONE, AUTH_BRIDGE) or (spec.method, spec.path) in FORBIDDEN_TO_KEYS:
            continue
        path = spec.path.replace("{", "").replace("}", "")  # ids that do not exist: 404 is fine
        reply = api.call(spec.method, path, who=via_key, json_body={})
        assert reply.status not in (401, 403), (spec.method, spec.path, reply.body)


def test_revocation_takes_effect_at_once_and_the_error_never_quotes_the_key(
    api: ApiClient,
) -> None:
    ada = api.user()
    created = _new_key(api, ada)
    via_key = _as_key(ada, created["key"])
    assert api.get("/me", who=via_key).status == 200
    assert api.delete(f"/api-keys/{created['id']}", who=ada).status == 204
    refused = api.get("/me", who=via_key)
    assert (refused.status, refused.error_code) == (401, "invalid_api_key")
    assert refused.header("WWW-Authenticate").startswith("Bearer")
    assert created["key"] not in json.dumps(refused.body)
    secret = created["key"].rsplit("_", 1)[1]
    assert secret not in json.dumps(refused.body)


def test_an_expired_key_is_refused(api: ApiClient) -> None:
    ada = api.user()
    created = _new_key(api, ada, expiresAt="2099-01-01T00:00:00Z")
    ApiKey(created["id"]).update(actions=[ApiKey.expires_at.set("2020-01-01T00:00:00.000Z")])
    reply = api.get("/me", who=_as_key(ada, created["key"]))
    assert (reply.status, reply.error_code) == (401, "api_key_expired")


def test_another_users_key_ids_are_404(api: ApiClient) -> None:
    ada, bo, admin = api.user(), api.user(), api.user("admin")
    created = _new_key(api, ada)
    for who in (bo, admin):
        reply = api.delete(f"/api-keys/{created['id']}", who=who)
        assert (reply.status, reply.error_code) == (404, "api_key_not_found")
        assert created["id"] not in json.dumps(api.get("/api-keys", who=who).body)
    assert api.get("/me", who=_as_key(ada, created["key"])).status == 200


def _patch_user(api: ApiClient, admin: Who, user_id: str, body: dict[str, Any]) -> Reply:
    version = api.get("/users?limit=100", who=admin).body["items"]
    current = next(u["version"] for u in version if u["id"] == user_id)
    return api.patch(f"/users/{user_id}", body, who=admin, headers={"If-Match": str(current)})


def test_disabling_a_user_ends_everything_they_hold_and_re_enabling_lets_them_in(
    api: ApiClient, mgmt: RecordingManagementClient
) -> None:
    admin, bo = api.user("admin"), api.user()
    created = _new_key(api, bo)
    session = api.post("/auth/login", {"email": bo.email, "password": bo.password}).body
    ticket = api.post("/auth/ws-ticket", who=bo).body["ticket"]
    websocket.connect("ws-bo", bo.token)
    disabled = _patch_user(api, admin, bo.id, {"disabled": True})
    assert disabled.status == 200, disabled.body
    assert disabled.body["disabled"] is True
    assert mgmt.deleted == ["ws-bo"]  # the open socket, closed at once
    checks = {
        "access token": api.get("/me", who=bo),
        "API key": api.get("/me", who=_as_key(bo, created["key"])),
        "refresh": api.post("/auth/refresh", {"refreshToken": session["refreshToken"]}),
    }
    for name, reply in checks.items():
        assert reply.status == 401, name
    assert checks["access token"].error_code == "account_disabled"
    from chalicelib.errors import Unauthorized

    with pytest.raises(Unauthorized):
        websocket.connect("ws-bo-2", ticket)
    login = api.post("/auth/login", {"email": bo.email, "password": bo.password})
    assert (login.status, login.error_code) == (403, "account_disabled")
    wrong = api.post("/auth/login", {"email": bo.email, "password": "not-the-password"})
    assert (wrong.status, wrong.error_code) == (401, "invalid_credentials")
    assert list(ApiKey.by_user.query(bo.id)) == []  # the keys are gone, not just refused

    enabled = _patch_user(api, admin, bo.id, {"disabled": False})
    assert (enabled.status, enabled.body["disabled"]) == (200, False)
    again = api.post("/auth/login", {"email": bo.email, "password": bo.password})
    assert again.status == 200
    assert api.get("/me", headers={"Authorization": f"Bearer {again.body['accessToken']}"}).status
    assert api.get("/me", who=_as_key(bo, created["key"])).status == 401  # keys stay revoked


def test_an_admin_cannot_disable_themselves(api: ApiClient) -> None:
    admin = api.user("admin")
    reply = _patch_user(api, admin, admin.id, {"disabled": True})
    assert (reply.status, reply.error_code) == (409, "cannot_disable_self")
    assert api.get("/me", who=admin).body["disabled"] is False


def test_a_demoted_admins_token_loses_admin_rights_at_once(api: ApiClient) -> None:
    """Issue 16: the demoted admin's access token kept admin rights until it expired."""
    boss, demoted, outsider = api.user("admin"), api.user("admin"), api.user()
    foreign = api.project(outsider, name="Not theirs")
    assert api.get("/users", who=demoted).status == 200
    assert api.get(f"/projects/{foreign['id']}", who=demoted).status == 200
    assert _patch_user(api, boss, demoted.id, {"role": "member"}).status == 200
    # The same token (it still says "admin" and has not expired):
    refused = api.get("/users", who=demoted)
    assert (refused.status, refused.error_code) == (403, "forbidden")
    assert api.get(f"/projects/{foreign['id']}", who=demoted).status == 404
    assert api.patch(f"/users/{outsider.id}", {"role": "admin"}, who=demoted).status == 403
    # And promoted again: at once too.
    assert _patch_user(api, boss, demoted.id, {"role": "admin"}).status == 200
    assert api.get("/users", who=demoted).status == 200


def test_a_demoted_admins_key_follows_the_role(api: ApiClient) -> None:
    boss, admin, outsider = api.user("admin"), api.user("admin"), api.user()
    foreign = api.project(outsider, name="Not theirs")
    via_key = _as_key(admin, _new_key(api, admin)["key"])
    assert api.get(f"/projects/{foreign['id']}", who=via_key).status == 200
    assert _patch_user(api, boss, admin.id, {"role": "member"}).status == 200
    assert api.get(f"/projects/{foreign['id']}", who=via_key).status == 404


def test_keys_never_appear_in_logs(
    api: ApiClient, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Create, use (REST, a failing request, a ticket) and revoke with every logger at DEBUG
    (botocore's request dumps included): the key and its secret are in no log line."""
    from chalicelib.http.observability import logger as powertools_logger

    powertools = powertools_logger()
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(powertools.registered_formatter)
    powertools.addHandler(handler)
    previous = powertools.log_level
    powertools.setLevel("DEBUG")
    caplog.set_level(logging.DEBUG)
    try:
        ada = api.user()
        created = _new_key(api, ada)
        via_key = _as_key(ada, created["key"])
        assert api.get("/me", who=via_key).status == 200
        api.post("/projects", {"name": "Logged"}, who=via_key)
        assert api.get("/tasks/tsk_missing", who=via_key).status == 404
        assert api.post("/api-keys", {"name": "no"}, who=via_key).status == 403
        assert api.post("/auth/ws-ticket", who=via_key).status == 200
        assert api.delete(f"/api-keys/{created['id']}", who=ada).status == 204
        assert api.get("/me", who=via_key).status == 401
        powertools.info("request finished")  # the capture works
    finally:
        powertools.removeHandler(handler)
        powertools.setLevel(previous)
    captured = capfd.readouterr()
    logged = "\n".join(
        [lines.getvalue(), caplog.text, captured.out, captured.err]
        + [str(r.__dict__) for r in caplog.records]
    )
    assert "request finished" in lines.getvalue()
    assert "PutItem" in caplog.text or "put_item" in caplog.text.lower()  # botocore at DEBUG
    secret = created["key"].rsplit("_", 1)[1]
    assert created["key"] not in logged
    assert secret not in logged


def test_login_is_throttled_by_account_and_source_over_http(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: five wrong passwords from anywhere locked the account, admin included, for
    the right password too. The source is API Gateway's requestContext.identity.sourceIp."""
    from chalice.local import LambdaEventConverter

    admin = api.user("admin")

    def from_address(address: str, password: str) -> Reply:
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)
        return api.post("/auth/login", {"email": admin.email, "password": password})

    statuses = [from_address("203.0.113.9", "wrong-password").status for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert from_address("203.0.113.9", admin.password).status == 429  # the guesser stays out
    home = from_address("198.51.100.7", admin.password)
    assert home.status == 200, home.body
    assert home.body["user"]["role"] == "admin"
