"""The SDK's HTTP behaviour against recorded API answers: credentials and token refresh,
paging, error mapping, and which requests are retried."""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from aion_client import (
    AuthenticationError,
    BadRequest,
    Client,
    ConfigurationError,
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    PreconditionRequired,
    RateLimited,
    ServerError,
    TransportError,
)
from aion_client.settings import LoginStore, StoredLogin

from tests.unit.client.fakes import FakeApi, body_of, recorded, reply

TASK_ID = recorded("task_completed")["body"]["id"]
PROJECT_ID = recorded("task_completed")["body"]["projectId"]


def make_client(api: FakeApi, sleeps: list[float], **kwargs: Any) -> Client:
    return Client(api.base, transport=api.transport, sleep=sleeps.append, **kwargs)


def tokens(access: str, refresh: str, expires_in: int = 900) -> dict[str, Any]:
    return recorded("login", accessToken=access, refreshToken=refresh, expiresIn=expires_in)


# ------------------------------------------------------------------------ credentials


def test_api_key_goes_out_as_a_bearer_token(api: FakeApi, sleeps: list[float]) -> None:
    api.on("GET", "/me", recorded("me"))
    me = make_client(api, sleeps, api_key="aion_k3y").me()
    assert me.email == "admin@aion.local"
    [request] = api.calls("GET", "/me")
    assert request.headers["Authorization"] == "Bearer aion_k3y"
    assert request.headers["User-Agent"].startswith("aion-client/")


def test_settings_come_from_the_environment(
    api: FakeApi, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AION_URL", api.base + "/")
    monkeypatch.setenv("AION_API_KEY", "aion_from_env")
    monkeypatch.setenv("AION_PROJECT", "recorded")
    api.on("GET", "/me", recorded("me"))
    client = Client(transport=api.transport, sleep=sleeps.append)
    client.me()
    assert client.url == api.base
    assert client.project == "recorded"
    assert client.ws_url == "ws://api.test/ws"
    assert api.calls("GET", "/me")[0].headers["Authorization"] == "Bearer aion_from_env"


def test_without_url_or_credentials_the_client_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="AION_URL"):
        Client()
    with pytest.raises(ConfigurationError, match="AION_API_KEY"):
        Client("http://api.test/api")
    with pytest.raises(ConfigurationError, match="http"):
        Client("api.test/api", api_key="k")


def test_password_login_then_refresh_on_401_rotates_the_refresh_token(
    api: FakeApi, sleeps: list[float]
) -> None:
    api.on("POST", "/auth/login", tokens("access-1", "refresh-1"))
    api.on("POST", "/auth/refresh", tokens("access-2", "refresh-2"), tokens("access-3", "r-3"))
    expired = reply(
        401, {"error": {"code": "token_expired", "message": "The access token has expired."}}
    )
    api.on("GET", "/me", recorded("me"), expired, recorded("me"), expired, recorded("me"))
    client = make_client(api, sleeps, email="admin@aion.local", password="pw-secret")

    for _ in range(3):
        assert client.me().id

    logins = api.calls("POST", "/auth/login")
    assert [body_of(r) for r in logins] == [{"email": "admin@aion.local", "password": "pw-secret"}]
    refreshes = [body_of(r)["refreshToken"] for r in api.calls("POST", "/auth/refresh")]
    assert refreshes == ["refresh-1", "refresh-2"]  # each rotation uses the newest token
    sent = [r.headers["Authorization"] for r in api.calls("GET", "/me")]
    assert sent == [
        "Bearer access-1",
        "Bearer access-1",  # 401: refreshed, then sent again
        "Bearer access-2",
        "Bearer access-2",
        "Bearer access-3",
    ]
    assert sleeps == []  # a refresh is not a retry: no backoff


