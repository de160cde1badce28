"""The SDK's resource methods send what the API expects and read what it answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from aion_client import Client, ConfigurationError, Conflict, NotFound, Task
from aion_client.errors import ApiError

from tests.unit.client.fakes import FakeApi, body_of, recorded, reply

TASK = recorded("task_completed")["body"]
PROJECT = recorded("project_create")["body"]


@pytest.fixture
def client(api: FakeApi, sleeps: list[float]) -> Client:
    return Client(api.base, api_key="k", transport=api.transport, sleep=sleeps.append)


def project_named(name: str, number: int) -> dict[str, Any]:
    return {**PROJECT, "id": f"prj_{number:020x}", "name": name}


def test_models_keep_fields_they_do_not_know(client: Client, api: FakeApi) -> None:
    api.on("GET", "/tasks/tsk_1", reply(200, {**TASK, "id": "tsk_1", "shinyNewField": [1, 2]}))
    task = client.tasks.get("tsk_1")
    assert task.model_extra == {"shinyNewField": [1, 2]}
    assert task.to_api()["shinyNewField"] == [1, 2]
    assert task.to_api()["projectId"] == TASK["projectId"]
    assert task.route is not None
    assert task.route.module == "text.stats"
    assert task.is_terminal
    assert task.is_finished


def test_update_sends_the_version_read_as_if_match(client: Client, api: FakeApi) -> None:
    api.on("PATCH", f"/tasks/{TASK['id']}", reply(200, {**TASK, "version": TASK["version"] + 1}))
    task = Task.model_validate(TASK)
    updated = client.tasks.update(task, title="Renamed", assignee_id="usr_2")
    assert updated.version == TASK["version"] + 1
    [request] = api.calls("PATCH", f"/tasks/{TASK['id']}")
    assert request.headers["If-Match"] == str(TASK["version"])
    assert body_of(request) == {"title": "Renamed", "assigneeId": "usr_2"}
    with pytest.raises(ValueError, match="version"):
        client.tasks.update(TASK["id"], title="x")
    with pytest.raises(ValueError, match="status"):
        client.tasks.update(task, status="completed")


def test_projects_resolve_by_name_then_case_insensitively(client: Client, api: FakeApi) -> None:
    api.on(
        "GET",
        "/projects",
        reply(
            200,
            {
                "items": [
                    project_named("Reports", 1),
                    project_named("dup", 2),
                    project_named("dup", 3),
                ],
                "nextCursor": None,
            },
        ),
    )
    assert client.projects.resolve("Reports").id == "prj_" + "1".zfill(20)
    assert client.projects.resolve("reports").name == "Reports"
    with pytest.raises(Conflict, match="Several projects are named 'dup'"):
        client.projects.resolve("dup")
    with pytest.raises(NotFound) as missing:
        client.projects.resolve("nope")
    assert missing.value.code == "project_not_found"


def test_the_default_project(api: FakeApi, sleeps: list[float]) -> None:
    one = Client(api.base, api_key="k", transport=api.transport, sleep=sleeps.append)
    api.on(
        "GET",
        "/projects",
        reply(200, {"items": [], "nextCursor": None}),
        reply(200, {"items": [], "nextCursor": None}),
        reply(200, {"items": [project_named("a", 1), project_named("b", 2)], "nextCursor": None}),
    )
    api.on("POST", "/projects", reply(201, project_named("default", 9)))
    with pytest.raises(ConfigurationError, match="no project"):
        one.projects.default()
    assert one.projects.default(create_if_none="default").name == "default"
    assert body_of(api.calls("POST", "/projects")[0]) == {"name": "default", "description": ""}
    with pytest.raises(ConfigurationError, match="2 projects"):
        one.projects.default()


def test_upload_posts_the_form_to_storage_without_credentials(
    client: Client, api: FakeApi, tmp_path: Path
) -> None:
    data = tmp_path / "people.csv"
    data.write_bytes(b"name,age\nann,31\n")
    registered = recorded("file_register")
    registered["body"]["upload"]["url"] = "http://storage.test/aion-files"
    registered["body"]["upload"]["fields"] = {"key": "uploads/fil_1", "policy": "p0l1cy"}
    file_id = registered["body"]["file"]["id"]
    api.on("POST", f"/projects/{PROJECT['id']}/files", registered)
    api.on("POST", "/aion-files", reply(204), raw_path=True)
    api.on("POST", f"/files/{file_id}/complete", recorded("file_complete"))
    api.on("POST", "/tasks", recorded("task_create"))

    task = client.tasks.create("profile this", project=PROJECT["id"], file=data)

    assert body_of(api.calls("POST", f"/projects/{PROJECT['id']}/files")[0]) == {
        "filename": "people.csv",
        "contentType": "text/csv",
        "size": 16,
    }
    [form] = [r for r in api.requests if r.url.host == "storage.test"]
    assert "Authorization" not in form.headers
    content = form.content.decode()
    # The policy fields come before the file, as S3 requires.
    assert (
        content.index('name="key"')
        < content.index('name="policy"')
        < content.index('name="file"; filename="p.csv"')
    )
    assert "name,age\nann,31\n" in content
    assert body_of(api.calls("POST", "/tasks")[0])["input"] == file_id
    assert task.id == recorded("task_create")["body"]["id"]


def test_a_refused_upload_is_an_error_with_a_code(
    client: Client, api: FakeApi, tmp_path: Path
) -> None:
    data = tmp_path / "x.txt"
    data.write_text("hello")
    registered = recorded("file_register")
    registered["body"]["upload"]["url"] = "http://storage.test/aion-files"
    api.on("POST", f"/projects/{PROJECT['id']}/files", registered)
    api.on("POST", "/aion-files", reply(403, "<Error>AccessDenied</Error>"), raw_path=True)
    with pytest.raises(ApiError) as caught:
        client.files.upload(data, project=PROJECT["id"])
    assert (caught.value.code, caught.value.status) == ("upload_failed", 403)
    assert api.calls("POST", r"/files/.*/complete") == []
    with pytest.raises(ConfigurationError, match="Cannot read"):
        client.files.upload(tmp_path / "missing.txt", project=PROJECT["id"])


def test_review_actions_send_the_documented_bodies(client: Client, api: FakeApi) -> None:
    api.on("POST", r"/tasks/tsk_r/review", reply(200, {**TASK, "id": "tsk_r"}))
    client.reviews.answer("tsk_r", {"value": 42})
    client.reviews.run("tsk_r", "math.evaluate", params={"expression": "6*7"})
    client.reviews.run("tsk_r", "text.stats", input="")
    client.reviews.input("tsk_r", "fil_0123")
    client.reviews.reject("tsk_r", "Not something we do.")
    assert [body_of(r) for r in api.calls("POST", "/tasks/tsk_r/review")] == [
        {"action": "answer", "result": {"value": 42}},
        {"action": "run", "module": "math.evaluate", "params": {"expression": "6*7"}},
        {"action": "run", "module": "text.stats", "input": ""},
        {"action": "input", "input": "fil_0123"},
        {"action": "reject", "reason": "Not something we do."},
    ]


def test_review_list_filters_by_project_and_reason(client: Client, api: FakeApi) -> None:
    waiting = {**TASK, "status": "needs_review", "route": {"reasonCode": "input_missing"}}
    api.on("GET", "/reviews", reply(200, {"items": [waiting], "nextCursor": None}))
    [item] = client.reviews.list(project=PROJECT["id"], reason_code="input_missing")
    assert item.route is not None
    assert item.route.reason_code == "input_missing"
    assert dict(api.calls("GET", "/reviews")[0].url.params) == {
        "limit": "100",
        "projectId": PROJECT["id"],
        "reasonCode": "input_missing",
    }


def test_router_explain_and_catalog(client: Client, api: FakeApi) -> None:
    api.on("POST", "/router/explain", recorded("explain"))
    api.on("GET", "/router/catalog", recorded("catalog"))
    decision = client.router.explain("summarize this", input="Some text.")
    assert decision.module == recorded("explain")["body"]["module"]
    assert decision.alternatives[0].score > 0
    assert body_of(api.calls("POST", "/router/explain")[0]) == {
        "instruction": "summarize this",
        "input": "Some text.",
    }
    catalog = client.router.catalog()
    assert {m.name for m in catalog.modules} >= {"text.stats", "text.summarize"}


def test_api_keys(client: Client, api: FakeApi) -> None:
    created = {
        "id": "key_1",
        "name": "ci",
        "prefix": "aion_ab12",
        "key": "aion_ab12_secret",
        "createdAt": "2026-12-06T10:00:00Z",
        "expiresAt": None,
    }
    api.on("POST", "/api-keys", reply(201, created))
    api.on(
        "GET",
        "/api-keys",
        reply(
            200, {"items": [{k: v for k, v in created.items() if k != "key"}], "nextCursor": None}
        ),
    )
    api.on("DELETE", "/api-keys/key_1", reply(204))
    key = client.api_keys.create("ci", expires_at="2027-01-01T00:00:00Z")
    assert key.key == "aion_ab12_secret"
    assert "aion_ab12_secret" not in repr(key)
    assert body_of(api.calls("POST", "/api-keys")[0]) == {
        "name": "ci",
        "expiresAt": "2027-01-01T00:00:00Z",
    }
    [listed] = client.api_keys.list()
    assert listed.prefix == "aion_ab12"
    assert not hasattr(listed, "key")
    client.api_keys.revoke("key_1")
    assert len(api.calls("DELETE", "/api-keys/key_1")) == 1


def test_task_list_filters(client: Client, api: FakeApi) -> None:
    api.on("GET", "/tasks", reply(200, {"items": [TASK], "nextCursor": None}))
    assert [t.id for t in client.tasks.list(project=PROJECT["id"], status="failed")] == [TASK["id"]]
    assert dict(api.calls("GET", "/tasks")[0].url.params) == {
        "limit": "100",
        "projectId": PROJECT["id"],
        "status": "failed",
    }


def test_create_without_a_project_uses_aion_project(
    api: FakeApi, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AION_PROJECT", "Reports")
    api.on(
        "GET", "/projects", reply(200, {"items": [project_named("Reports", 7)], "nextCursor": None})
    )
    api.on("POST", "/tasks", recorded("task_create"))
    client = Client(api.base, api_key="k", transport=api.transport, sleep=sleeps.append)
    client.tasks.create("count", input="a b")
    assert body_of(api.calls("POST", "/tasks")[0])["projectId"] == "prj_" + "7".zfill(20)
    assert re.fullmatch(r"[0-9a-f-]{36}", api.calls("POST", "/tasks")[0].headers["Idempotency-Key"])
    with pytest.raises(ValueError, match="not both"):
        client.tasks.create("x", input="a", file="f.txt")
    assert isinstance(api.transport, httpx.MockTransport)
