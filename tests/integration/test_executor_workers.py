"""Worker health, against a real executor with two pre-forked workers: a worker killed while
idle is replaced before the next call reaches it, a worker killed mid-call fails only that
call (as the module's crash), and a worker lost before the module began is retryable."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from chalicelib.executor_client import ExecEvent, ExecutorClient
from executor_container.pool import Worker
from executor_container.server import RunningExecutor
from tests.integration.executor_support import (
    TOKEN,
    in_process_executor,
)

WORKERS = 2


@pytest.fixture(scope="module")
def executor() -> Iterator[RunningExecutor]:
    with in_process_executor(workers=WORKERS) as running:
        yield running


@pytest.fixture(scope="module")
def client(executor: RunningExecutor) -> Iterator[ExecutorClient]:
    client = ExecutorClient(f"127.0.0.1:{executor.port}", TOKEN)
    yield client
    client.close()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        time.sleep(0.02)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def run(client: ExecutorClient, module: str, **kwargs) -> list[ExecEvent]:
    kwargs.setdefault("params", {})
    return list(client.execute(task_id="t-w", attempt=1, module=module, timeout_s=20, **kwargs))


def assert_every_worker_answers(client: ExecutorClient) -> None:
    for _ in range(2 * WORKERS):
        events = run(client, "crypto.hash", input_text="abc")
        assert events[-1].kind == "result", events[-1]


def full_pool(executor: RunningExecutor) -> list[int]:
    wait_until(lambda: len(executor.pool.pids()) == WORKERS)
    return executor.pool.pids()


def test_idle_workers_killed_are_replaced_before_the_next_call(
    executor: RunningExecutor, client: ExecutorClient
) -> None:
    before = full_pool(executor)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    for pid in before:
        wait_until(lambda pid=pid: gone(pid))
    events = run(client, "text.stats", input_text="still here")
    assert [e.kind for e in events] == ["started", "result"]
    assert events[-1].result["words"] == 2
    assert_every_worker_answers(client)
    after = full_pool(executor)
    assert not set(after) & set(before)


def test_a_busy_worker_killed_fails_only_its_call_as_a_module_crash(
    executor: RunningExecutor, client: ExecutorClient
) -> None:
    full_pool(executor)
    events: list[ExecEvent] = []
    for event in client.execute(
        task_id="t-busy",
        attempt=1,
        module="test.sleep",
        params={"seconds": 30, "steps": 1, "log_pid": True},
        timeout_s=25,
    ):
        events.append(event)
        if event.kind == "log" and event.message.startswith("pid "):
            os.kill(int(event.message.split()[1]), signal.SIGKILL)
    assert events[-1].kind == "error"
    assert events[-1].error_code == "module_crashed"
    assert events[-1].retryable is False
    assert "SIGKILL" in events[-1].message
    assert_every_worker_answers(client)


def test_a_worker_lost_before_its_module_began_is_retryable(
    executor: RunningExecutor, client: ExecutorClient
) -> None:
    full_pool(executor)
    events = run(client, "test.die_before_start")
    assert [e.kind for e in events] == ["started", "error"]
    assert events[-1].error_code == "worker_lost"
    assert events[-1].retryable is True
    assert_every_worker_answers(client)


def test_a_replacement_that_fails_to_start_is_tried_again(
    executor: RunningExecutor, client: ExecutorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = full_pool(executor)
    real_wait_ready = Worker.wait_ready
    failures = []

    def fail_once(worker: Worker, timeout: float) -> bool:
        if not failures:
            failures.append(worker.process.pid)
            worker.process.kill()  # as if it died while starting
            return False
        return real_wait_ready(worker, timeout)

    monkeypatch.setattr(Worker, "wait_ready", fail_once)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    for pid in before:
        wait_until(lambda pid=pid: gone(pid))
    assert_every_worker_answers(client)
    wait_until(lambda: len(executor.pool.pids()) == WORKERS)
    assert len(failures) == 1
    assert not set(executor.pool.pids()) & {*before, *failures}
