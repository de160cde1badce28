"""AWS answering with throttles and 5xx (issue 16, point 9), at every kind of call: DynamoDB
(pynamodb's and boto3's clients), SQS, S3; reads as well as writes; the API's create, the
dispatch Lambda and the sweeper alike.

Three kinds of trouble:
- on the wire, refused (``WireFaults``): a share of the requests are answered with a throttle or
  a 5xx before they have any effect; botocore retries them as it would AWS's answers;
- on the wire, applied: the request takes effect, then its answer is lost as a 5xx; botocore's
  retry meets its own write (a conditional write then fails its condition);
- surfaced (``Faults``): the error reaches the code as if every retry had failed.

Every task that exists (a create that errs may still have written one) must end within a
bounded number of delivery rounds, with exactly one end event, the last, seqs strictly
increasing.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.dal.models import Task
from chalicelib.executor_client import ExecEvent
from chalicelib.logic import tasks
from chalicelib.models.tasks import TaskCreate
from tests.chaos.harness import Faults, assert_ended_once, server_error, throttled
from tests.chaos.support import (
    ParallelLifecycle,
    WireFaults,
    assert_all_ended_once,
    is_spared,
    spared,
    story,
)
from tests.unit.realtime_fakes import (
    Realtime,
    fake_executor,
    install_fakes,
    realtime,
    seed_project,
)

__all__ = ["realtime"]

TASKS = 8
# A bound on the rounds: each round may lose a delivery to a fault (a receive), a task may be
# re-driven by the sweeper after its message went to the DLQ; (receives + 1) x (redrives + 1)
# rounds cover every path to an end.
ROUNDS = 40


@pytest.fixture
def chaos(realtime: Realtime, atomic_dynamodb: None, monkeypatch: pytest.MonkeyPatch) -> Realtime:
    realtime.setenv("AION_HEARTBEAT_SECONDS", "30")  # no renewals: runs are instant here
    realtime.setenv("AION_DISPATCH_MAX_RECEIVES", "3")
    realtime.setenv("AION_DISPATCH_MAX_REDRIVES", "2")
    install_fakes(monkeypatch)
    return realtime


def _create_all(owner: Principal, project_id: str) -> list[str]:
    return _create_all_n(owner, project_id, TASKS)


def _create_all_n(owner: Principal, project_id: str, count: int) -> list[str]:
    """Create ``count`` tasks; the client may see errors. The ids of every task that exists."""
    for n in range(count):
        # The client may get an error (a 5xx of its own) for a task that exists all the same.
        with contextlib.suppress(Exception):
            tasks.create_task(owner, TaskCreate(project_id=project_id, instruction=f"count {n}"))
    with spared():
        return [t.id for t in Task.by_project.query(project_id)]


def _run_to_the_end(
    chaos: Realtime,
    faults_install: Callable[[pytest.MonkeyPatch], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Any, list[str]]:
    project = seed_project()
    owner = Principal(user_id=project.owner_id, role="member")
    with pytest.MonkeyPatch.context() as patch:
        faults = faults_install(patch)
        task_ids = _create_all(owner, project.id)
        life = ParallelLifecycle(chaos.queue_url, get_settings().dispatch.max_receives)
        life.run_all(task_ids, rounds=ROUNDS)
    # The verdict (read without faults) is about what the faults left behind.
    return faults, task_ids


@pytest.mark.parametrize("seed", [1, 2])
def test_throttles_and_5xx_on_the_wire_are_retried_and_every_task_ends_once(
    chaos: Realtime, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    faults, task_ids = _run_to_the_end(
        chaos, lambda patch: WireFaults(rate=0.3, seed=seed).install(patch), monkeypatch
    )
    assert sum(faults.injected.values()) > 20, faults.injected
    assert {service for service, _, _ in faults.injected} >= {"dynamodb"}, faults.injected
    assert len(task_ids) >= TASKS - 2, task_ids  # retries absorbed most faults of the creates
    ended = assert_all_ended_once(task_ids)
    done = [t for t, task in ended.items() if task.status == "completed"]
    assert len(done) >= len(task_ids) // 2, {t: story(t) for t in task_ids}


@pytest.mark.parametrize("seed", [11, 12])
def test_writes_applied_whose_answer_is_lost_end_every_task_once(
    chaos: Realtime, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """The nastiest 5xx: DynamoDB did the write, the client saw a 500 and retried it."""
    faults, task_ids = _run_to_the_end(
        chaos,
        lambda patch: WireFaults(
            rate=0.2, seed=seed, applied=True, kinds=("5xx",), services=frozenset({"dynamodb"})
        ).install(patch),
        monkeypatch,
    )
    assert sum(faults.injected.values()) > 10, faults.injected
    assert task_ids
    assert_all_ended_once(task_ids)


@pytest.mark.parametrize("seed", [21, 22])
def test_surfaced_errors_at_any_call_end_every_task_once(
    chaos: Realtime, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Any AWS call (reads, SQS, S3 included) fails outright, as after botocore's retries."""
    rng = random.Random(seed)
    plan = {i: rng.choice([throttled, server_error]) for i in range(5000) if rng.random() < 0.1}

    def install(patch: pytest.MonkeyPatch) -> Faults:
        # Every call but the test's own, playing SQS's side (the product never makes them).
        def watch(service: str, operation: str) -> bool:
            return not is_spared() and operation not in ("ReceiveMessage", "DeleteMessage")

        return Faults(watch=watch, plan=plan).install(patch)

    faults, task_ids = _run_to_the_end(chaos, install, monkeypatch)
    assert len(faults.injected) > 10, faults.injected
    assert {service for _, service, _ in faults.injected} >= {"dynamodb"}
    assert task_ids
    assert_all_ended_once(task_ids)


