"""Processes killed under running tasks (issue 16, point 9): the executor SIGKILLed mid-run
(then back, or gone for good), a busy worker SIGKILLed mid-module, idle workers SIGKILLed
before the next tasks. Real executor child processes on 127.0.0.1, in-process moto, the real
dispatch handler and sweeper driven as SQS and the schedule would (``ParallelLifecycle``).

Every task must end (terminal or review) within a bounded number of delivery rounds, with
exactly one end event, the last, and seqs strictly increasing (``assert_ended_once``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import executor_client
from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.dal.models import Task
from tests.chaos.support import (
    ExecutorProcess,
    ParallelLifecycle,
    all_ended,
    assert_all_ended_once,
    create_tasks,
    gone,
    kill_pids,
    story,
    wait_for,
)
from tests.unit.realtime_fakes import Realtime, decision, install_fakes, realtime, seed_project

__all__ = ["realtime"]

pytestmark = pytest.mark.slow

SLEEP = {"seconds": 2.0, "steps": 4}


@pytest.fixture
def executor(realtime: Realtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExecutorProcess]:
    """A live executor child (2 workers) that dispatch reaches through its real gRPC client."""
    # A lease long enough that a run never loses it to a slow CI heartbeat, short enough that
    # the (virtual-clock) sweeper's take-back is exercised the same way.
    realtime.setenv("AION_LEASE_SECONDS", "30")
    realtime.setenv("AION_HEARTBEAT_SECONDS", "0.5")
    process = ExecutorProcess(workers=2)
    try:
        yield process
    finally:
        process.stop()


def _route_to(monkeypatch: pytest.MonkeyPatch, executor: ExecutorProcess, **params) -> None:
    """The router sends every task to ``test.sleep`` with ``params`` on the live executor."""
    install_fakes(monkeypatch, route=decision("test.sleep", params={**SLEEP, **params}))
    monkeypatch.setattr(executor_client, "get_executor_client", executor.current_client)


def _lifecycle(realtime: Realtime) -> ParallelLifecycle:
    """Rounds whose schedule clock steps past the lease (30 s) but not past the queued re-drive
    threshold (600 s), as on AWS where a failed delivery's backoff (at most 300 s) is shorter
    than that threshold: a task waiting out its backoff is not re-sent on top."""
    return ParallelLifecycle(realtime.queue_url, get_settings().dispatch.max_receives, step_s=60.0)


def _owner() -> tuple[Principal, str]:
    project = seed_project()
    return Principal(user_id=project.owner_id, role="member"), project.id


def _running_on_a_worker(task_id: str) -> bool:
    """The module began: its first progress event is stored."""
    return any(kind == "progress" for _, kind, _, _ in story(task_id))


def _kill_mid_run(
    life: ParallelLifecycle, executor: ExecutorProcess, task_ids: list[str]
) -> list[str]:
    """Start a round, SIGKILL the executor once every task's module began (or its run already
    ended: a loaded machine can finish one before the other starts); the tasks cut mid-run."""
    life.start_round()
    for task_id in task_ids:
        wait_for(lambda t=task_id: _running_on_a_worker(t), what=f"{task_id} running")
    victims = [t for t in task_ids if Task.get(t, consistent_read=True).status == "running"]
    executor.sigkill()
    life.finish_round()
    assert victims, "every run ended before the kill"
    return victims


def test_executor_sigkilled_mid_run_then_back_every_task_completes(
    realtime: Realtime, executor: ExecutorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    _route_to(monkeypatch, executor)
    owner, project_id = _owner()
    task_ids = create_tasks(owner, project_id, 2)
    life = _lifecycle(realtime)
    victims = _kill_mid_run(life, executor, task_ids)
    # Each run lost its executor mid-module: a transient failure, back to the queue.
    assert life.outcomes.count("RetryLater") == len(victims), life.outcomes
    executor.restart()
    life.run_all(task_ids, rounds=6)
    ended = assert_all_ended_once(task_ids)
    assert {t.status for t in ended.values()} == {"completed"}, {t: story(t) for t in task_ids}
    for task_id in victims:
        assert any("Will retry" in message for *_, message in story(task_id)), story(task_id)


def test_executor_sigkilled_for_good_every_task_ends_within_its_deliveries(
    realtime: Realtime, executor: ExecutorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    realtime.setenv("AION_DISPATCH_MAX_RECEIVES", "3")
    _route_to(monkeypatch, executor)
    owner, project_id = _owner()
    task_ids = create_tasks(owner, project_id, 2)
    life = _lifecycle(realtime)
    victims = _kill_mid_run(life, executor, task_ids)
    # Nothing answers any more: each delivery fails until the last one fails the task.
    config = get_settings().dispatch
    life.run_all(task_ids, rounds=config.max_receives + 2)
    assert not life.dead, ("a message went to the DLQ instead of ending its task", life.outcomes)
    assert all_ended(task_ids), life.outcomes
    ended = assert_all_ended_once(task_ids)
    for task_id in victims:
        task = ended[task_id]
        assert task.status in ("failed", "needs_review"), story(task_id)
        if task.status == "failed":
            assert task.error["code"] == "retries_exhausted", task.error


def test_busy_worker_sigkilled_fails_only_its_task(
    realtime: Realtime, executor: ExecutorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    _route_to(monkeypatch, executor, log_pid=True)
    owner, project_id = _owner()
    victim, bystander = create_tasks(owner, project_id, 2)
    life = _lifecycle(realtime)
    life.start_round()

    def worker_pid() -> int | None:
        for _, kind, _, message in story(victim):
            if kind == "log" and message.startswith("pid "):
                return int(message.split()[1])
        return None

    pid = wait_for(worker_pid, what="the victim's worker pid")
    assert pid in executor.tree()  # a worker of the executor this test started
    kill_pids([pid])
    wait_for(lambda: gone(pid), what="the worker's end")
    life.finish_round()
    life.run_all([victim, bystander], rounds=4)
    ended = assert_all_ended_once([victim, bystander])
    # The module was running: a crash is not retried (it could crash again, or did work).
    assert (ended[victim].status, ended[victim].error["code"]) == ("failed", "module_crashed")
    assert ended[bystander].status == "completed", story(bystander)
    # The pool replaced the worker: the next tasks all run.
    _route_to(monkeypatch, executor, seconds=0.2, steps=1)
    after = create_tasks(owner, project_id, 3)
    life.run_all(after, rounds=3)
    assert {t.status for t in assert_all_ended_once(after).values()} == {"completed"}


def test_idle_workers_sigkilled_the_next_tasks_complete(
    realtime: Realtime, executor: ExecutorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    _route_to(monkeypatch, executor, seconds=0.3, steps=1, log_pid=True)
    owner, project_id = _owner()
    life = _lifecycle(realtime)
    # Two tasks at once run on the two workers: their logs name both pids.
    first = create_tasks(owner, project_id, 2)
    life.run_all(first, rounds=2)
    assert_all_ended_once(first)
    pids = {
        int(message.split()[1])
        for task_id in first
        for _, kind, _, message in story(task_id)
        if kind == "log" and message.startswith("pid ")
    }
    tree = executor.tree()
    assert pids, first  # both workers, unless one took both tasks in turn
    assert pids <= set(tree), (pids, tree)
    kill_pids(pids)  # idle now: both tasks ended
    wait_for(lambda: all(gone(p) for p in pids), what="the workers' end")
    after = create_tasks(owner, project_id, 4)
    life.run_all(after, rounds=3)
    ended = assert_all_ended_once(after)
    assert {t.status for t in ended.values()} == {"completed"}, {
        t: story(t) for t in after if ended[t].status != "completed"
    }
    assert all(int(Task.get(t).attempts) == 1 for t in after)
