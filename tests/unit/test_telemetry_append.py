"""Activity log: per-task seqs are unique and strictly increasing, whoever writes."""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib.dal.models import Task
from chalicelib.logic import telemetry
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    realtime,
    seed_project,
    seed_task,
    serialize_task_updates,
)

__all__ = ["realtime"]


def _event(task: Task, **extra: object) -> dict[str, object]:
    return {"taskId": task.id, "kind": "log", "message": "hello", "actor": "worker", **extra}


def test_append_takes_next_seq_and_fills_project_and_status(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    stored = telemetry.append(_event(task))
    assert stored["seq"] == 2
    assert stored["projectId"] == task.project_id
    assert stored["status"] == "queued"
    assert stored["type"] == "telemetry"
    assert [a.seq for a in activity_of(task.id)] == [1, 2]
    assert Task.get(task.id).last_seq == 2


def test_concurrent_writers_never_share_a_seq(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    serialize_task_updates(monkeypatch)
    task = seed_task(seed_project())
    seqs: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(5):
            event = _event(task, projectId=task.project_id, status="running", message=f"{n}/{i}")
            seq = telemetry.append(event)["seq"]
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(2, 32))
    assert [int(a.seq) for a in activity_of(task.id)] == list(range(1, 32))


def test_failed_condition_consumes_no_seq(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    with pytest.raises(telemetry.ConditionFailed):
        telemetry.append(_event(task), condition=Task.status == "running")
    assert Task.get(task.id).last_seq == 1
    assert len(activity_of(task.id)) == 1


def test_append_to_missing_task_fails(realtime: Realtime) -> None:
    with pytest.raises(telemetry.ConditionFailed):
        telemetry.append({"taskId": "tsk_missing", "kind": "log", "message": "", "actor": "x"})


def test_unknown_kind_is_refused(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    with pytest.raises(ValueError, match="kind"):
        telemetry.append(_event(task, kind="shout"))


def test_transition_reserves_one_seq_per_event_in_order(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    events, updated = telemetry.transition(
        task.id,
        task.project_id,
        actions=[Task.status.set("running")],
        condition=Task.status == "queued",
        events=[
            {"kind": "routed", "status": "running", "message": "r", "actor": "router"},
            {"kind": "status", "status": "running", "message": "go", "actor": "dispatch"},
        ],
        return_task=True,
    )
    assert [e["seq"] for e in events] == [2, 3]
    assert updated.status == "running"
    assert updated.last_seq == 3
    stored = [telemetry.activity_to_event(a) for a in activity_of(task.id)][1:]
    assert stored == events


def test_events_for_task_recent_and_after(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    for i in range(9):
        telemetry.append(_event(task, message=str(i)))
    assert [e["seq"] for e in telemetry.events_for_task(task.id, limit=3)] == [8, 9, 10]
    assert [e["seq"] for e in telemetry.events_for_task(task.id, after=7)] == [8, 9, 10]
    assert [e["seq"] for e in telemetry.events_for_task(task.id, after=0, limit=2)] == [1, 2]


def test_oversized_event_is_truncated_to_a_reference() -> None:
    event = telemetry.make_event(
        task_id="tsk_1",
        project_id="prj_1",
        seq=7,
        kind="status",
        status="completed",
        message="done",
        actor="dispatch",
        data={"result": "x" * 200_000},
    )
    raw = telemetry.encode_message(event)
    assert len(raw) <= telemetry.MAX_MESSAGE_BYTES
    decoded = json.loads(raw)
    assert decoded["seq"] == 7
    assert decoded["data"]["truncated"] is True
    assert decoded["data"]["ref"] == "/tasks/tsk_1/activity?after=6"
    small = dict(event, data={"result": 1})
    assert json.loads(telemetry.encode_message(small)) == small
