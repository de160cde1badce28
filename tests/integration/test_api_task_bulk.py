"""POST /tasks/bulk: each task through its own route's call, one result per task, a summary."""

from __future__ import annotations

from chalicelib.dal.models import Task
from tests.integration.conftest import ApiClient, set_task_fields


def _bulk(api: ApiClient, who: object, action: str, ids: list[str]) -> dict:
    reply = api.post("/tasks/bulk", {"action": action, "taskIds": ids}, who=who)
    assert reply.status == 200, reply.body
    return reply.body


def _outcomes(body: dict) -> dict[str, str]:
    return {r["taskId"]: r["outcome"] for r in body["results"]}


def test_bulk_cancel_reports_each_task_and_a_summary(api: ApiClient) -> None:
    alice, eve = api.user(), api.user()
    pid = api.project(alice)["id"]
    queued, review, running, done = (api.task(alice, pid, title=t) for t in "abcd")
    set_task_fields(review["id"], status="needs_review")
    set_task_fields(running["id"], status="running")
    set_task_fields(done["id"], status="completed")
    elsewhere = api.task(eve, api.project(eve)["id"])
    ids = [queued["id"], review["id"], running["id"], done["id"], elsewhere["id"], "tsk_nope"]

    body = _bulk(api, alice, "cancel", [*ids, queued["id"]])  # a duplicate counts once
    assert body["action"] == "cancel"
    assert [r["taskId"] for r in body["results"]] == ids  # in the order given
    assert _outcomes(body) == {
        queued["id"]: "canceled",
        review["id"]: "canceled",
        running["id"]: "cancel_requested",
        done["id"]: "already_finished",
        elsewhere["id"]: "not_found",  # not yours: as if it did not exist
        "tsk_nope": "not_found",
    }
    assert body["summary"] == {
        "canceled": 2,
        "cancel_requested": 1,
        "already_finished": 1,
        "not_found": 2,
    }
    by_id = {r["taskId"]: r for r in body["results"]}
    assert by_id[queued["id"]]["status"] == "canceled"
    assert by_id[running["id"]]["status"] == "running"
    assert "completed" in by_id[done["id"]]["message"]
    # Through the state machine: each cancel is an event in the task's log.
    events = api.get(f"/tasks/{queued['id']}/activity", who=alice).body["items"]
    assert events[-1]["status"] == "canceled"
    assert Task.get(running["id"]).cancel_requested is True
    assert Task.get(elsewhere["id"]).status == "queued"  # untouched


def test_bulk_retry_and_delete(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    failed, queued, running = (api.task(alice, pid, title=t) for t in "abc")
    set_task_fields(failed["id"], status="failed")
    set_task_fields(running["id"], status="running")
    api.queue_messages()  # drop the create messages

    retried = _bulk(api, alice, "retry", [failed["id"], queued["id"]])
    assert _outcomes(retried) == {failed["id"]: "retried", queued["id"]: "not_retryable"}
    assert retried["results"][0]["status"] == "queued"
    assert api.queue_messages() == [{"taskId": failed["id"], "attempt": 2}]

    deleted = _bulk(api, alice, "delete", [failed["id"], running["id"], queued["id"]])
    assert _outcomes(deleted) == {
        failed["id"]: "deleted",
        running["id"]: "running",
        queued["id"]: "deleted",
    }
    assert deleted["summary"] == {"deleted": 2, "running": 1}
    assert api.get(f"/tasks/{failed['id']}", who=alice).status == 404
    assert api.get(f"/tasks/{running['id']}", who=alice).status == 200


def test_bulk_request_is_validated(api: ApiClient) -> None:
    alice = api.user()
    for body in (
        {"action": "cancel", "taskIds": []},
        {"action": "cancel", "taskIds": [f"tsk_{i}" for i in range(101)]},
        {"action": "archive", "taskIds": ["tsk_1"]},
        {"action": "cancel", "taskIds": ["not an id!"]},
        {"action": "cancel"},
    ):
        reply = api.post("/tasks/bulk", body, who=alice)
        assert reply.status == 400, body
        assert reply.error_code == "validation_error"
    assert api.post("/tasks/bulk", {"action": "cancel", "taskIds": ["tsk_1"]}).status == 401
