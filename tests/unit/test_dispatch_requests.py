"""DynamoDB requests per task, counted: a regression in the access pattern fails here.

Every botocore API call in the process is counted by (service, operation) while a task is
created and dispatched; the expected numbers are what the access pattern needs:
- POST /tasks: the project (GetItem), task + first event (one TransactWriteItems), the
  project's subscribers (one Query: nobody can watch the new task's own topic yet).
- dispatch: the task (GetItem); every status/progress/log event is ONE TransactWriteItems
  (task update at the known seq + the activity item), except that the claim writes routed +
  running together and the terminal write takes the last coalesced progress along; the
  subscribers are looked up after the claim and after the terminal write (two topics each),
  progress in between reuses the lookup. Fair dispatch (chalicelib.logic.admission) adds a
  Query per scope the run counts against (person, project) and one TransactWriteItems to take
  the places and one to free them.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import botocore.client
import pytest

from chalicelib.auth.principal import Principal
from chalicelib.dal.models import Task
from chalicelib.dal.realtime_models import Subscription, project_topic
from chalicelib.executor_client import ExecEvent
from chalicelib.logic import dispatch, dispatch_run, tasks, telemetry
from chalicelib.models.tasks import TaskCreate
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    fake_executor,
    install_fakes,
    realtime,
    seed_project,
    seed_task,
)

__all__ = ["realtime"]

# Fair dispatch: one Query per scope (person, project), one write to take, one to free.
PLACE_QUERIES = 2
PLACE_WRITES = 2


class Calls:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def dynamodb(self) -> dict[str, int]:
        return {op: n for (service, op), n in sorted(self.counts.items()) if service == "dynamodb"}

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()


@pytest.fixture
def calls(realtime: Realtime, monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Count API calls; slow lease beats and a long subscriber cache so timing adds none."""
    realtime.setenv("AION_LEASE_SECONDS", "600")
    realtime.setenv("AION_HEARTBEAT_SECONDS", "300")
    monkeypatch.setattr(dispatch_run, "WATCHERS_MAX_AGE_S", 600.0)
    found = Calls()
    original = botocore.client.BaseClient._make_api_call

    def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
        with found.lock:
            found.counts[(client.meta.service_model.service_name, operation)] += 1
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return found


def _subscribe_project(project_id: str, connection_id: str = "c-1") -> None:
    from datetime import timedelta

    Subscription(
        project_topic(project_id),
        connection_id,
        user_id="u",
        created_at=0,
        expires_at=timedelta(hours=1),
    ).save()


def _script() -> list[ExecEvent]:
    return [
        ExecEvent("started"),
        ExecEvent("progress", 0.5, "half"),
        ExecEvent("log", message="counted"),
        ExecEvent("result", 1.0, result={"words": 3}),
    ]