def test_an_access_token_about_to_expire_is_refreshed_before_use(
    api: FakeApi, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    import aion_client.auth

    now = [1_000_000.0]
    monkeypatch.setattr(aion_client.auth, "_now", lambda: now[0])
    api.on("POST", "/auth/login", tokens("access-1", "refresh-1", expires_in=900))
    api.on("POST", "/auth/refresh", tokens("access-2", "refresh-2"))
    api.on("GET", "/me", recorded("me"))
    client = make_client(api, sleeps, email="a@b.c", password="pw")
    client.me()
    now[0] += 880  # 20 s left: inside the margin
    client.me()
    sent = [r.headers["Authorization"] for r in api.calls("GET", "/me")]
    assert sent == ["Bearer access-1", "Bearer access-2"]
    assert len(api.calls("POST", "/auth/refresh")) == 1


def test_stored_login_rotation_is_written_back_with_mode_0600(
    api: FakeApi, sleeps: list[float], clean_env: Path
) -> None:
    api.on("POST", "/auth/login", tokens("access-1", "refresh-1"))
    api.on("POST", "/auth/refresh", tokens("access-2", "refresh-2"))
    expired = reply(401, {"error": {"code": "token_expired", "message": "Expired."}})
    api.on("GET", "/me", expired, recorded("me"))

    client = Client.login(
        api.base, "admin@aion.local", "pw-secret", transport=api.transport, sleep=sleeps.append
    )
    client.me()

    path = clean_env / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(clean_env.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())
    login = saved["logins"][api.base]
    assert login["refresh_token"] == "refresh-2"
    assert login["access_token"] == "access-2"
    assert "pw-secret" not in path.read_text()  # the password is never kept
    assert "refresh-2" not in repr(LoginStore().load(api.base))

    # A new process picks the stored login up, with its still-fresh access token.
    fresh = Client(transport=api.transport, sleep=sleeps.append)
    fresh.me()
    assert api.calls("GET", "/me")[-1].headers["Authorization"] == "Bearer access-2"
    assert len(api.calls("POST", "/auth/refresh")) == 1


def test_a_rotation_made_by_another_process_is_adopted_not_repeated(
    api: FakeApi, sleeps: list[float]
) -> None:
    store = LoginStore()
    store.save(StoredLogin(url=api.base, refresh_token="refresh-1", email="a@b.c"))
    api.on("POST", "/auth/refresh", tokens("access-2", "refresh-2"))
    api.on("GET", "/me", recorded("me"))
    first = Client(transport=api.transport, sleep=sleeps.append)
    second = Client(transport=api.transport, sleep=sleeps.append)  # loaded refresh-1 too
    first.me()
    second.me()
    # Only one refresh: the second client took the stored result instead of reusing refresh-1,
    # which the server would count as theft.
    assert [body_of(r)["refreshToken"] for r in api.calls("POST", "/auth/refresh")] == ["refresh-1"]
    assert {r.headers["Authorization"] for r in api.calls("GET", "/me")} == {"Bearer access-2"}


def test_a_dead_refresh_token_ends_the_stored_login(api: FakeApi, sleeps: list[float]) -> None:
    store = LoginStore()
    store.save(StoredLogin(url=api.base, refresh_token="refresh-old"))
    api.on(
        "POST",
        "/auth/refresh",
        reply(401, {"error": {"code": "unauthorized", "message": "The session has ended."}}),
    )
    client = Client(transport=api.transport, sleep=sleeps.append)
    with pytest.raises(AuthenticationError) as caught:
        client.me()
    assert caught.value.status == 401
    assert store.load(api.base) is None
    assert len(api.calls("POST", "/auth/refresh")) == 1


def test_refresh_is_never_retried(api: FakeApi, sleeps: list[float]) -> None:
    LoginStore().save(StoredLogin(url=api.base, refresh_token="refresh-1"))
    api.on("POST", "/auth/refresh", reply(503, {"error": {"code": "unavailable", "message": "x"}}))
    with pytest.raises(ServerError):
        Client(transport=api.transport, sleep=sleeps.append).me()
    assert len(api.calls("POST", "/auth/refresh")) == 1
    assert LoginStore().load(api.base) is not None  # a fault is not a dead session


def test_a_stored_login_for_another_url_is_not_used(api: FakeApi) -> None:
    LoginStore().save(StoredLogin(url="http://other.test/api", refresh_token="r"))
    with pytest.raises(ConfigurationError, match=re.escape("Not logged in to http://api.test/api")):
        Client(api.base)


def test_logout_revokes_the_session_and_forgets_it(api: FakeApi, sleeps: list[float]) -> None:
    LoginStore().save(StoredLogin(url=api.base, refresh_token="refresh-1"))
    api.on("POST", "/auth/logout", reply(204))
    assert Client(transport=api.transport, sleep=sleeps.append).logout() is True
    assert body_of(api.calls("POST", "/auth/logout")[0]) == {"refreshToken": "refresh-1"}
    assert "Authorization" not in api.calls("POST", "/auth/logout")[0].headers
    assert LoginStore().load(api.base) is None


# ------------------------------------------------------------------------ paging


def test_lists_follow_next_cursor_page_by_page(api: FakeApi, sleeps: list[float]) -> None:
    project = recorded("project_create")["body"]
    pages = [
        reply(200, {"items": [{**project, "id": f"prj_{i:020d}"}], "nextCursor": f"c{i}"})
        for i in range(1, 3)
    ] + [reply(200, {"items": [{**project, "id": "prj_3"}], "nextCursor": None})]
    api.on("GET", "/projects", *pages)
    client = make_client(api, sleeps, api_key="k")

    found = client.projects.list()
    assert api.calls("GET", "/projects") == []  # lazily: nothing fetched yet
    first = next(found)
    assert first.id == "prj_00000000000000000001"
    assert len(api.calls("GET", "/projects")) == 1
    rest = [p.id for p in found]
    assert rest == ["prj_00000000000000000002", "prj_3"]
    queries = [dict(r.url.params) for r in api.calls("GET", "/projects")]
    assert queries == [
        {"limit": "100"},
        {"limit": "100", "cursor": "c1"},
        {"limit": "100", "cursor": "c2"},
    ]


def test_activity_pages_by_after(api: FakeApi, sleeps: list[float]) -> None:
    events = recorded("activity")["body"]["items"]
    api.on(
        "GET",
        f"/tasks/{TASK_ID}/activity",
        reply(200, {"items": events[:2], "nextCursor": "2"}),
        reply(200, {"items": events[2:], "nextCursor": None}),
    )
    seqs = [e.seq for e in make_client(api, sleeps, api_key="k").tasks.activity(TASK_ID)]
    assert seqs == [e["seq"] for e in events]
    afters = [r.url.params.get("after") for r in api.calls("GET", f"/tasks/{TASK_ID}/activity")]
    assert afters == [None, "2"]


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("name", "kind", "status", "code"),
    [
        ("task_not_found", NotFound, 404, "task_not_found"),
        ("patch_stale_version", PreconditionFailed, 412, "version_mismatch"),
        ("patch_without_version", PreconditionRequired, 428, "version_required"),
        ("cancel_finished", Conflict, 409, "invalid_state"),
        ("validation_error", BadRequest, 400, "validation_error"),
        ("unauthorized", AuthenticationError, 401, "unauthorized"),
    ],
)
def test_api_errors_carry_code_status_and_message(
    api: FakeApi, sleeps: list[float], name: str, kind: type, status: int, code: str
) -> None:
    answer = recorded(name)
    api.on("GET", "/tasks/tsk_x", answer)
    with pytest.raises(kind) as caught:
        make_client(api, sleeps, api_key="k").tasks.get("tsk_x")
    error = caught.value
    assert (error.status, error.code) == (status, code)
    assert error.message == answer["body"]["error"]["message"]
    assert error.details == answer["body"]["error"].get("details")
    assert sleeps == []


