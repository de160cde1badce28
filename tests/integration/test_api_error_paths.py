"""Error paths each answered with their exact status and code, with nothing half-written:
too many members, a project changed while being deleted, a retry with no dispatch queue, bad
bodies on create/edit/refresh/logout; the health checks' states; no secret from a request's
body or headers in the logs."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import ApiClient, Reply, set_task_fields


def _error(reply: Reply, status: int, code: str) -> None:
    assert (reply.status, reply.error_code) == (status, code), reply.body
    assert reply.body["error"]["message"]


# --- projects --------------------------------------------------------------------------------


def test_a_project_with_the_most_members_takes_no_more(api: ApiClient) -> None:
    from chalicelib.dal.models import Project, ProjectMember
    from chalicelib.logic.projects import MAX_MEMBERS

    owner, newcomer = api.user(), api.user()
    project = api.project(owner)
    full = [owner.id] + [f"usr_member{n:03d}" for n in range(MAX_MEMBERS - 1)]
    Project.get(project["id"]).update(actions=[Project.member_ids.set(full)])
    version = api.get(f"/projects/{project['id']}", who=owner).body["version"]

    reply = api.put(f"/projects/{project['id']}/members/{newcomer.id}", who=owner)

    _error(reply, 409, "too_many_members")
    assert str(MAX_MEMBERS) in reply.body["error"]["message"]
    after = api.get(f"/projects/{project['id']}", who=owner).body
    assert (after["memberIds"], after["version"]) == (full, version)
    assert api.get(f"/projects/{project['id']}", who=newcomer).status == 404
    with pytest.raises(ProjectMember.DoesNotExist):
        ProjectMember.get(newcomer.id, project["id"])


def test_a_project_changed_while_being_deleted_is_409_and_kept(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.dal.models import Project, ProjectMember, ProjectPurge
    from chalicelib.logic import projects

    owner, member = api.user(), api.user()
    project = api.project(owner, member)
    real_require_owner = projects.require_owner

    def renamed_meanwhile(principal: Any, read: Any) -> None:
        # Between the delete's read and its transaction, someone renames the project.
        Project.get(read.id).update(actions=[Project.name.set("Renamed meanwhile")])
        real_require_owner(principal, read)

    monkeypatch.setattr(projects, "require_owner", renamed_meanwhile)
    reply = api.delete(f"/projects/{project['id']}", who=owner)

    _error(reply, 409, "conflict")
    monkeypatch.setattr(projects, "require_owner", real_require_owner)
    kept = api.get(f"/projects/{project['id']}", who=member)
    assert kept.status == 200
    assert kept.body["name"] == "Renamed meanwhile"
    assert sorted(kept.body["memberIds"]) == sorted([owner.id, member.id])
    assert ProjectMember.get(member.id, project["id"]).project_id == project["id"]
    assert list(ProjectPurge.scan()) == []
    # Read again, it goes.
    assert api.delete(f"/projects/{project['id']}", who=owner).status == 204


# --- tasks -----------------------------------------------------------------------------------


def test_retry_without_a_dispatch_queue_is_503_and_leaves_the_task_failed(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import get_settings

    alice = api.user()
    project = api.project(alice)
    task = api.task(alice, project["id"])
    set_task_fields(task["id"], status="failed")
    before = api.get(f"/tasks/{task['id']}", who=alice).body
    events = api.get(f"/tasks/{task['id']}/activity", who=alice).body["items"]
    api.queue_messages()  # the create's dispatch message

    monkeypatch.setenv("AION_DISPATCH_QUEUE_URL", "")
    get_settings.cache_clear()
    reply = api.post(f"/tasks/{task['id']}/retry", who=alice)

    _error(reply, 503, "dispatch_unconfigured")
    after = api.get(f"/tasks/{task['id']}", who=alice).body
    assert (after["status"], after["attempts"], after["version"]) == (
        "failed",
        before["attempts"],
        before["version"],
    )
    assert api.get(f"/tasks/{task['id']}/activity", who=alice).body["items"] == events
    monkeypatch.undo()
    get_settings.cache_clear()
    assert api.queue_messages() == []


# --- bad bodies: 400 in the envelope, naming the field --------------------------------------

BAD_BODIES = [
    # (method, path, body, field named in details; None: the body as a whole)
    ("POST", "/projects", {}, "name"),
    ("POST", "/projects", {"name": ""}, "name"),
    ("POST", "/projects", {"name": "x" * 121}, "name"),
    ("POST", "/projects", {"name": 7}, "name"),
    ("POST", "/projects", {"name": "ok", "owner": "someone"}, "owner"),
    ("POST", "/projects", ["name"], "body"),
    ("PATCH", "/users/{user}", {"role": "root"}, "role"),
    ("PATCH", "/users/{user}", {"name": ""}, "name"),
    ("PATCH", "/users/{user}", {"password": "short"}, "password"),
    ("PATCH", "/users/{user}", {"nickname": "x"}, "nickname"),
    ("POST", "/auth/refresh", {}, "refreshToken"),
    ("POST", "/auth/refresh", {"refreshToken": ""}, "refreshToken"),
    ("POST", "/auth/refresh", {"refreshToken": 42}, "refreshToken"),
    ("POST", "/auth/refresh", {"refreshToken": "r", "extra": 1}, "extra"),
    ("POST", "/auth/logout", {}, "refreshToken"),
    ("POST", "/auth/logout", {"refreshToken": None}, "refreshToken"),
    ("POST", "/auth/logout", "a token", "body"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    BAD_BODIES,
    ids=[f"{m} {p} {json.dumps(b)[:30]}" for m, p, b, _ in BAD_BODIES],
)
def test_bad_bodies_are_400_naming_the_field(
    api: ApiClient, method: str, path: str, body: Any, field: str
) -> None:
    admin, target = api.user("admin"), api.user(name="Target")
    before = api.get("/users?limit=100", who=admin).body["items"]
    reply = api.call(
        method,
        path.format(user=target.id),
        who=admin,
        json_body=body,
        headers={"If-Match": "1"},
    )
    _error(reply, 400, "validation_error")
    fields = [problem["field"] for problem in reply.body["error"]["details"]]
    assert field in fields, fields
    assert api.get("/users?limit=100", who=admin).body["items"] == before
    owned = api.get("/projects", who=admin).body["items"]
    assert owned == []


@pytest.mark.parametrize("path", ["/projects", "/auth/refresh", "/auth/logout"])
def test_malformed_json_is_400(api: ApiClient, path: str) -> None:
    reply = api.post(path, raw=b'{"name": ', who=api.user())
    _error(reply, 400, "malformed_json")


def test_malformed_json_on_a_user_edit_is_400(api: ApiClient) -> None:
    admin, target = api.user("admin"), api.user()
    reply = api.patch(f"/users/{target.id}", raw=b"{nope", who=admin, headers={"If-Match": "1"})
    _error(reply, 400, "malformed_json")


# --- health ----------------------------------------------------------------------------------


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes that the settings and the executor client pick up at once."""
    from chalicelib.config import get_settings
    from chalicelib.executor_client import reset_executor_client

    get_settings.cache_clear()
    reset_executor_client()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_executor_client()


