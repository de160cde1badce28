"""Activity log: per-task seqs are unique and strictly increasing, whoever writes."""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib.dal.models import Task
from chalicelib.dal.task_updates import ConditionFailed, append_event, event_of, write_events
from chalicelib.logic import fanout, lifecycle, telemetry
from chalicelib.models.tasks import EventDraft, TelemetryEvent
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    realtime,
    seed_project,
    seed_task,
    serialize_task_updates,
)

__all__ = ["realtime"]


def _draft(message: str = "hello", **extra: object) -> EventDraft:
    return EventDraft("log", message, "worker", **extra)  # type: ignore[arg-type]


def test_append_takes_next_seq_and_fills_project_and_status(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    stored = append_event(task.id, _draft(), condition=None)
    assert stored.seq == 2
    assert stored.project_id == task.project_id
    assert stored.status == "queued"
    assert stored.to_wire()["type"] == "telemetry"
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
            written = lifecycle.transition(
                task, "queued", None, events=[_draft(f"{n}/{i}", status="running")]
            )
            with lock:
                seqs.append(written.events[0].seq)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(2, 32))
    assert [int(a.seq) for a in activity_of(task.id)] == list(range(1, 32))


def test_failed_condition_consumes_no_seq(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    with pytest.raises(ConditionFailed):
        append_event(task.id, _draft(), condition=Task.status == "running")
    assert Task.get(task.id).last_seq == 1
    assert len(activity_of(task.id)) == 1


def test_append_to_missing_task_fails(realtime: Realtime) -> None:
    with pytest.raises(ConditionFailed):
        append_event("tsk_missing", _draft(), condition=None)


def test_unknown_kind_or_status_is_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="kind"):
        EventDraft("shout", "m", "a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status"):
        EventDraft("log", "m", "a", status="paused")  # type: ignore[arg-type]


def test_one_write_reserves_one_seq_per_event_in_order(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    events, updated = write_events(
        task.id,
        task.project_id,
        actions=[Task.status.set("running")],
        condition=Task.status == "queued",
        drafts=[EventDraft("routed", "r", "router"), EventDraft("status", "go", "dispatch")],
        status="running",
        return_task=True,
    )
    assert [e.seq for e in events] == [2, 3]
    assert [e.status for e in events] == ["running", "running"]
    assert updated is not None
    assert updated.status == "running"
    assert updated.last_seq == 3
    stored = [event_of(a) for a in activity_of(task.id)][1:]
    assert stored == events


def test_events_of_task_recent_and_after(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    for i in range(9):
        append_event(task.id, _draft(str(i)), condition=None)
    assert [e.seq for e in telemetry.events_of_task(task.id, limit=3)] == [8, 9, 10]
    assert [e.seq for e in telemetry.events_of_task(task.id, after=7)] == [8, 9, 10]
    assert [e.seq for e in telemetry.events_of_task(task.id, after=0, limit=2)] == [1, 2]
    # The WebSocket backlog carries the same events in their wire shape.
    wire = telemetry.events_for_task(task.id, after=7)
    assert wire == [e.to_wire() for e in telemetry.events_of_task(task.id, after=7)]
    assert wire[0]["taskId"] == task.id


def test_the_wire_shape_is_the_designed_telemetry_event() -> None:
    event = TelemetryEvent(
        task_id="tsk_1",
        project_id="prj_1",
        seq=3,
        kind="progress",
        status="running",
        message="half",
        at="2026-01-01T00:00:00.000Z",
        actor="executor",
        progress=0.5,
    )
    assert event.to_wire() == {
        "type": "telemetry",
        "taskId": "tsk_1",
        "projectId": "prj_1",
        "seq": 3,
        "kind": "progress",
        "status": "running",
        "progress": 0.5,
        "message": "half",
        "at": "2026-01-01T00:00:00.000Z",
        "actor": "executor",
    }
    # No progress, no data: left out on the wire, null in the REST shape.
    log = event.model_copy(update={"kind": "log", "progress": None})
    assert "progress" not in log.to_wire()
    assert "data" not in log.to_wire()
    assert log.to_json()["progress"] is None
    assert log.to_json()["data"] is None
    assert TelemetryEvent.model_validate(event.to_wire()) == event


def test_oversized_event_is_truncated_to_a_reference() -> None:
    event = TelemetryEvent(
        task_id="tsk_1",
        project_id="prj_1",
        seq=7,
        kind="status",
        status="completed",
        message="done",
        at="2026-01-01T00:00:00.000Z",
        actor="dispatch",
        data={"result": "x" * 200_000},
    ).to_wire()
    raw = fanout.encode_message(event)
    assert len(raw) <= fanout.MAX_MESSAGE_BYTES
    decoded = json.loads(raw)
    assert decoded["seq"] == 7
    assert decoded["data"]["truncated"] is True
    assert decoded["data"]["ref"] == "/tasks/tsk_1/activity?after=6"
    small = dict(event, data={"result": 1})
    assert json.loads(fanout.encode_message(small)) == small
