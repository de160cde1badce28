"""How ExecutorService ends a call that runs out of time, each race forced deterministically
with a silent fake worker and a fake gRPC context (no server, no timing assumptions):

- the caller's deadline reached first by the server's own budget: DEADLINE_EXCEEDED;
- the caller's deadline reached first by gRPC (the context goes inactive): the server ends
  the call quietly (gRPC already gave the caller DEADLINE_EXCEEDED) and stops the worker;
- the module's own limit: an ``error`` event ``timeout``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from typing import Any

import grpc
import pytest

from executor_container.config import ExecutorConfig
from executor_container.proto_gen import executor_pb2 as pb
from executor_container.registry import catalogue
from executor_container.server import ExecutorService


class SilentWire:
    """A worker pipe that takes the call and never answers."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self._never = threading.Event()

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def readable(self, timeout: float) -> bool:
        return self._never.wait(timeout)


class FakeWorker:
    def __init__(self) -> None:
        self.wire = SilentWire()

    def exit_description(self) -> str:
        return "no exit yet"


class FakePool:
    size = 1

    def __init__(self) -> None:
        self.worker = FakeWorker()
        self.released: list[bool] = []

    def acquire(self, timeout: float, *, long_call: bool = False) -> FakeWorker:
        return self.worker

    def release(self, worker: FakeWorker, *, reusable: bool) -> None:
        self.released.append(reusable)


class Aborted(Exception):
    pass


class FakeContext:
    def __init__(self, time_remaining: float | None, active_checks: int | None = None) -> None:
        self._remaining = time_remaining
        self._active_checks = active_checks  # inactive after this many is_active() calls
        self.trailing: tuple[tuple[str, str], ...] = ()
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    def time_remaining(self) -> float | None:
        return self._remaining

    def is_active(self) -> bool:
        if self._active_checks is None:
            return True
        self._active_checks -= 1
        return self._active_checks >= 0

    def set_trailing_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.trailing = metadata

    def abort(self, status: grpc.StatusCode, message: str) -> None:
        self.aborted = (status, message)
        raise Aborted(message)


CONFIG = ExecutorConfig(
    host="127.0.0.1",
    port=0,
    bridge_token="t",
    files_bucket="",
    reflection=False,
    grace_seconds=1,
    workers=1,
    worker_memory_bytes=0,
    worker_max_calls=10,
    max_output_bytes=1024,
    max_message_bytes=1024,
)


def execute(
    context: FakeContext, *, module_timeout: float = 30.0, deadline_unix_ms: int = 0
) -> tuple[list[Any], FakePool]:
    pool = FakePool()
    service = ExecutorService(CONFIG, pool)  # type: ignore[arg-type]
    spec = dataclasses.replace(catalogue()["text.stats"], timeout_seconds=module_timeout)
    request = pb.ExecuteRequest(
        task_id="t", attempt=1, module=spec.name, deadline_unix_ms=deadline_unix_ms
    )
    events: list[Any] = []
    with contextlib.suppress(Aborted):
        events.extend(service._run(spec, {}, ("text", "x"), 1, request, context))
    return events, pool


def kinds(events: list[Any]) -> list[str]:
    return [event.WhichOneof("event") for event in events]


def test_server_budget_first_ends_with_deadline_exceeded() -> None:
    context = FakeContext(time_remaining=0.3)
    events, pool = execute(context)
    assert kinds(events) == ["started"]
    assert context.aborted is not None
    assert context.aborted[0] == grpc.StatusCode.DEADLINE_EXCEEDED
    assert ("aion-error-code", "timeout") in context.trailing
    assert pool.released == [False]  # the worker is stopped, not reused


def test_request_deadline_first_ends_with_deadline_exceeded_too() -> None:
    context = FakeContext(time_remaining=60.0)
    events, pool = execute(context, deadline_unix_ms=int((time.time() + 0.3) * 1000))
    assert kinds(events) == ["started"]
    assert context.aborted is not None
    assert context.aborted[0] == grpc.StatusCode.DEADLINE_EXCEEDED
    assert pool.released == [False]


def test_grpc_deadline_first_ends_quietly_and_stops_the_worker() -> None:
    # gRPC ended the call (the caller already has DEADLINE_EXCEEDED from its own timer):
    # the server sends nothing more, in particular no error event, and kills the worker.
    context = FakeContext(time_remaining=60.0, active_checks=3)
    events, pool = execute(context)
    assert kinds(events) == ["started"]
    assert context.aborted is None
    assert pool.released == [False]


def test_module_limit_first_is_a_timeout_error_event() -> None:
    context = FakeContext(time_remaining=60.0)
    events, pool = execute(context, module_timeout=0.3)
    assert kinds(events) == ["started", "error"]
    assert events[-1].error.code == "timeout"
    assert events[-1].error.retryable is False
    assert context.aborted is None
    assert pool.released == [False]


@pytest.mark.parametrize("remaining", [0.0, -1.0])
def test_no_time_left_is_refused_busy_before_any_worker(remaining: float) -> None:
    context = FakeContext(time_remaining=remaining)
    events, pool = execute(context)
    assert events == []
    assert context.aborted is not None
    assert context.aborted[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert pool.released == []