def _crashing_first_run() -> Callable[[threading.Event], Iterator[ExecEvent]]:
    """The first run's Lambda dies mid-module (the sweeper takes its lease back); later runs
    finish."""
    runs: list[int] = []

    def script(cancel: threading.Event) -> Iterator[ExecEvent]:
        runs.append(1)
        yield ExecEvent("started")
        if len(runs) == 1:
            raise RuntimeError("the Lambda died")
        yield ExecEvent("result", 1.0, result={"words": 3})

    return script


@pytest.mark.parametrize(
    ("crash", "max_attempts"),
    [(False, 3), (True, 3), (True, 1)],
    ids=["clean-run", "lease-taken-back", "lease-expired-fails"],
)
def test_each_write_applied_whose_answer_is_lost_still_ends_the_task_once(
    chaos: Realtime, monkeypatch: pytest.MonkeyPatch, crash: bool, max_attempts: int
) -> None:
    """Deterministic: for EACH DynamoDB write of a run (the create, the claim, progress, the
    sweeper's take-back, the end), a fresh task whose write at that index is applied and
    answered with a 500 (botocore retries it: a conditional write then meets its own effect)."""
    from tests.chaos.harness import DYNAMODB_WRITES, Lifecycle

    chaos.setenv("AION_DISPATCH_MAX_ATTEMPTS", str(max_attempts))

    def one(at: frozenset[int]) -> tuple[WireFaults, list[str]]:
        if crash:
            install_fakes(monkeypatch, executor=fake_executor(_crashing_first_run()))
        project = seed_project()
        owner = Principal(user_id=project.owner_id, role="member")
        with pytest.MonkeyPatch.context() as patch:
            faults = WireFaults(
                rate=0.0,
                seed=0,
                applied=True,
                kinds=("5xx",),
                services=frozenset({"dynamodb"}),
                operations=DYNAMODB_WRITES,
                at=at,
            ).install(patch)
            task_ids = _create_all_n(owner, project.id, 1)
            life = Lifecycle(chaos.queue_url, get_settings().dispatch.max_receives)
            for task_id in task_ids:
                life.run(task_id, rounds=12)
        return faults, task_ids

    baseline, task_ids = one(frozenset())
    expected = "failed" if crash and max_attempts == 1 else "completed"
    assert assert_all_ended_once(task_ids)[task_ids[0]].status == expected
    writes = baseline.watched
    assert writes >= 4, writes
    for index in range(writes):
        faults, task_ids = one(frozenset({index}))
        assert sum(faults.injected.values()) == 1, (index, faults.injected)
        assert task_ids, index
        for task_id in task_ids:
            try:
                assert_ended_once(task_id)
            except AssertionError as exc:
                raise AssertionError(f"write {index} ({faults.injected}): {exc}") from exc