def test_a_full_dispatch_costs_one_request_per_event_plus_reads(
    calls: Calls, realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fakes(monkeypatch, executor=fake_executor(_script()))
    project = seed_project()
    _subscribe_project(project.id)
    task = seed_task(project)
    calls.reset()
    outcome = dispatch.handle_message(json.dumps({"taskId": task.id, "attempt": 1}))
    assert outcome.status == "completed"
    events = len(outcome.events)  # routed, running, progress 0, progress .5, log, completed
    assert events == 6
    assert calls.dynamodb() == {
        "GetItem": 1,  # the task
        # Subscribers (task + project topic) after the claim and after the end; the places
        # of the person's and the project's scopes.
        "Query": 4 + PLACE_QUERIES,
        # The claim carries two events; the places are taken and freed.
        "TransactWriteItems": events - 1 + PLACE_WRITES,
    }
    # Every event reached the subscriber, in seq order, and the log matches.
    received = [m["seq"] for m in realtime.mgmt.messages_to("c-1")]
    assert received == [e.seq for e in outcome.events] == list(range(2, 2 + events))
    assert Task.get(task.id).last_seq == received[-1]


def test_the_last_coalesced_progress_rides_with_the_terminal_write(
    calls: Calls, realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    realtime.setenv("AION_PROGRESS_EVENTS_PER_SECOND", "1")  # 0.5 waits behind "started"
    install_fakes(monkeypatch, executor=fake_executor(_script()))
    project = seed_project()
    _subscribe_project(project.id)
    task = seed_task(project)
    calls.reset()
    outcome = dispatch.handle_message(json.dumps({"taskId": task.id, "attempt": 1}))
    kinds = [(e.kind, e.progress) for e in outcome.events]
    assert kinds == [
        ("routed", None),
        ("status", None),
        ("progress", 0.0),
        ("log", None),
        ("progress", 0.5),  # held by the coalescer, written with completed
        ("status", 1.0),
    ]
    assert calls.dynamodb()["TransactWriteItems"] == len(kinds) - 2 + PLACE_WRITES
    received = [m["seq"] for m in realtime.mgmt.messages_to("c-1")]
    assert received == [e.seq for e in outcome.events] == list(range(2, 8))
    assert [(a.kind, a.seq) for a in activity_of(task.id)][-2:] == [("progress", 6), ("status", 7)]


def test_creating_a_task_costs_three_requests(
    calls: Calls, realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = seed_project()
    _subscribe_project(project.id)
    owner = Principal(user_id=project.owner_id, role="member")
    calls.reset()
    created, _ = tasks.create_task(
        owner, TaskCreate(project_id=project.id, instruction="count words")
    )
    assert calls.dynamodb() == {"GetItem": 1, "Query": 1, "TransactWriteItems": 1}
    assert calls.counts[("sqs", "SendMessage")] == 1
    assert [m["seq"] for m in realtime.mgmt.messages_to("c-1")] == [1]
    assert created.status == "queued"


def test_an_event_from_another_writer_mid_run_keeps_seqs_strict(
    calls: Calls, realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's known seq goes stale: its next write falls back and takes fresh seqs."""
    project = seed_project()
    task = seed_task(project)

    def script(cancel: threading.Event) -> Iterator[ExecEvent]:
        yield ExecEvent("started")
        telemetry.record_external(
            task_id=task.id, kind="log", message="from a worker", actor="worker"
        )
        yield ExecEvent("progress", 0.5, "half")
        yield ExecEvent("result", 1.0, result={"ok": True})

    install_fakes(monkeypatch, executor=fake_executor(script))
    outcome = dispatch.handle_message(json.dumps({"taskId": task.id, "attempt": 1}))
    assert outcome.status == "completed"
    log = [(int(a.seq), a.kind, a.actor) for a in activity_of(task.id)]
    seqs = [seq for seq, _, _ in log]
    assert seqs == list(range(1, len(log) + 1))  # strict, no gap, no duplicate
    assert ("log", "worker") in [(kind, actor) for _, kind, actor in log]
    assert log[-1][1:] == ("status", "dispatch")
    assert Task.get(task.id).last_seq == seqs[-1]
    # The stale write cost one fallback (UpdateItem + PutItem) instead of one transaction.
    assert calls.dynamodb().get("UpdateItem", 0) == 2  # the worker's append + the fallback


def test_a_lost_lease_is_still_refused_on_the_one_request_path(
    calls: Calls, realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = seed_project()
    task = seed_task(project)

    def script(cancel: threading.Event) -> Iterator[ExecEvent]:
        yield ExecEvent("started")
        # Someone (the sweeper) took the task back; no seq was taken meanwhile.
        Task(task.id).update(
            actions=[Task.lease_owner.set("lease_other")], add_version_condition=False
        )
        yield ExecEvent("progress", 0.5, "half")
        yield ExecEvent("result", 1.0, result={"ok": True})

    install_fakes(monkeypatch, executor=fake_executor(script))
    outcome = dispatch.handle_message(json.dumps({"taskId": task.id, "attempt": 1}))
    assert outcome.status == "lost"
    assert [a.kind for a in activity_of(task.id)][-1] == "progress"  # the "started" one only
    assert Task.get(task.id).status == "running"  # untouched: the sweeper's to settle


def test_status_events_reach_known_and_new_subscribers_once_each(
    calls: Calls, realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from chalicelib.dal.realtime_models import task_topic

    project = seed_project()
    _subscribe_project(project.id, "c-early")
    task = seed_task(project)

    def script(cancel: threading.Event) -> Iterator[ExecEvent]:
        yield ExecEvent("started")
        # Subscribes mid-run: the run's cached lookup does not know this connection.
        Subscription(
            task_topic(task.id), "c-late", user_id="u", created_at=0, expires_at=timedelta(hours=1)
        ).save()
        yield ExecEvent("result", 1.0, result={"ok": True})

    install_fakes(monkeypatch, executor=fake_executor(script))
    outcome = dispatch.handle_message(json.dumps({"taskId": task.id, "attempt": 1}))
    assert outcome.status == "completed"
    early = [(m["seq"], m["kind"]) for m in realtime.mgmt.messages_to("c-early")]
    assert early == [(e.seq, e.kind) for e in outcome.events]
    late = [(m["seq"], m["status"]) for m in realtime.mgmt.messages_to("c-late")]
    assert late == [(outcome.events[-1].seq, "completed")]
    assert calls.dynamodb()["Query"] == 4 + PLACE_QUERIES