def test_answers_without_the_envelope_still_make_a_sentence(
    api: FakeApi, sleeps: list[float]
) -> None:
    api.on("GET", "/nope", reply(403, {"message": "Missing Authentication Token"}))
    api.on("GET", "/html", reply(500, "<html>Bad Gateway</html>"))
    client = make_client(api, sleeps, api_key="k")
    with pytest.raises(PermissionDenied) as caught:
        client.http.request("GET", "/nope")
    assert (caught.value.code, str(caught.value)) == ("http_403", "Missing Authentication Token.")
    with pytest.raises(ServerError) as server:
        client.http.request("GET", "/html")
    assert server.value.code == "http_500"
    assert str(server.value) == "Internal Server Error."


# ------------------------------------------------------------------------ retries


def test_create_with_idempotency_key_is_retried_after_503_and_a_lost_answer(
    api: FakeApi, sleeps: list[float]
) -> None:
    api.on(
        "POST",
        "/tasks",
        reply(503, {"error": {"code": "service_unavailable", "message": "Queue down."}}),
        httpx.ReadTimeout("the answer was lost"),
        recorded("task_create"),
    )
    task = make_client(api, sleeps, api_key="k").tasks.create(
        "count the words", project=PROJECT_ID, input="a b c"
    )
    assert task.id == TASK_ID
    attempts = api.calls("POST", "/tasks")
    assert len(attempts) == 3
    keys = {r.headers["Idempotency-Key"] for r in attempts}
    assert len(keys) == 1  # the same key each time: the server makes one task
    assert {r.content for r in attempts} == {attempts[0].content}
    assert body_of(attempts[0]) == {
        "projectId": PROJECT_ID,
        "instruction": "count the words",
        "input": "a b c",
    }
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_a_post_without_idempotency_is_not_retried(api: FakeApi, sleeps: list[float]) -> None:
    api.on(
        "POST",
        f"/tasks/{TASK_ID}/cancel",
        reply(503, {"error": {"code": "service_unavailable", "message": "Busy."}}),
        recorded("task_completed"),
    )
    api.on("POST", f"/tasks/{TASK_ID}/retry", httpx.ReadTimeout("lost"), recorded("task_create"))
    client = make_client(api, sleeps, api_key="k")
    with pytest.raises(ServerError) as caught:
        client.tasks.cancel(TASK_ID)
    assert caught.value.code == "service_unavailable"
    with pytest.raises(TransportError, match="Could not reach the AION API"):
        client.tasks.retry(TASK_ID)
    assert len(api.calls("POST", f"/tasks/{TASK_ID}/cancel")) == 1
    assert len(api.calls("POST", f"/tasks/{TASK_ID}/retry")) == 1
    assert sleeps == []


