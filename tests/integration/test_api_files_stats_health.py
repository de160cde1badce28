"""Files (presigned POST, completion, download URL), stats, health, OpenAPI, error envelopes."""

from __future__ import annotations

import boto3

from tests.integration.conftest import BUCKET, ApiClient, set_task_fields


def _upload(key: str, data: bytes, content_type: str) -> None:
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=BUCKET, Key=key, Body=data, ContentType=content_type
    )


def test_presigned_post_is_restricted_and_completion_marks_ready(api: ApiClient) -> None:
    alice = api.user()
    task = api.task(alice, api.project(alice)["id"])
    reply = api.post(
        f"/tasks/{task['id']}/files",
        {"filename": "../../notes.txt", "contentType": "text/plain", "size": 11},
        who=alice,
    )
    assert reply.status == 400  # no path separators in filenames
    reply = api.post(
        f"/tasks/{task['id']}/files",
        {"filename": "notes.txt", "contentType": "text/plain", "size": 11},
        who=alice,
    )
    assert reply.status == 201
    file, upload = reply.body["file"], reply.body["upload"]
    assert file["status"] == "pending"
    key = upload["fields"]["key"]
    assert key == f"tasks/{task['id']}/{file['id']}"  # chosen by the server
    assert upload["fields"]["Content-Type"] == "text/plain"
    import base64
    import json

    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 11, 11] in policy["conditions"]
    assert {"Content-Type": "text/plain"} in policy["conditions"]

    missing = api.post(f"/files/{file['id']}/complete", who=alice)
    assert missing.status == 409
    assert missing.error_code == "upload_missing"
    assert api.get(f"/files/{file['id']}", who=alice).body["downloadUrl"] is None

    _upload(key, b"hello world", "text/plain")
    done = api.post(f"/files/{file['id']}/complete", who=alice)
    assert done.status == 200
    assert done.body["status"] == "ready"
    got = api.get(f"/files/{file['id']}", who=alice).body
    assert got["downloadUrl"].startswith("https://")
    assert "X-Amz-Expires=300" in got["downloadUrl"]
    listed = api.get(f"/tasks/{task['id']}/files", who=alice).body
    assert [f["id"] for f in listed["items"]] == [file["id"]]


def test_completion_rejects_wrong_size_or_type(api: ApiClient) -> None:
    alice = api.user()
    task = api.task(alice, api.project(alice)["id"])
    body = {"filename": "a.csv", "contentType": "text/csv", "size": 4}
    first = api.post(f"/tasks/{task['id']}/files", body, who=alice).body
    _upload(first["upload"]["fields"]["key"], b"too long!", "text/csv")
    assert (
        api.post(f"/files/{first['file']['id']}/complete", who=alice).body["status"] == "rejected"
    )
    second = api.post(f"/tasks/{task['id']}/files", body, who=alice).body
    _upload(second["upload"]["fields"]["key"], b"a,b\n", "application/x-sh")
    assert (
        api.post(f"/files/{second['file']['id']}/complete", who=alice).body["status"] == "rejected"
    )
    assert api.get(f"/files/{second['file']['id']}", who=alice).body["downloadUrl"] is None
    too_big = api.post(f"/tasks/{task['id']}/files", {**body, "size": 10**10}, who=alice)
    assert too_big.status == 400


def test_stats_counts_and_durations(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    tasks = [api.task(alice, pid) for _ in range(4)]
    set_task_fields(
        tasks[0]["id"],
        status="completed",
        started_at="2026-01-01T00:00:00.000Z",
        finished_at="2026-01-01T00:00:02.500Z",
    )
    set_task_fields(
        tasks[1]["id"],
        status="failed",
        started_at="2026-01-01T00:00:00.000Z",
        finished_at="2026-01-01T00:00:01.000Z",
    )
    set_task_fields(tasks[2]["id"], status="running")
    reply = api.get(f"/stats?projectId={pid}", who=alice)
    assert reply.status == 200
    stats = reply.body
    assert stats["counts"] == {
        "queued": 1,
        "running": 1,
        "completed": 1,
        "failed": 1,
        "canceled": 0,
        "needs_review": 0,
    }
    assert stats["total"] == 4
    assert sorted(d["seconds"] for d in stats["recentDurations"]) == [1.0, 2.5]
    assert stats["medianSeconds"] == 1.75
    assert api.get("/stats", who=alice).status == 400
    assert api.get("/stats?projectId=prj_other", who=alice).status == 404


def test_health_reports_checks(api: ApiClient) -> None:
    reply = api.get("/health")
    assert reply.status == 200
    assert reply.body["status"] == "ok"
    assert reply.body["checks"] == {"dynamodb": "ok", "executor": "unconfigured", "queue": "ok"}
    assert reply.body["version"]


def test_health_degrades_when_dynamodb_fails(api: ApiClient, monkeypatch) -> None:
    from chalicelib.dal.models import User

    def broken():
        raise RuntimeError("down")

    monkeypatch.setattr(User, "_get_connection", broken)
    reply = api.get("/health")
    assert reply.body["status"] == "degraded"
    assert reply.body["checks"]["dynamodb"] == "error"


def test_openapi_is_valid_and_lists_every_route(api: ApiClient) -> None:
    from openapi_spec_validator import validate

    import app
    from chalicelib.api.rest import ROUTES

    doc = api.get("/openapi.json").body
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = {(method, path) for path, methods in app.app.routes.items() for method in methods}
    assert {(s.method, s.path) for s in ROUTES} == served
    # Only the reference page's own routes are left out of the document.
    assert served - documented == {("GET", "/docs"), ("GET", "/docs/{name}")}
    assert ("POST", "/tasks") in served
    create = doc["paths"]["/tasks"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "TaskCreate"
    )
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key"}
    patch = doc["paths"]["/tasks/{task_id}"]["patch"]
    assert {"412", "428"} <= set(patch["responses"])


def test_unexpected_errors_are_a_bare_500_envelope(api: ApiClient, monkeypatch) -> None:
    from chalicelib.logic import users

    def explode(_principal):
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(users, "me", explode)
    alice = api.user()
    reply = api.get("/me", who=alice)
    assert reply.status == 500
    assert reply.body == {"error": {"code": "internal_error", "message": "Internal server error."}}


def test_framework_errors_use_the_envelope_and_cors_is_restricted(api: ApiClient) -> None:
    alice = api.user()
    wrong_type = api.post(
        "/projects", raw="name=x", who=alice, headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status == 415
    assert wrong_type.error_code == "unsupported_media_type"
    wrong_method = api.call("PUT", "/projects", who=alice)
    assert wrong_method.status == 405
    assert wrong_method.body["error"]["code"] == "method_not_allowed"
    ok = api.get("/health")
    assert ok.header("Access-Control-Allow-Origin") == "http://127.0.0.1:8000"
    assert "ETag" in (ok.header("Access-Control-Expose-Headers") or "")
    assert api.get("/health?verbose=1").status == 400
