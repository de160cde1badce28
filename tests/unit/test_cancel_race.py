"""Concurrent cancels of a running task: one "Cancel requested" event, every caller answered."""

from __future__ import annotations

import threading

import pytest

from chalicelib.dal.models import Task
from chalicelib.logic import lifecycle
from tests.integration.conftest import set_task_fields
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    realtime,
    seed_project,
    seed_task,
    serialize_task_updates,
)

__all__ = ["realtime"]


@pytest.mark.parametrize("callers", [10])
def test_concurrent_cancels_write_one_request(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch, callers: int
) -> None:
    serialize_task_updates(monkeypatch)  # DynamoDB's atomic conditional writes
    task = seed_task(seed_project())
    set_task_fields(task.id, status="running", lease_owner="lease_x", lease_expires_at=2e9)
    running = Task.get(task.id, consistent_read=True)
    barrier = threading.Barrier(callers)
    answers: list[Task | None] = []
    errors: list[BaseException] = []

    def cancel() -> None:
        barrier.wait()
        try:
            answers.append(lifecycle.cancel(running, actor="usr_owner"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=cancel) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(answers) == callers
    assert all(a is not None and a.cancel_requested and a.status == "running" for a in answers)
    requested = [a for a in activity_of(task.id) if a.message == "Cancel requested"]
    assert len(requested) == 1
    stored = Task.get(task.id, consistent_read=True)
    assert stored.cancel_requested
    assert stored.version == running.version + 1  # one write, not ten