def test_a_connection_never_opened_is_retried_for_any_method(
    api: FakeApi, sleeps: list[float]
) -> None:
    api.on(
        "POST", f"/tasks/{TASK_ID}/cancel", httpx.ConnectError("refused"), recorded("task_create")
    )
    assert make_client(api, sleeps, api_key="k").tasks.cancel(TASK_ID).id == TASK_ID
    assert len(sleeps) == 1


def test_429_waits_as_long_as_retry_after_says(api: FakeApi, sleeps: list[float]) -> None:
    throttled = reply(
        429,
        {"error": {"code": "throttled", "message": "Slow down.", "details": {"retryAfter": 3}}},
        {"Retry-After": "3"},
    )
    api.on("POST", f"/tasks/{TASK_ID}/cancel", throttled, recorded("task_completed"))
    make_client(api, sleeps, api_key="k").tasks.cancel(TASK_ID)
    assert sleeps == [3.0]


def test_429_with_a_long_retry_after_goes_to_the_caller(api: FakeApi, sleeps: list[float]) -> None:
    api.on(
        "POST",
        "/auth/login",
        reply(
            429,
            {"error": {"code": "throttled", "message": "Too many attempts."}},
            {"Retry-After": "900"},
        ),
    )
    client = make_client(api, sleeps, email="a@b.c", password="wrong")
    with pytest.raises(RateLimited) as caught:
        client.me()
    assert caught.value.retry_after == 900.0
    assert sleeps == []


def test_reads_give_up_after_the_last_retry(api: FakeApi, sleeps: list[float]) -> None:
    api.on("GET", "/router/catalog", httpx.ConnectError("connection refused"))
    with pytest.raises(TransportError) as caught:
        make_client(api, sleeps, api_key="k", max_retries=3).router.catalog()
    assert "http://api.test/api" in str(caught.value)
    assert len(api.calls("GET", "/router/catalog")) == 4
    assert len(sleeps) == 3
    assert all(b > a / 2 for a, b in itertools.pairwise(sleeps))


def test_backoff_is_capped_and_jittered() -> None:
    from aion_client._http import BACKOFF_CAP_S, backoff_delay

    assert backoff_delay(0, rng=lambda: 0.0) == 0.25
    assert backoff_delay(0, rng=lambda: 1.0) == 0.5
    assert backoff_delay(20, rng=lambda: 1.0) == BACKOFF_CAP_S


def test_the_login_file_is_replaced_whole(tmp_path: Path) -> None:
    store = LoginStore(tmp_path / "cfg")
    store.save(StoredLogin(url="http://a.test/api", refresh_token="r1"))
    store.save(StoredLogin(url="http://b.test/api/", refresh_token="r2"))
    assert store.load().url == "http://b.test/api"  # the newest is current
    assert store.load("http://a.test/api").refresh_token == "r1"
    assert sorted(os.listdir(tmp_path / "cfg")) == ["credentials.json", "credentials.lock"]
    assert store.remove("http://b.test/api") is True
    assert store.load().url == "http://a.test/api"