@pytest.fixture(scope="module")
def running_executor() -> Iterator[int]:
    """A real executor on a free 127.0.0.1 port, with the bridge token the API uses (started
    as every in-process executor is, so the process's one forkserver knows the test modules
    whichever test starts it first)."""
    from tests.integration.executor_support import in_process_executor

    with in_process_executor(
        workers=1,
        test_modules=False,
        bridge_token=os.environ["AION_BRIDGE_TOKEN"],
        files_bucket="aion-test-files",
    ) as running:
        yield running.port


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:  # bound, then closed: nobody listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_health_with_a_serving_executor_is_ok(
    api: ApiClient, settings_env: pytest.MonkeyPatch, running_executor: int
) -> None:
    settings_env.setenv("AION_EXECUTOR_TARGET", f"127.0.0.1:{running_executor}")
    reply = api.get("/health")
    assert reply.status == 200
    assert reply.body["checks"] == {"dynamodb": "ok", "executor": "ok", "queue": "ok"}
    assert reply.body["status"] == "ok"


def test_health_with_an_unreachable_executor_is_degraded(
    api: ApiClient, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("AION_EXECUTOR_TARGET", f"127.0.0.1:{_closed_port()}")
    reply = api.get("/health")
    assert reply.status == 200
    assert reply.body["checks"] == {"dynamodb": "ok", "executor": "error", "queue": "ok"}
    assert reply.body["status"] == "degraded"


def test_health_with_no_queue_configured_says_so(
    api: ApiClient, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("AION_DISPATCH_QUEUE_URL", "")
    reply = api.get("/health")
    assert reply.body["checks"] == {
        "dynamodb": "ok",
        "executor": "unconfigured",
        "queue": "unconfigured",
    }
    assert reply.body["status"] == "ok"


def test_health_with_a_missing_queue_is_degraded(
    api: ApiClient, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv(
        "AION_DISPATCH_QUEUE_URL", api.queue_url.rsplit("/", 1)[0] + "/no-such-queue"
    )
    reply = api.get("/health")
    assert reply.status == 200
    assert reply.body["checks"]["queue"] == "error"
    assert reply.body["status"] == "degraded"


# --- nothing of a request's body or headers in the logs -------------------------------------


def test_no_body_or_header_secret_is_ever_logged(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capfd
) -> None:
    """A login (right and wrong password), a refresh, a task created and one that fails with
    an unexpected error, all carrying secrets in their bodies and headers, with AION's own
    loggers at their most verbose: none of those secrets is in any log line."""
    from chalicelib.http import observability

    alice = api.user()
    project = api.project(alice)
    secrets = {
        "password": alice.password,
        "wrong password": "Wrong-Passw0rd-in-body-7e1c",
        "header": "hdr-secret-9b2f4d",
        "idempotency key": "idem-secret-41aa0e",
        "instruction": "instruction-secret-5d3c77",
        "input": "input-secret-c0ffee",
        "bearer token": alice.token,
    }
    app_logger = observability.logger()
    previous_level = app_logger.log_level
    app_logger.setLevel(logging.DEBUG)
    try:
        logged = _requests_with_secrets(api, alice, project, secrets, monkeypatch, caplog, capfd)
    finally:
        app_logger.setLevel(previous_level)
    # The logs did record the requests (so the check below looks at real lines).
    assert "unhandled error" in logged
    leaked = [name for name, value in secrets.items() if value in logged]
    assert leaked == [], f"secrets in the logs: {leaked}"


def _requests_with_secrets(
    api: ApiClient,
    alice: Any,
    project: dict[str, Any],
    secrets: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: Any,
) -> str:
    """Make the requests; returns everything logged meanwhile."""
    from chalicelib.http import observability
    from chalicelib.logic import tasks

    app_logger = observability.logger()
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    caplog.set_level(logging.DEBUG, logger=app_logger.name)
    header = {"X-Debug-Note": secrets["header"]}

    wrong = api.post(
        "/auth/login", {"email": alice.email, "password": secrets["wrong password"]}, headers=header
    )
    assert wrong.status == 401
    login = api.post(
        "/auth/login", {"email": alice.email, "password": alice.password}, headers=header
    )
    assert login.status == 200
    secrets["access token"] = login.body["accessToken"]
    secrets["refresh token"] = login.body["refreshToken"]
    refreshed = api.post("/auth/refresh", {"refreshToken": login.body["refreshToken"]})
    assert refreshed.status == 200
    body = {
        "projectId": project["id"],
        "instruction": secrets["instruction"],
        "input": secrets["input"],
    }
    created = api.post(
        "/tasks",
        body,
        who=alice,
        headers={**header, "Idempotency-Key": secrets["idempotency key"]},
    )
    assert created.status == 202

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is down")

    monkeypatch.setattr(tasks, "create_task", broken)
    failed = api.post("/tasks", body, who=alice, headers=header)
    assert failed.status == 500
    assert failed.body == {"error": {"code": "internal_error", "message": "Internal server error."}}

    captured = capfd.readouterr()
    return "\n".join(
        [captured.out, captured.err]
        + [record.getMessage() for record in caplog.records]
        + [record.exc_text or "" for record in caplog.records]
    )
