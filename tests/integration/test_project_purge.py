"""DELETE /projects/{id} purges the project's tasks, activity, files, results and subscriptions:
a first batch at once, the rest from the sweeper, in bounded batches, idempotently."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest

from chalicelib.config import get_settings
from chalicelib.dal.models import (
    PURGE_PARTITION,
    Activity,
    File,
    Project,
    ProjectMember,
    ProjectPurge,
    Task,
)
from chalicelib.dal.realtime_models import Subscription, project_topic, task_topic
from chalicelib.logic import dispatch, purge, sweeper
from tests.integration.conftest import BUCKET, ApiClient, Who, set_task_fields
from tests.integration.test_api_project_files import _browser_post, _ready_file

STATUSES = ("queued", "needs_review", "running", "completed", "failed", "canceled")


@pytest.fixture(autouse=True)
def _settled(monkeypatch: pytest.MonkeyPatch) -> None:
    # The marker's settle time is tested on its own below; elsewhere it would only add waiting.
    monkeypatch.setattr(purge, "SETTLE_SECONDS", 0.0)


def _s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _keys() -> set[str]:
    got = _s3().list_objects_v2(Bucket=BUCKET)
    return {o["Key"] for o in got.get("Contents", [])}


def _subscribe(topic: str, connection_id: str, user: Who, project_id: str) -> None:
    Subscription(
        topic,
        connection_id,
        user_id=user.id,
        project_id=project_id,
        created_at=0,
        expires_at=timedelta(hours=1),
    ).save()


def _populate(api: ApiClient, owner: Who, project_id: str) -> dict[str, Any]:
    """A task in every status (running with a live lease), extra activity, a task upload, a
    large result in S3, project uploads (ready and pending) and subscriptions."""
    tasks: dict[str, str] = {}
    for status in STATUSES:
        task = api.task(owner, project_id, title=status)
        tasks[status] = task["id"]
        if status == "running":
            set_task_fields(
                task["id"],
                status="running",
                lease_owner="lease_live",
                lease_expires_at=time.time() + 300,
            )
        elif status != "queued":
            set_task_fields(task["id"], status=status)
    done = tasks["completed"]
    key = f"results/{done}/1.json"
    _s3().put_object(Bucket=BUCKET, Key=key, Body=b'{"big": true}')
    set_task_fields(done, result_ref=key)
    Activity(
        task_id=done,
        seq=2,
        project_id=project_id,
        kind="log",
        status="completed",
        message="x",
        at="2026-01-01T00:00:00Z",
        actor="executor",
    ).save()
    upload = api.post(
        f"/tasks/{tasks['failed']}/files",
        {"filename": "in.txt", "contentType": "text/plain", "size": 3},
        who=owner,
    )
    assert upload.status == 201, upload.body
    _browser_post(upload.body["upload"]["fields"], b"abc", "text/plain")
    ready = _ready_file(api, owner, project_id)
    pending = api.post(
        f"/projects/{project_id}/files",
        {"filename": "p.txt", "contentType": "text/plain", "size": 3},
        who=owner,
    )
    assert pending.status == 201
    _browser_post(pending.body["upload"]["fields"], b"abc", "text/plain")
    _subscribe(project_topic(project_id), f"c-{project_id}", owner, project_id)
    for status in ("running", "completed", "queued"):
        _subscribe(task_topic(tasks[status]), f"c-{project_id}", owner, project_id)
    return {
        "tasks": tasks,
        "files": [upload.body["file"]["id"], ready["id"], pending.body["file"]["id"]],
    }


def _left_of(project_id: str, seeded: dict[str, Any]) -> dict[str, Any]:
    """Everything still stored that belongs to the project (empty values = nothing)."""
    task_ids = list(seeded["tasks"].values())
    rows = [t.id for t in Task.batch_get(task_ids)]
    rows += [t.id for t in Task.by_project.query(project_id) if t.id not in rows]
    return {
        "tasks": sorted(rows),
        "activity": sorted(a.task_id for tid in task_ids for a in Activity.query(tid)),
        "files": sorted(
            {f.id for f in File.batch_get(seeded["files"])}
            | {f.id for f in File.by_project.query(project_id)}
        ),
        "objects": sorted(
            k for k in _keys() if project_id in k or any(tid in k for tid in task_ids)
        ),
        "subscriptions": sorted(
            s.topic
            for topic in [project_topic(project_id), *map(task_topic, task_ids)]
            for s in Subscription.query(topic)
        ),
        "marker": [m.project_id for m in ProjectPurge.query(PURGE_PARTITION)],
    }


def _nothing_left(project_id: str, seeded: dict[str, Any]) -> None:
    left = _left_of(project_id, seeded)
    assert left == {
        "tasks": [],
        "activity": [],
        "files": [],
        "objects": [],
        "subscriptions": [],
        "marker": [],
    }


def test_delete_purges_everything_and_leaves_other_projects_alone(api: ApiClient) -> None:
    alice, bob = api.user(), api.user()
    doomed = api.project(alice, bob)["id"]
    kept = api.project(alice)["id"]
    seeded = _populate(api, alice, doomed)
    other = _populate(api, alice, kept)
    before_other = _left_of(kept, other)
    assert all(before_other[k] for k in ("tasks", "activity", "files", "objects"))
    seen = _left_of(doomed, seeded)
    assert len(seen["tasks"]) == 6
    assert len(seen["files"]) == 3
    assert f"results/{seeded['tasks']['completed']}/1.json" in seen["objects"]

    assert api.delete(f"/projects/{doomed}", who=alice).status == 204
    # Gone for users at once: the project, its tasks, its files.
    assert api.get(f"/projects/{doomed}", who=alice).status == 404
    for task_id in seeded["tasks"].values():
        assert api.get(f"/tasks/{task_id}", who=alice).status == 404
        assert api.get(f"/tasks/{task_id}", who=bob).status == 404
    assert [m.project_id for m in ProjectMember.query(bob.id)] == []
    assert api.get(f"/files/{seeded['files'][1]}", who=alice).status == 404
    # The running task was asked to stop, as POST /tasks/{id}/cancel does; it stays until its
    # run ends. The marker stays meanwhile.
    running = Task.get(seeded["tasks"]["running"])
    assert (running.status, running.cancel_requested) == ("running", True)

    report = sweeper.sweep()
    assert report.purge.projects == [doomed]
    assert report.purge.finished == []
    left = _left_of(doomed, seeded)
    assert left["tasks"] == [seeded["tasks"]["running"]]
    assert left["marker"] == [doomed]
    assert left["files"] == []
    assert left["subscriptions"] == [task_topic(seeded["tasks"]["running"])]

    # The run dies; the sweeper takes the task back as canceled and the purge removes it.
    set_task_fields(seeded["tasks"]["running"], lease_expires_at=time.time() - 5)
    report = sweeper.sweep()
    assert report.canceled == [seeded["tasks"]["running"]]
    assert report.purge.finished == [doomed]
    assert report.purge.tasks_deleted == 1
    _nothing_left(doomed, seeded)
    assert _left_of(kept, other) == before_other
    assert api.get(f"/projects/{kept}", who=alice).status == 200
    assert len(api.get(f"/tasks?projectId={kept}", who=alice).body["items"]) == 6


def test_a_running_tasks_dispatcher_stops_and_a_late_message_does_nothing(
    api: ApiClient,
) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    seeded = _populate(api, alice, pid)
    running, queued = seeded["tasks"]["running"], seeded["tasks"]["queued"]
    assert api.delete(f"/projects/{pid}", who=alice).status == 204
    # The heartbeat of the run holding the lease sees the cancel and stops the gRPC call.
    lease = dispatch.Lease(running, "lease_live", get_settings().dispatch)
    assert lease.renew() is False
    assert lease.cancel.is_set()
    assert lease.cancel_requested
    assert not lease.lost
    # The queued task was canceled, then deleted with the first batch: its dispatch message
    # (still in the queue) is a no-op and writes no activity.
    assert not list(Task.batch_get([queued]))
    outcome = dispatch.handle_message(json.dumps({"taskId": queued, "attempt": 1}))
    assert outcome.status == "skipped"
    assert list(Activity.query(queued)) == []
    # The dispatcher's terminal write ends the run; the next sweep removes the task.
    set_task_fields(running, status="canceled", finished_at="2026-01-01T00:00:00Z")
    assert sweeper.sweep().purge.finished == [pid]
    _nothing_left(pid, seeded)
    # A renewal after the row went: the lease is lost, the run stops.
    gone = dispatch.Lease(running, "lease_live", get_settings().dispatch)
    assert gone.renew() is False
    assert gone.lost


def test_purge_goes_in_bounded_batches_over_several_sweeps(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(purge, "API_BUDGET", 2)
    monkeypatch.setattr(purge, "SWEEP_BUDGET", 3)
    alice = api.user()
    pid = api.project(alice)["id"]
    ids = [api.task(alice, pid, title=f"t{i}")["id"] for i in range(7)]
    for task_id in ids:
        set_task_fields(task_id, status="completed")
    seeded = {"tasks": dict(enumerate(ids)), "files": []}
    assert api.delete(f"/projects/{pid}", who=alice).status == 204
    assert len(_left_of(pid, seeded)["tasks"]) == 5  # the API's batch took two
    deleted, sweeps = [], 0
    while list(ProjectPurge.query(PURGE_PARTITION)):
        sweeps += 1
        assert sweeps <= 5
        report = sweeper.sweep()
        assert report.purge.tasks_deleted <= 3
        deleted.append(report.purge.tasks_deleted)
    assert deleted == [3, 2]
    _nothing_left(pid, seeded)


def test_purging_twice_and_concurrently_is_harmless(api: ApiClient, atomic_dynamodb: None) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    seeded = _populate(api, alice, pid)
    set_task_fields(seeded["tasks"]["running"], status="failed")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            purge.continue_purges()
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(purge, "API_BUDGET", 0)  # nothing at delete time: both threads find work
        assert api.delete(f"/projects/{pid}", who=alice).status == 204
    assert len(_left_of(pid, seeded)["tasks"]) == 6
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    _nothing_left(pid, seeded)
    # Again, and for a purge already finished: nothing to do, nothing fails.
    again = purge.continue_purges()
    assert again.projects == []
    assert again.tasks_deleted == 0
    assert purge.purge_project(pid).tasks_deleted == 0
    _nothing_left(pid, seeded)


def test_the_marker_stays_until_the_indexes_settle(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(purge, "SETTLE_SECONDS", 3600.0)
    alice = api.user()
    pid = api.project(alice)["id"]
    api.task(alice, pid)
    assert api.delete(f"/projects/{pid}", who=alice).status == 204
    assert sweeper.sweep().purge.finished == []
    assert list(Task.by_project.query(pid)) == []
    assert [m.project_id for m in ProjectPurge.query(PURGE_PARTITION)] == [pid]
    monkeypatch.setattr(purge, "SETTLE_SECONDS", 0.0)
    assert sweeper.sweep().purge.finished == [pid]


def test_a_task_cannot_be_created_in_a_project_deleted_meanwhile(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.logic import tasks

    alice = api.user()
    pid = api.project(alice)["id"]
    stale = Project.get(pid)
    assert api.delete(f"/projects/{pid}", who=alice).status == 204
    # The create read the project just before the delete committed.
    monkeypatch.setattr(tasks, "get_project_for", lambda principal, project_id: stale)
    reply = api.post("/tasks", {"projectId": pid, "instruction": "count"}, who=alice)
    assert reply.status == 404
    assert reply.error_code == "project_not_found"
    assert list(Task.by_project.query(pid)) == []


def test_members_a_delete_transaction_has_no_room_for_go_with_the_purge(
    api: ApiClient,
) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    # A project from before the limit was 98: 99 members.
    extra = [f"usr_legacy{i:03d}" for i in range(98)]
    project = Project.get(pid)
    project.update(actions=[Project.member_ids.set([alice.id, *extra])])
    with ProjectMember.batch_write() as batch:
        for user_id in extra:
            batch.save(ProjectMember(user_id=user_id, project_id=pid, created_at="2026"))
    assert api.delete(f"/projects/{pid}", who=alice).status == 204
    assert [m for u in [alice.id, *extra] for m in ProjectMember.query(u)] == []


def test_a_stale_marker_is_never_written_back(api: ApiClient) -> None:
    stale = ProjectPurge(
        project_id="prj_gone",
        deleted_by="usr_x",
        deleted_at="2026",
        deleted_epoch=0,
        member_ids=["usr_late"],
    )
    stale.save()
    ProjectPurge(project_id="prj_gone").delete()  # a concurrent purge finished meanwhile
    purge._drop_members(stale)
    assert list(ProjectPurge.query(PURGE_PARTITION)) == []
