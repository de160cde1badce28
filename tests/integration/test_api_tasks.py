"""Tasks over HTTP: create + dispatch, idempotency, lists, If-Match edits, cancel/retry, delete."""

from __future__ import annotations

import json
import time

from chalicelib.config import get_settings
from tests.integration.conftest import ApiClient, set_task_fields


def test_create_writes_task_first_event_and_dispatch_message(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    reply = api.post(
        "/tasks",
        {
            "projectId": project["id"],
            "instruction": "Summarize this\nsecond line",
            "priority": "high",
        },
        who=alice,
    )
    assert reply.status == 202
    task = reply.body
    assert task["status"] == "queued"
    assert task["title"] == "Summarize this"
    assert task["attempts"] == 1
    assert task["assigneeId"] == alice.id
    assert task["createdBy"] == alice.id
    assert task["version"] == 1
    assert reply.header("ETag") == '"1"'
    assert api.queue_messages() == [{"taskId": task["id"], "attempt": 1}]
    events = api.get(f"/tasks/{task['id']}/activity", who=alice).body["items"]
    assert [(e["seq"], e["kind"], e["status"], e["actor"]) for e in events] == [
        (1, "status", "queued", alice.id)
    ]
    assert api.get(f"/tasks/{task['id']}", who=alice).body == task


def test_task_alias_route_creates_too(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    reply = api.post("/task", {"projectId": project["id"], "instruction": "x"}, who=alice)
    assert reply.status == 202
    assert reply.body["projectId"] == project["id"]


def test_idempotency_key_same_body_same_task_other_body_conflict(api: ApiClient) -> None:
    alice, bob = api.user(), api.user()
    project = api.project(alice, bob)
    body = {"projectId": project["id"], "instruction": "count words"}
    key = {"Idempotency-Key": "order-42"}
    first = api.post("/tasks", body, who=alice, headers=key)
    again = api.post("/tasks", body, who=alice, headers=key)
    assert first.status == again.status == 202
    assert again.body["id"] == first.body["id"]
    assert len(api.queue_messages()) == 1  # the replay did not dispatch again
    other = api.post("/tasks", {**body, "instruction": "other"}, who=alice, headers=key)
    assert other.status == 409
    assert other.error_code == "idempotency_key_reused"
    # Keys are scoped per user: Bob's same key is a new task.
    bobs = api.post("/tasks", body, who=bob, headers=key)
    assert bobs.status == 202
    assert bobs.body["id"] != first.body["id"]


def test_bad_idempotency_key_is_400(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    reply = api.post(
        "/tasks",
        {"projectId": project["id"], "instruction": "x"},
        who=alice,
        headers={"Idempotency-Key": "k" * 129},
    )
    assert reply.status == 400
    assert reply.body["error"]["details"][0]["field"] == "Idempotency-Key"


def test_create_validation_names_the_field(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    missing = api.post("/tasks", {"projectId": project["id"]}, who=alice)
    assert missing.status == 400
    assert missing.error_code == "validation_error"
    assert missing.body["error"]["details"][0]["field"] == "instruction"
    wrong = api.post(
        "/tasks", {"projectId": project["id"], "instruction": "x", "priority": "asap"}, who=alice
    )
    assert wrong.status == 400
    assert "priority" in wrong.body["error"]["message"]
    unknown = api.post(
        "/tasks", {"projectId": project["id"], "instruction": "x", "colour": "red"}, who=alice
    )
    assert unknown.status == 400
    assert unknown.body["error"]["details"][0]["field"] == "colour"
    outsider = api.user()
    not_member = api.post(
        "/tasks",
        {"projectId": project["id"], "instruction": "x", "assigneeId": outsider.id},
        who=alice,
    )
    assert not_member.status == 400
    assert not_member.body["error"]["details"][0]["field"] == "assigneeId"


def test_malformed_json_non_object_and_oversized_bodies(api: ApiClient) -> None:
    alice = api.user()
    assert api.post("/tasks", raw=b'{"projectId": ', who=alice).error_code == "malformed_json"
    assert api.post("/tasks", raw=b"[1, 2]", who=alice).status == 400
    assert api.post("/tasks", raw=b"\xff\xfe", who=alice).status == 400
    huge = json.dumps({"projectId": "p", "instruction": "x" * (300 * 1024)})
    reply = api.post("/tasks", raw=huge, who=alice)
    assert reply.status == 413
    assert reply.error_code == "payload_too_large"


def test_unknown_project_is_404_and_unconfigured_queue_is_503(
    api: ApiClient, monkeypatch, reset_caches
) -> None:
    alice = api.user()
    assert (
        api.post("/tasks", {"projectId": "prj_nope", "instruction": "x"}, who=alice).status == 404
    )
    project = api.project(alice)
    monkeypatch.setenv("AION_DISPATCH_QUEUE_URL", "")
    reset_caches()
    reply = api.post("/tasks", {"projectId": project["id"], "instruction": "x"}, who=alice)
    assert reply.status == 503
    assert reply.error_code == "dispatch_unconfigured"


def test_sqs_failure_leaves_the_task_queued_for_the_sweeper(api: ApiClient, monkeypatch) -> None:
    from chalicelib.aws_clients import client
    from chalicelib.logic import sweeper

    alice = api.user()
    project = api.project(alice)
    sqs = client("sqs")
    sent: list[dict] = []
    real_send = sqs.send_message

    def refuse(**_kw):
        raise RuntimeError("queue down")

    monkeypatch.setattr(sqs, "send_message", refuse)
    reply = api.post("/tasks", {"projectId": project["id"], "instruction": "x"}, who=alice)
    assert reply.status == 202
    assert (reply.body["status"], reply.body["attempts"]) == ("queued", 1)
    task_id = reply.body["id"]
    stored = api.get(f"/tasks/{task_id}", who=alice).body
    assert (stored["status"], stored["error"]) == ("queued", None)

    # The sweeper finds it once it has been queued past the threshold and sends its message.
    def record(**kw):
        sent.append(kw)
        return real_send(**kw)

    monkeypatch.setattr(sqs, "send_message", record)
    assert task_id not in sweeper.sweep().redriven  # too recent
    later = time.time() + get_settings().dispatch.queued_redrive_seconds + 5
    assert task_id in sweeper.sweep(now=later).redriven
    assert json.loads(sent[-1]["MessageBody"]) == {"taskId": task_id, "attempt": 1}
    monkeypatch.undo()


def test_list_by_project_status_assignee_and_pagination(api: ApiClient) -> None:
    alice, bob = api.user(), api.user()
    project = api.project(alice, bob)
    pid = project["id"]
    made = [api.task(alice, pid, title=f"t{i}") for i in range(5)]
    for_bob = api.task(alice, pid, title="bob's", assigneeId=bob.id)
    set_task_fields(made[0]["id"], status="running")

    everything = api.get(f"/tasks?projectId={pid}", who=bob).body
    assert [t["id"] for t in everything["items"]] == [for_bob["id"]] + [
        t["id"] for t in reversed(made)
    ]  # newest first
    assert everything["nextCursor"] is None

    running = api.get(f"/tasks?projectId={pid}&status=running", who=alice).body["items"]
    assert [t["id"] for t in running] == [made[0]["id"]]
    assigned = api.get(f"/tasks?projectId={pid}&assigneeId={bob.id}", who=alice).body["items"]
    assert [t["id"] for t in assigned] == [for_bob["id"]]
    mine = api.get("/tasks", who=bob).body["items"]
    assert [t["id"] for t in mine] == [for_bob["id"]]
    assert api.get(f"/tasks?assigneeId={alice.id}", who=bob).status == 403

    seen, cursor, pages = [], None, 0
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        page = api.get(f"/tasks?projectId={pid}&limit=2{suffix}", who=alice).body
        seen += [t["id"] for t in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted([t["id"] for t in made] + [for_bob["id"]])
    assert len(seen) == len(set(seen)) == 6
    assert pages >= 3

    # A cursor of one list does not resume another; a forged one is rejected.
    first = api.get(f"/tasks?projectId={pid}&limit=2", who=alice).body["nextCursor"]
    other = api.get(f"/tasks?projectId={pid}&status=queued&cursor={first}", who=alice)
    assert other.status == 400
    assert other.error_code == "invalid_cursor"
    forged = first[:-3] + ("AAA" if not first.endswith("AAA") else "BBB")
    assert api.get(f"/tasks?projectId={pid}&cursor={forged}", who=alice).status == 400
    assert api.get(f"/tasks?projectId={pid}&limit=0", who=alice).status == 400
    assert api.get(f"/tasks?projectId={pid}&limit=101", who=alice).status == 400
    assert api.get(f"/tasks?projectId={pid}&status=done", who=alice).status == 400


def test_patch_needs_if_match_and_rejects_stale_versions(api: ApiClient) -> None:
    alice = api.user()
    task = api.task(alice, api.project(alice)["id"])
    path = f"/tasks/{task['id']}"
    assert api.patch(path, {"title": "New"}, who=alice).status == 428
    assert api.patch(path, {"title": "New"}, who=alice).error_code == "version_required"
    assert api.patch(path, {"title": "New"}, who=alice, headers={"If-Match": '"7"'}).status == 412
    assert api.patch(path, {"title": "New"}, who=alice, headers={"If-Match": "abc"}).status == 412
    done = api.patch(
        path, {"title": "New", "priority": "urgent"}, who=alice, headers={"If-Match": '"1"'}
    )
    assert done.status == 200
    assert done.body["title"] == "New"
    assert done.body["priority"] == "urgent"
    assert done.body["version"] == 2
    assert done.header("ETag") == '"2"'
    stale = api.patch(path, {"title": "Again"}, who=alice, headers={"If-Match": "1"})
    assert stale.status == 412
    assert stale.error_code == "version_mismatch"
    weak = api.patch(path, {"title": "Again"}, who=alice, headers={"If-Match": 'W/"2"'})
    assert weak.status == 200
    kinds = [e["kind"] for e in api.get(f"{path}/activity", who=alice).body["items"]]
    assert kinds == ["status", "update", "update"]
    assert api.patch(path, {"title": None}, who=alice, headers={"If-Match": "3"}).status == 400


def test_content_of_a_running_task_cannot_change(api: ApiClient) -> None:
    alice = api.user()
    task = api.task(alice, api.project(alice)["id"])
    set_task_fields(task["id"], status="running")
    path = f"/tasks/{task['id']}"
    reply = api.patch(path, {"instruction": "other"}, who=alice, headers={"If-Match": "1"})
    assert reply.status == 409
    assert reply.error_code == "invalid_state"
    assert api.patch(path, {"title": "ok"}, who=alice, headers={"If-Match": "1"}).status == 200


def test_cancel_queued_is_immediate_and_running_is_requested(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    queued = api.task(alice, pid)
    reply = api.post(f"/tasks/{queued['id']}/cancel", who=alice)
    assert reply.status == 200
    assert reply.body["status"] == "canceled"
    assert reply.body["finishedAt"]
    assert reply.body["version"] == 2
    again = api.post(f"/tasks/{queued['id']}/cancel", who=alice)
    assert again.status == 409

    running = api.task(alice, pid)
    set_task_fields(running["id"], status="running")
    reply = api.post(f"/tasks/{running['id']}/cancel", who=alice)
    assert reply.status == 200
    assert reply.body["status"] == "running"
    assert reply.body["cancelRequested"] is True
    events = api.get(f"/tasks/{running['id']}/activity", who=alice).body["items"]
    assert events[-1]["message"] == "Cancel requested"

    completed = api.task(alice, pid)
    set_task_fields(completed["id"], status="completed")
    assert api.post(f"/tasks/{completed['id']}/cancel", who=alice).error_code == "invalid_state"


def test_retry_from_failed_or_canceled_only(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    task = api.task(alice, pid)
    assert api.post(f"/tasks/{task['id']}/retry", who=alice).status == 409
    set_task_fields(
        task["id"], status="failed", error={"code": "boom"}, finished_at="2026-01-01T00:00:00.000Z"
    )
    api.queue_messages()
    reply = api.post(f"/tasks/{task['id']}/retry", who=alice)
    assert reply.status == 202
    assert reply.body["status"] == "queued"
    assert reply.body["attempts"] == 2
    assert reply.body["error"] is None
    assert reply.body["finishedAt"] is None
    assert api.queue_messages() == [{"taskId": task["id"], "attempt": 2}]
    events = api.get(f"/tasks/{task['id']}/activity", who=alice).body["items"]
    assert events[-1]["status"] == "queued"
    assert events[-1]["data"] == {"attempt": 2}
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})


def test_activity_after_and_limit(api: ApiClient) -> None:
    alice = api.user()
    task = api.task(alice, api.project(alice)["id"])
    path = f"/tasks/{task['id']}"
    for version in range(1, 5):
        api.patch(path, {"title": f"v{version}"}, who=alice, headers={"If-Match": str(version)})
    page = api.get(f"{path}/activity?limit=2", who=alice).body
    assert [e["seq"] for e in page["items"]] == [1, 2]
    assert page["nextCursor"] == "2"
    rest = api.get(f"{path}/activity?after=2", who=alice).body
    assert [e["seq"] for e in rest["items"]] == [3, 4, 5]
    assert rest["nextCursor"] is None
    assert api.get(f"{path}/activity?after=-1", who=alice).status == 400


def test_delete_task_removes_it_unless_running(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    running = api.task(alice, pid)
    set_task_fields(running["id"], status="running")
    assert api.delete(f"/tasks/{running['id']}", who=alice).status == 409
    task = api.task(alice, pid)
    reply = api.delete(f"/tasks/{task['id']}", who=alice)
    assert reply.status == 204
    assert reply.body is None
    assert api.get(f"/tasks/{task['id']}", who=alice).status == 404
    assert api.get(f"/tasks/{task['id']}/activity", who=alice).status == 404
    from chalicelib.dal.models import Activity

    assert list(Activity.query(task["id"])) == []


def test_large_results_are_referenced_not_inlined(api: ApiClient) -> None:
    alice = api.user()
    task = api.task(alice, api.project(alice)["id"])
    assert task["resultRef"] is None
    set_task_fields(task["id"], status="completed", result_ref=f"results/{task['id']}/1.json")
    got = api.get(f"/tasks/{task['id']}", who=alice).body
    assert got["resultRef"] == f"results/{task['id']}/1.json"
    assert got["result"] is None
