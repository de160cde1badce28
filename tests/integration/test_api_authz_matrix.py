"""Authorization matrix: every REST endpoint x every kind of caller x own/other's object.

Callers: anonymous, the project OWNER (A), a MEMBER of A's project, an OUTSIDER (B, who owns
other things but not this project) and an ADMIN. Each cell runs against fresh objects, so
mutating calls do not influence each other. Others' objects are 404, never 403; 403 is only
for role (admin) and owner-only actions that a member can already see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from tests.integration.conftest import BUCKET, ApiClient, Who, set_task_fields

CALLERS = ("anon", "owner", "member", "outsider", "admin")


@dataclass
class World:
    project: str
    task: str
    file: str
    project_file: str  # uploaded to the project, no task yet
    target_user: str  # a user for admin user edits
    extra_user: str  # someone to add or remove as a member
    project_version: int = 0
    task_version: int = 0
    target_version: int = 1
    api_key: str = ""  # the id of one of the owner's API keys


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # formatted with the World's fields
    expected: tuple[int, int, int, int, int]  # in CALLERS order
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    setup: str = ""  # "failed" or "needs_review" task, "uploaded" file, "extra_member"
    mutates: bool = False  # a success changes the world: the next cell gets a fresh one


CASES: list[Case] = [
    Case("GET", "/health", (200, 200, 200, 200, 200)),
    Case("GET", "/health/ready", (200, 200, 200, 200, 200)),
    Case("GET", "/openapi.json", (200, 200, 200, 200, 200)),
    Case("POST", "/auth/ws-ticket", (401, 200, 200, 200, 200)),
    Case("GET", "/me", (401, 200, 200, 200, 200)),
    Case(
        "POST",
        "/users",
        (401, 403, 403, 403, 201),
        body={"email": "fresh-{project}@example.test", "name": "N", "password": "long-enough-pw"},
    ),
    Case("GET", "/users", (401, 403, 403, 403, 200)),
    Case(
        "PATCH",
        "/users/{target_user}",
        (401, 403, 403, 403, 200),
        body={"name": "Renamed"},
        headers=(("If-Match", "{target_version}"),),
        mutates=True,
    ),
    Case("POST", "/api-keys", (401, 201, 201, 201, 201), body={"name": "ci"}),
    Case("GET", "/api-keys", (401, 200, 200, 200, 200)),
    # Only the owner's own keys: others' ids are 404, for an admin too.
    Case("DELETE", "/api-keys/{api_key}", (401, 204, 404, 404, 404), mutates=True),
    Case("POST", "/projects", (401, 201, 201, 201, 201), body={"name": "Mine"}),
    Case("GET", "/projects", (401, 200, 200, 200, 200)),
    Case("GET", "/projects/{project}", (401, 200, 200, 404, 200)),
    Case(
        "PATCH",
        "/projects/{project}",
        (401, 200, 200, 404, 200),
        body={"name": "Renamed"},
        headers=(("If-Match", "{project_version}"),),
        mutates=True,
    ),
    Case("DELETE", "/projects/{project}", (401, 204, 403, 404, 204), mutates=True),
    Case("PUT", "/projects/{project}/members/{extra_user}", (401, 200, 403, 404, 200)),
    Case(
        "DELETE",
        "/projects/{project}/members/{extra_user}",
        (401, 200, 403, 404, 200),
        setup="extra_member",
        mutates=True,
    ),
    Case(
        "POST",
        "/tasks",
        (401, 202, 202, 404, 202),
        body={"projectId": "{project}", "instruction": "count"},
    ),
    Case(
        "POST",
        "/task",
        (401, 202, 202, 404, 202),
        body={"projectId": "{project}", "instruction": "count"},
    ),
    Case("GET", "/tasks?projectId={project}", (401, 200, 200, 404, 200)),
    Case("GET", "/tasks", (401, 200, 200, 200, 200)),
    Case("GET", "/tasks/{task}", (401, 200, 200, 404, 200)),
    Case(
        "PATCH",
        "/tasks/{task}",
        (401, 200, 200, 404, 200),
        body={"title": "Renamed"},
        headers=(("If-Match", "{task_version}"),),
        mutates=True,
    ),
    Case("DELETE", "/tasks/{task}", (401, 204, 204, 404, 204), mutates=True),
    Case("POST", "/tasks/{task}/cancel", (401, 200, 200, 404, 200), mutates=True),
    Case("POST", "/tasks/{task}/retry", (401, 202, 202, 404, 202), setup="failed", mutates=True),
    # Per task: an outsider's result for the task is not_found (tests/integration/
    # test_api_task_bulk.py), the request itself succeeds.
    Case(
        "POST",
        "/tasks/bulk",
        (401, 200, 200, 200, 200),
        body={"action": "cancel", "taskIds": ["{task}"]},
        mutates=True,
    ),
    Case("GET", "/tasks/{task}/activity", (401, 200, 200, 404, 200)),
    Case(
        "POST",
        "/tasks/{task}/files",
        (401, 201, 201, 404, 201),
        body={"filename": "a.txt", "contentType": "text/plain", "size": 3},
    ),
    Case("GET", "/tasks/{task}/files", (401, 200, 200, 404, 200)),
    Case(
        "POST",
        "/projects/{project}/files",
        (401, 201, 201, 404, 201),
        body={"filename": "a.txt", "contentType": "text/plain", "size": 3},
    ),
    Case("GET", "/files/{project_file}", (401, 200, 200, 404, 200)),
    Case(
        "POST",
        "/files/{project_file}/complete",
        (401, 200, 200, 404, 200),
        setup="uploaded",
        mutates=True,
    ),
    Case("GET", "/files/{file}", (401, 200, 200, 404, 200)),
    Case(
        "POST",
        "/files/{file}/complete",
        (401, 200, 200, 404, 200),
        setup="uploaded",
        mutates=True,
    ),
    Case("GET", "/stats?projectId={project}", (401, 200, 200, 404, 200)),
    # The router reads no one's objects: any signed-in caller, never anonymous.
    Case("GET", "/router/catalog", (401, 200, 200, 200, 200)),
    Case(
        "POST",
        "/router/explain",
        (401, 200, 200, 200, 200),
        body={"instruction": "count the words", "input": "one two three"},
    ),
    # Only the bridge token opens the internal route (test_internal_route_takes_the_bridge_token):
    # a user's bearer token, even an admin's, is no credential there.
    Case(
        "POST",
        "/internal/telemetry",
        (401, 401, 401, 401, 401),
        body={"taskId": "{task}", "kind": "log", "message": "from a worker"},
    ),
    Case("GET", "/reviews", (401, 200, 200, 200, 200)),
    Case("GET", "/reviews?projectId={project}", (401, 200, 200, 404, 200)),
    Case(
        "POST",
        "/tasks/{task}/review",
        (401, 200, 200, 404, 200),
        body={"action": "reject", "reason": "Not for us."},
        setup="needs_review",
        mutates=True,
    ),
]
# Anonymous by design: their answers do not depend on the caller (tested in test_api_auth).
CALLER_INDEPENDENT = {
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    # The API reference page and its files: public, the same for every caller.
    ("GET", "/docs"),
    ("GET", "/docs/{name}"),
}


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, str):
        return value.format(**world.__dict__)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def _world(api: ApiClient, owner: Who, member: Who, target: Who, case: Case) -> World:
    """Fresh objects for one cell, made through the logic layer (fast, no HTTP)."""
    from chalicelib.auth.principal import Principal
    from chalicelib.dal.models import User
    from chalicelib.logic import api_keys, files, projects, tasks
    from chalicelib.models.api_keys import ApiKeyCreate
    from chalicelib.models.files import FileCreate
    from chalicelib.models.projects import ProjectCreate
    from chalicelib.models.tasks import TaskCreate

    me = Principal(owner.id, "member")
    project = projects.create_project(me, ProjectCreate(name="A's"))
    project = projects.add_member(me, project.id, member.id)
    extra = target
    if case.setup == "extra_member":
        project = projects.add_member(me, project.id, extra.id)
    task, _ = tasks.create_task(me, TaskCreate(project_id=project.id, instruction="count"))
    upload = files.create_upload(
        me, task.id, FileCreate(filename="a.txt", content_type="text/plain", size=3)
    )
    project_upload = files.create_project_upload(
        me, project.id, FileCreate(filename="b.txt", content_type="text/plain", size=3)
    )
    if case.setup in ("failed", "needs_review"):
        set_task_fields(task.id, status=case.setup)
    if case.setup == "uploaded":
        for form in (upload, project_upload):
            boto3.client("s3", region_name="us-east-1").put_object(
                Bucket=BUCKET, Key=form.upload.fields["key"], Body=b"abc", ContentType="text/plain"
            )
    return World(
        project.id,
        task.id,
        upload.file.id,
        project_upload.file.id,
        target.id,
        extra.id,
        project_version=project.version,
        task_version=task.version,
        target_version=User.get(target.id).version,
        api_key=(
            api_keys.create_key(me, ApiKeyCreate(name="owner's")).id
            if "{api_key}" in case.path
            else ""
        ),
    )


def test_every_endpoint_is_in_the_matrix() -> None:
    import app  # noqa: F401 - registers every blueprint's routes
    from chalicelib.api.rest import ROUTES

    served = {(s.method, s.path) for s in ROUTES}
    covered = {(c.method, c.path.split("?")[0]) for c in CASES} | CALLER_INDEPENDENT
    templated = {
        (
            m,
            p.replace("{project}", "{project_id}")
            .replace("{task}", "{task_id}")
            .replace("{file}", "{file_id}")
            .replace("{project_file}", "{file_id}")
            .replace("{target_user}", "{user_id}")
            .replace("{extra_user}", "{user_id}")
            .replace("{api_key}", "{key_id}"),
        )
        for m, p in covered
    }
    assert served - templated == set(), "add the new endpoint to CASES"


def test_authorization_matrix(api: ApiClient) -> None:
    owner, member, outsider, admin = api.user(), api.user(), api.user(), api.user("admin")
    api.project(outsider, name="B's own")  # B owns things too: they just are not A's
    callers: dict[str, Who | None] = {
        "anon": None,
        "owner": owner,
        "member": member,
        "outsider": outsider,
        "admin": admin,
    }
    target = api.user()
    mismatches = []
    for case in CASES:
        world = _world(api, owner, member, target, case)
        for index, caller in enumerate(CALLERS):
            reply = api.call(
                case.method,
                _fill(case.path, world),
                who=callers[caller],
                json_body=_fill(case.body, world),
                headers={k: _fill(v, world) for k, v in case.headers},
            )
            expected = case.expected[index]
            if reply.status != expected:
                mismatches.append(
                    f"{case.method} {case.path} as {caller}: {reply.status} != {expected} "
                    f"({reply.error_code})"
                )
            if reply.status == 404:
                assert (reply.error_code or "").endswith("not_found")
            if reply.status == 401:
                assert reply.error_code == "unauthorized", (case.path, reply.body)
            if case.mutates and reply.status < 300:
                world = _world(api, owner, member, target, case)
    assert mismatches == []


def test_internal_route_takes_the_bridge_token(api: ApiClient) -> None:
    """The bridge token (and only it) lets an external worker add an event to a task."""
    import os

    owner = api.user()
    project = api.project(owner)
    task = api.task(owner, project["id"])
    body = {"taskId": task["id"], "kind": "progress", "message": "half way", "progress": 0.5}
    for token in ("", "wrong-bridge-token", os.environ["AION_BRIDGE_TOKEN"] + "x"):
        refused = api.post("/internal/telemetry", body, headers={"X-Bridge-Token": token})
        assert (refused.status, refused.error_code) == (401, "unauthorized")
    accepted = api.post(
        "/internal/telemetry", body, headers={"X-Bridge-Token": os.environ["AION_BRIDGE_TOKEN"]}
    )
    assert accepted.status == 202, accepted.body
    assert (accepted.body["kind"], accepted.body["message"]) == ("progress", "half way")
    events = api.get(f"/tasks/{task['id']}/activity", who=owner).body["items"]
    assert events[-1]["seq"] == accepted.body["seq"]
    assert [e["message"] for e in events].count("half way") == 1
