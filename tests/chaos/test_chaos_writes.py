"""Every task ends, whatever write fails (issue 16, points 2 and 9).

A fault-free run of one task (create, claim, progress, completion) is counted call by call;
then, for EACH of those DynamoDB writes, a fresh task is run with that one write answered by
DynamoDB with a ``ValidationException`` (refused for good: the item too large), a throttle, or
a 500. Every run must end (terminal or review) with exactly one end event, the last one, seqs
strictly increasing; a create that fails leaves nothing behind.
"""

from __future__ import annotations

import contextlib

import pytest

from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.dal.models import Task
from chalicelib.logic import tasks
from chalicelib.models.tasks import TaskCreate
from tests.chaos.harness import (
    ErrorFactory,
    Faults,
    Lifecycle,
    assert_ended_once,
    server_error,
    throttled,
    validation_error,
)
from tests.unit.realtime_fakes import Realtime, install_fakes, realtime, seed_project

__all__ = ["realtime"]


@pytest.fixture
def quiet_lease(realtime: Realtime, monkeypatch: pytest.MonkeyPatch) -> Realtime:
    """No lease renewal during a run (the fake executor answers at once): the writes of a run
    are the same from one run to the next, so each can be failed by its index."""
    realtime.setenv("AION_HEARTBEAT_SECONDS", "30")
    return realtime


def _run(realtime: Realtime, plan: dict[int, ErrorFactory]) -> tuple[Faults, str | None]:
    """One task through its lifecycle with ``plan``'s faults; (faults, task id or None)."""
    project = seed_project()
    owner = Principal(user_id=project.owner_id, role="member")
    with pytest.MonkeyPatch.context() as patch:
        faults = Faults(plan=dict(plan)).install(patch)
        try:
            created, _ = tasks.create_task(
                owner, TaskCreate(project_id=project.id, instruction="count the words")
            )
        except Exception:
            # The client got an error; nothing of the task may be left behind.
            assert list(Task.by_project.query(project.id)) == []
            return faults, None
        life = Lifecycle(realtime.queue_url, get_settings().dispatch.max_receives)
        life.run(created.id)
    return faults, created.id


@pytest.mark.parametrize(
    "error", [validation_error, throttled, server_error], ids=["validation", "throttle", "5xx"]
)
def test_a_failure_at_each_write_still_ends_the_task_once(
    quiet_lease: Realtime, monkeypatch: pytest.MonkeyPatch, error: ErrorFactory
) -> None:
    install_fakes(monkeypatch)
    baseline, task_id = _run(quiet_lease, {})
    assert task_id is not None
    assert assert_ended_once(task_id).status == "completed"
    writes = len(baseline.seen)
    assert writes >= 5, baseline.seen  # create, claim, progress..., completion
    for index in range(writes):
        faults, task_id = _run(quiet_lease, {index: error})
        assert faults.injected, (index, faults.seen)
        assert faults.injected[0][0] == index, (index, faults.seen)
        if task_id is not None:
            ended = assert_ended_once(task_id)
            if error is validation_error and index > 0:
                # Refused for good: ended at once, not retried until its attempts ran out.
                assert ended.status in ("completed", "failed"), (index, ended.status)


@pytest.mark.parametrize(
    "error", [validation_error, throttled, server_error], ids=["validation", "throttle", "5xx"]
)
def test_a_failure_at_each_write_of_a_cancel_still_ends_the_task_once(
    quiet_lease: Realtime, monkeypatch: pytest.MonkeyPatch, error: ErrorFactory
) -> None:
    """A cancel writes the status, then its event (its seq is taken by the status write):
    a failed event write once left a canceled task without its end event."""
    install_fakes(monkeypatch)
    for index in range(1, 6):  # 0 is the create
        project = seed_project()
        owner = Principal(user_id=project.owner_id, role="member")
        with pytest.MonkeyPatch.context() as patch:
            faults = Faults(plan={index: error}).install(patch)
            created, _ = tasks.create_task(
                owner, TaskCreate(project_id=project.id, instruction="count the words")
            )
            # The client may see an error; the task must still end.
            with contextlib.suppress(Exception):
                tasks.cancel_task(owner, created.id)
            Lifecycle(quiet_lease.queue_url, get_settings().dispatch.max_receives).run(created.id)
        ended = assert_ended_once(created.id)
        assert ended.status in ("canceled", "completed"), (index, faults.seen)


def test_a_task_no_delivery_can_dispatch_fails_within_the_redrive_bound(
    quiet_lease: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every delivery fails (here the router raises): the message ends in the DLQ, the sweeper
    re-sends it ``max_redrives`` times, then the task fails. Once it was re-sent forever."""
    from chalicelib.logic import routing

    install_fakes(monkeypatch)

    def broken(task: object) -> object:
        raise RuntimeError("the router is broken")

    monkeypatch.setattr(routing, "route_for_task", broken)
    project = seed_project()
    owner = Principal(user_id=project.owner_id, role="member")
    created, _ = tasks.create_task(owner, TaskCreate(project_id=project.id, instruction="x"))
    config = get_settings().dispatch
    life = Lifecycle(quiet_lease.queue_url, config.max_receives)
    ended = life.run(created.id, rounds=config.max_redrives + 4)
    assert (ended.status, ended.error["code"]) == ("failed", "dispatch_stalled"), life.outcomes
    assert_ended_once(created.id)
    # Every delivery failed until the task ended: the first message and each re-send.
    assert life.outcomes.count("RuntimeError") > config.max_redrives
