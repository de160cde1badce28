"""Fair dispatch (issue 16, 1b): per-person and per-project caps, a lane for long tasks.

One person's many long tasks hold at most the long lane; their excess waits ``queued`` with a
reason (an event, and ``waiting`` on the task), and another person's trivial task runs at
once. Asserted by what was written and in which order, never by durations.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from unittest.mock import create_autospec

import boto3
import pytest

from chalicelib.config import get_settings
from chalicelib.dal.admission_models import Slot
from chalicelib.dal.models import Task
from chalicelib.executor_client import ExecEvent, ExecutorClient
from chalicelib.logic import admission, dispatch
from chalicelib.shared import cost
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    decision,
    install_fakes,
    realtime,
    seed_project,
    seed_task,
)

__all__ = ["realtime"]

LONG_MODULE = "image.resize"  # a module the cost model cannot bound: the long lane
RESULT = [ExecEvent("started"), ExecEvent("result", 1.0, result={"ok": True})]


@pytest.fixture
def fair(realtime: Realtime, atomic_dynamodb: None, monkeypatch: pytest.MonkeyPatch) -> Realtime:
    """Caps small enough to fill: 2 runs per person, 1 long run at a time; no wait delay."""
    monkeypatch.setenv("AION_USER_CONCURRENCY", "2")
    monkeypatch.setenv("AION_PROJECT_CONCURRENCY", "0")  # off: tested on its own below
    monkeypatch.setenv("AION_LONG_LANE_SLOTS", "1")
    # Places the tests take by hand hold for their lease: a minute, not the 3 s the realtime
    # fixture gives runs, so a loaded machine cannot let them expire mid-test.
    monkeypatch.setenv("AION_LEASE_SECONDS", "60")
    realtime.setenv("AION_DISPATCH_WAIT_BASE_SECONDS", "0")
    return realtime


class Executor:
    """Long calls block until ``finish`` is set; short calls answer at once."""

    def __init__(self) -> None:
        self.finish = threading.Event()
        self.started: list[str] = []
        self.lock = threading.Lock()
        self.client = create_autospec(ExecutorClient, instance=True)
        self.client.execute.side_effect = self._execute
        self.client.health.return_value = True

    def _execute(self, **kwargs: Any) -> Iterator[ExecEvent]:
        with self.lock:
            self.started.append(kwargs["task_id"])
        if kwargs["module"] == LONG_MODULE:
            return self._long(kwargs["cancel"])
        return iter(RESULT)

    def _long(self, cancel: threading.Event) -> Iterator[ExecEvent]:
        yield ExecEvent("started")
        while not (self.finish.wait(0.01) or cancel.is_set()):
            pass
        yield ExecEvent("result", 1.0, result={"ok": True})


def _route_by_instruction(monkeypatch: pytest.MonkeyPatch, executor: Executor) -> None:
    fakes = install_fakes(monkeypatch, executor=executor.client)
    fakes.route_for_task.side_effect = lambda task: decision(
        LONG_MODULE if task.instruction == "long" else "text.stats"
    )


def _body(task: Task, deferrals: int = 0) -> str:
    message: dict[str, Any] = {"taskId": task.id, "attempt": 1}
    if deferrals:
        message["deferrals"] = deferrals
    return json.dumps(message)


def _queued(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return out
        for message in got["Messages"]:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _places() -> list[tuple[str, str]]:
    return sorted((s.scope, s.task_id) for s in Slot.scan())


def test_cost_lanes() -> None:
    assert admission.lane_of("executor", "text.stats", 200) == cost.SHORT
    assert admission.lane_of("executor", LONG_MODULE, 200) == cost.LONG
    assert admission.lane_of("llm", "llm.generate", 10) == admission.LLM


def test_one_persons_long_tasks_wait_while_anothers_trivial_task_runs(
    fair: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = Executor()
    _route_by_instruction(monkeypatch, executor)
    project = seed_project(owner="usr_hostile", members=("usr_victim",))
    hostile = [seed_task(project, instruction="long") for _ in range(3)]
    for task in hostile:
        task.update(actions=[Task.created_by.set("usr_hostile")])
    victim = seed_task(project, instruction="count the words")
    victim.update(actions=[Task.created_by.set("usr_victim")])

    outcomes: dict[str, str] = {}
    first = threading.Thread(
        target=lambda: outcomes.__setitem__(
            hostile[0].id, dispatch.handle_message(_body(hostile[0])).status
        )
    )
    first.start()
    try:
        while hostile[0].id not in executor.started:  # the first long task holds the lane
            first.join(0.01)
        # The lane is full: the person's other long tasks wait, whoever they are.
        for task in hostile[1:]:
            assert dispatch.handle_message(_body(task)).status == "waiting"
        # Another person's trivial task runs at once, while the long one still runs.
        assert dispatch.handle_message(_body(victim)).status == "completed"
        assert Task.get(hostile[0].id).status == "running"
    finally:
        executor.finish.set()
        first.join(30)
    assert outcomes[hostile[0].id] == "completed"
    # Order of the runs: the trivial task finished before the long one did.
    assert Task.get(victim.id).finished_at < Task.get(hostile[0].id).finished_at

    for task in hostile[1:]:
        waited = Task.get(task.id)
        assert waited.status == "queued"
        assert waited.waiting["code"] == admission.LONG_LANE_FULL
        events = [(a.kind, a.status, a.message) for a in activity_of(task.id)]
        assert events[-1][:2] == ("log", "queued")
        assert "long tasks" in events[-1][2]
    # Their messages were sent again (a new message each: no delivery used up).
    resent = _queued(fair.queue_url)
    assert sorted(m["taskId"] for m in resent) == sorted(t.id for t in hostile[1:])
    assert all(m["deferrals"] == 1 for m in resent)
    # Every place was freed by the runs that ended.
    assert _places() == []


def test_a_waiting_task_tells_its_reason_once_and_runs_when_a_place_frees(
    fair: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = Executor()
    _route_by_instruction(monkeypatch, executor)
    config = get_settings().dispatch
    project = seed_project(owner="usr_a")
    task = seed_task(project)
    held = [
        admission.admit(
            task_id=f"tsk_other{n}",
            created_by="usr_a",
            project_id=project.id,
            lane=cost.SHORT,
            owner=f"lease_other{n}",
            config=config,
        )
        for n in range(2)
    ]
    assert all(isinstance(h, admission.Places) for h in held)
    assert dispatch.handle_message(_body(task)).status == "waiting"
    first = Task.get(task.id)
    assert first.waiting["code"] == admission.USER_LIMIT
    assert dispatch.handle_message(_body(task, 1)).status == "waiting"
    again = Task.get(task.id)
    assert again.waiting["since"] == first.waiting["since"]
    assert again.updated_at >= first.updated_at  # touched: the sweeper leaves it alone
    logs = [a for a in activity_of(task.id) if a.kind == "log"]
    assert len(logs) == 1  # one event per reason, not one per look
    held[0].release()  # type: ignore[union-attr]
    assert dispatch.handle_message(_body(task, 2)).status == "completed"
    done = Task.get(task.id)
    assert done.waiting is None
    assert [s for s in _places() if s[1] == task.id] == []


def test_a_place_left_by_a_run_that_died_frees_when_its_lease_expires(
    fair: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = Executor()
    _route_by_instruction(monkeypatch, executor)
    config = get_settings().dispatch
    project = seed_project(owner="usr_a")
    for n in range(2):  # two runs that died holding the person's places
        admission.admit(
            task_id=f"tsk_dead{n}",
            created_by="usr_a",
            project_id=project.id,
            lane=cost.SHORT,
            owner=f"lease_dead{n}",
            config=config,
        )
    task = seed_task(project)
    assert dispatch.handle_message(_body(task)).status == "waiting"
    for slot in Slot.scan():
        slot.update(actions=[Slot.expires_at.set(1.0)])  # their leases ran out
    assert dispatch.handle_message(_body(task, 1)).status == "completed"


def test_a_projects_cap_bounds_its_members_together(
    fair: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AION_PROJECT_CONCURRENCY", "1")
    fair.setenv("AION_USER_CONCURRENCY", "0")
    executor = Executor()
    _route_by_instruction(monkeypatch, executor)
    project = seed_project(owner="usr_a", members=("usr_b",))
    other_project = seed_project(owner="usr_a")
    admission.admit(
        task_id="tsk_running",
        created_by="usr_b",
        project_id=project.id,
        lane=cost.SHORT,
        owner="lease_running",
        config=get_settings().dispatch,
    )
    assert dispatch.handle_message(_body(seed_task(project))).status == "waiting"
    assert dispatch.handle_message(_body(seed_task(other_project))).status == "completed"


def test_a_failed_run_frees_its_places(fair: Realtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.executor_client import ExecutorUnavailable
    from tests.unit.realtime_fakes import fake_executor

    install_fakes(monkeypatch, executor=fake_executor(ExecutorUnavailable("down")))
    task = seed_task(seed_project())
    with pytest.raises(dispatch.RetryLater):
        dispatch.handle_message(_body(task))
    assert _places() == []
    assert Task.get(task.id).status == "queued"


def test_the_waiting_reason_is_part_of_the_task_the_api_returns(
    fair: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.logic.tasks import task_out

    executor = Executor()
    _route_by_instruction(monkeypatch, executor)
    project = seed_project(owner="usr_a")
    for n in range(2):
        admission.admit(
            task_id=f"tsk_x{n}",
            created_by="usr_a",
            project_id=project.id,
            lane=cost.SHORT,
            owner=f"lease_x{n}",
            config=get_settings().dispatch,
        )
    task = seed_task(project)
    dispatch.handle_message(_body(task))
    shown = task_out(Task.get(task.id)).to_json()
    assert shown["status"] == "queued"
    assert shown["waiting"]["code"] == "user_limit"
    assert shown["waiting"]["message"].startswith("Waiting")
    # Canceled while it waited: it waits no more.
    from chalicelib.logic import lifecycle

    lifecycle.cancel(Task.get(task.id), actor="usr_a")
    assert task_out(Task.get(task.id)).to_json()["waiting"] is None


def test_llm_runs_have_their_own_lane(fair: Realtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """LLM runs wait for the LLM lane, not for the executors' long lane, and the other way
    round: a full LLM lane holds no executor run back."""
    fair.setenv("AION_LLM_LANE_SLOTS", "1")
    executor = Executor()
    fakes = install_fakes(monkeypatch, executor=executor.client)
    fakes.route_for_task.side_effect = lambda task: (
        decision("llm.generate", target="llm")
        if task.instruction == "write"
        else decision(LONG_MODULE)
    )
    project = seed_project(owner="usr_a")
    held = admission.admit(
        task_id="tsk_llm_running",
        created_by="usr_b",
        project_id="prj_other",
        lane=admission.LLM,
        owner="lease_llm_running",
        config=get_settings().dispatch,
    )
    assert isinstance(held, admission.Places)
    llm_task = seed_task(project, instruction="write")
    assert dispatch.handle_message(_body(llm_task)).status == "waiting"
    assert Task.get(llm_task.id).waiting["code"] == admission.LLM_LANE_FULL
    executor.finish.set()  # the long executor run ends as soon as it starts
    assert dispatch.handle_message(_body(seed_task(project))).status == "completed"
    held.release()
    assert dispatch.handle_message(_body(llm_task, 1)).status == "completed"
