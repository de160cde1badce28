"""SQS at its worst (issue 16, point 9): at-least-once delivery means duplicates, possibly at
the same moment; no ordering means a stale attempt's message can arrive after the attempt that
replaced it, and the next attempt's message before that attempt exists. Deliveries go through
the real SQS batch handler (``dispatch.handle_batch``, records of a batch in parallel) with
DynamoDB's per-write atomicity (``atomic_dynamodb``).

Every task must end with exactly one end event, the last, seqs strictly increasing; a task's
module runs once per attempt that was claimed, never twice for one attempt.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.dal.models import Task
from chalicelib.executor_client import ExecEvent
from chalicelib.logic import dispatch, sweeper
from tests.chaos.harness import Lifecycle, message_body
from tests.chaos.support import (
    ParallelLifecycle,
    assert_all_ended_once,
    create_tasks,
    story,
    wait_for,
)
from tests.unit.realtime_fakes import (
    Realtime,
    fake_executor,
    install_fakes,
    realtime,
    seed_project,
)

__all__ = ["realtime"]


@pytest.fixture
def chaos(realtime: Realtime, atomic_dynamodb: None) -> Realtime:
    return realtime


def _owner() -> tuple[Principal, str]:
    project = seed_project()
    return Principal(user_id=project.owner_id, role="member"), project.id


def _record(body: str, n: int, receive_count: int = 1) -> dict[str, Any]:
    """An SQS event record as Lambda hands it to the batch handler."""
    return {
        "messageId": f"m-{n}",
        "body": body,
        "receiptHandle": "",  # nothing to settle: this test plays SQS itself
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
    }


def _deliver_batches(bodies: list[str], batch_size: int = 10) -> Counter[str]:
    """Every body once, in batches through ``handle_batch``; a batch that raises
    ``BatchRetry`` has its failed records delivered again (bounded), as SQS would."""
    outcomes: Counter[str] = Counter()
    pending = [(body, 1) for body in bodies]
    for _ in range(get_settings().dispatch.max_receives):
        retry: list[tuple[str, int]] = []
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            records = [_record(body, n, count) for n, (body, count) in enumerate(batch)]
            try:
                for outcome in dispatch.handle_batch(records):
                    outcomes[outcome.status] += 1
            except dispatch.BatchRetry as exc:
                failed = {int(m.split("-")[1]) for m in exc.message_ids}
                outcomes["retry"] += len(failed)
                retry += [(body, count + 1) for n, (body, count) in enumerate(batch) if n in failed]
        if not retry:
            break
        pending = retry
    return outcomes


def _runs_per_attempt(fakes: Any) -> Counter[tuple[str, int]]:
    return Counter((call["task_id"], call["attempt"]) for call in fakes.executor_calls)


def test_duplicates_at_once_and_next_attempts_early_run_each_task_once(
    chaos: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = install_fakes(monkeypatch)
    owner, project_id = _owner()
    task_ids = create_tasks(owner, project_id, 8)
    life = Lifecycle(chaos.queue_url, get_settings().dispatch.max_receives)
    life.pull()
    assert len(life.pending) == len(task_ids)
    bodies = [d.body for d in life.pending for _ in range(3)]  # each message three times
    # The next attempt's message before that attempt exists (no such attempt: skipped).
    bodies += [message_body(task_id, attempt=2) for task_id in task_ids]
    random.Random(16).shuffle(bodies)
    outcomes = _deliver_batches(bodies, batch_size=6)
    assert outcomes["completed"] == len(task_ids), outcomes
    ended = assert_all_ended_once(task_ids)
    assert {t.status for t in ended.values()} == {"completed"}
    assert _runs_per_attempt(fakes) == Counter({(t, 1): 1 for t in task_ids})


def _blocking_first_run(
    gate: threading.Event, started: threading.Event
) -> Callable[[threading.Event], Iterator[ExecEvent]]:
    """A script whose first run hangs (a frozen Lambda) until ``gate``; later runs finish."""
    runs = Counter[str]()
    lock = threading.Lock()

    def script(cancel: threading.Event) -> Iterator[ExecEvent]:
        with lock:
            runs["n"] += 1
            first = runs["n"] == 1
        yield ExecEvent("started")
        if first:
            started.set()
            gate.wait(20)  # bounded: the test opens it
        yield ExecEvent("progress", 0.5, "half")
        yield ExecEvent("result", 1.0, result={"words": 3})

    return script


def test_a_zombie_run_and_stale_attempts_after_a_takeback_end_the_task_once(
    chaos: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempt 1's run hangs; the sweeper takes its lease back (attempt 2). Attempt 2's
    message and late duplicates of attempt 1's arrive in any order, then the zombie wakes."""
    gate, started = threading.Event(), threading.Event()
    fakes = install_fakes(monkeypatch, executor=fake_executor(_blocking_first_run(gate, started)))
    owner, project_id = _owner()
    (task_id,) = create_tasks(owner, project_id, 1)
    life = ParallelLifecycle(chaos.queue_url, get_settings().dispatch.max_receives)
    life.start_round()
    first_body = life.pending[0].body
    wait_for(started.is_set, what="the first run")
    # The schedule runs while the run hangs: its lease, seen an hour later, has expired.
    # (A heartbeat renewing between the sweeper's read and its write wins; it sweeps again.)
    requeued = wait_for(
        lambda: sweeper.sweep(now=life.clock + 3_600).requeued, what="the take-back"
    )
    assert requeued == [task_id]
    life.pull()  # attempt 2's message
    second_body = next(d.body for d in life.pending if d.body != first_body)
    bodies = [first_body, second_body, first_body, message_body(task_id, attempt=3)]
    random.Random(9).shuffle(bodies)
    outcomes = _deliver_batches(bodies, batch_size=2)
    gate.set()  # the zombie wakes: its lease is gone, its writes must change nothing
    life.finish_round()
    ended = assert_all_ended_once([task_id])[task_id]
    assert (ended.status, int(ended.attempts)) == ("completed", 2), (outcomes, story(task_id))
    assert _runs_per_attempt(fakes) == Counter({(task_id, 1): 1, (task_id, 2): 1})
    assert "lost" in life.outcomes, life.outcomes  # the zombie's own verdict
    assert Task.get(task_id).result == {"words": 3}


def test_duplicates_racing_a_cancel_end_each_task_once(
    chaos: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Duplicate deliveries while their tasks are canceled: canceled or completed, once."""
    from chalicelib.logic import tasks

    install_fakes(monkeypatch)
    owner, project_id = _owner()
    task_ids = create_tasks(owner, project_id, 6)
    life = Lifecycle(chaos.queue_url, get_settings().dispatch.max_receives)
    life.pull()
    bodies = [d.body for d in life.pending for _ in range(2)]
    random.Random(3).shuffle(bodies)
    cancels = [
        threading.Thread(target=tasks.cancel_task, args=(owner, t), daemon=True)
        for t in task_ids[::2]
    ]
    for thread in cancels:
        thread.start()
    _deliver_batches(bodies, batch_size=4)
    for thread in cancels:
        thread.join(20)
    # Anything a cancel left running or queued is finished by the rounds that follow.
    for task_id in task_ids:
        life.run(task_id, rounds=3)
    ended = assert_all_ended_once(task_ids)
    for task_id in task_ids[1::2]:
        assert ended[task_id].status == "completed", story(task_id)
    for task_id in task_ids[::2]:
        assert ended[task_id].status in ("canceled", "completed"), story(task_id)
