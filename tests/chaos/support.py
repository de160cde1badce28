"""What the chaos scenarios share beyond ``tests.chaos.harness`` (tests only).

- ``ParallelLifecycle``: the harness's SQS + dispatch + schedule rounds, with the deliveries of
  a round running at once on threads (as the Lambda's pollers run batches), so a test can kill
  a process while runs are in flight. The virtual-clock sweep runs only between rounds, when no
  run is in flight (it would take back live leases otherwise).
- Processes: an executor child the test starts and can SIGKILL with everything it forked
  (found under ``/proc`` by parent PID before the kill: only what the test started).
- ``tasks_of``/``create_tasks``: tasks made through ``chalicelib.logic.tasks`` as POST /tasks does.
- ``wait_for``: polling to a deadline (never a timed assertion).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from chalicelib.auth.principal import Principal
from chalicelib.dal.models import Activity, Task
from chalicelib.executor_client import ExecutorClient
from chalicelib.models.tasks import TaskCreate
from tests.chaos.harness import (
    END_STATUSES,
    Delivery,
    Lifecycle,
    assert_ended_once,
    note_failed_delivery,
)
from tests.integration.executor_support import TOKEN, spawn_executor

T = TypeVar("T")

# Set while the test itself reads or plays SQS: fault injectors leave those calls alone.
_sparing = threading.local()


@contextlib.contextmanager
def spared() -> Iterator[None]:
    """The test's own AWS calls inside this block get no injected fault."""
    _sparing.on = True
    try:
        yield
    finally:
        _sparing.on = False


def is_spared() -> bool:
    return bool(getattr(_sparing, "on", False))


def wait_for(
    condition: Callable[[], T], *, timeout_s: float = 30.0, what: str = "the condition"
) -> T:
    """``condition()``'s first truthy value, polled until ``timeout_s``; else AssertionError."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.02)


# ------------------------------------------------------------------------------ tasks


def create_tasks(owner: Principal, project_id: str, count: int, **fields: Any) -> list[str]:
    from chalicelib.logic import tasks

    ids = []
    for n in range(count):
        body = {"project_id": project_id, "instruction": f"chaos {n}", **fields}
        created, _ = tasks.create_task(owner, TaskCreate(**body))
        ids.append(created.id)
    return ids


def story(task_id: str) -> list[tuple[int, str, str, str]]:
    return [
        (int(e.seq), e.kind, e.status, e.message)
        for e in Activity.query(task_id, consistent_read=True)
    ]


def assert_all_ended_once(task_ids: Iterable[str]) -> dict[str, Task]:
    """``assert_ended_once`` for each task; their final items by id."""
    return {task_id: assert_ended_once(task_id) for task_id in task_ids}


def all_ended(task_ids: Iterable[str]) -> bool:
    with spared():
        return all(
            Task.get(task_id, consistent_read=True).status in END_STATUSES for task_id in task_ids
        )


@dataclass
class ParallelLifecycle(Lifecycle):
    """``Lifecycle`` whose rounds deliver every pending message at once, on threads."""

    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_round(self) -> None:
        """Pull what was sent and start delivering it all (returns at once)."""
        with spared():
            self.pull()
        for delivery in list(self.pending):
            thread = threading.Thread(target=self._deliver_one, args=(delivery,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish_round(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self.threads if t.is_alive()]
        self.threads = alive
        assert not alive, f"{len(alive)} deliveries still running after {timeout_s:.0f} s"

    def _deliver_one(self, delivery: Delivery) -> None:
        from chalicelib.logic import dispatch

        try:
            outcome = dispatch.handle_message(delivery.body, receive_count=delivery.receive_count)
        except Exception as exc:  # the batch handler raises: SQS delivers it again
            note_failed_delivery(exc)
            with self.lock:
                self.outcomes.append(type(exc).__name__)
                delivery.receive_count += 1
                if delivery.receive_count > self.max_receives:
                    self.pending.remove(delivery)
                    self.dead.append(delivery)
            return
        with self.lock:
            self.outcomes.append(outcome.status)
            self.pending.remove(delivery)

    def run_all(self, task_ids: list[str], *, rounds: int = 20) -> None:
        """Rounds (all deliveries at once, then a sweep) until every task ended."""
        for _ in range(rounds):
            self.start_round()
            self.finish_round()
            if all_ended(task_ids) and not self.pending:
                return
            self.sweep()


# ------------------------------------------------------------------------------ processes


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (children first found by their parent in /proc)."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces; split after its closing paren.
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[1]) == parent and int(entry.name) not in found:
                found.append(int(entry.name))
                frontier.append(int(entry.name))
    return found


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (its identity with the PID: a PID
    can be reused by someone else's process after ours ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[19])


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie child of ours is gone for every purpose here.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def kill_pids(pids: Iterable[int], identities: dict[int, int | None] | None = None) -> None:
    """SIGKILL each PID; with ``identities``, only a process that is still the one recorded."""
    for pid in pids:
        if identities is not None and start_time(pid) != identities.get(pid):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class ExecutorProcess:
    """``python -m executor_container`` on 127.0.0.1 (port 0 chosen free) with the test modules.

    ``client`` follows the live process: ``restart`` starts a new one and a new client. Every
    process it started (the executor, its forkserver and workers) is killed by PID at ``stop``.
    """

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self.proc: subprocess.Popen[str] | None = None
        self.client: ExecutorClient | None = None
        # Every process it started or that one forked: PID -> start time (its identity).
        self.started: dict[int, int | None] = {}
        self.start()

    def start(self) -> None:
        # No worker reserved for short calls: the scenarios' long calls run side by side.
        self.proc, port = spawn_executor(
            AION_EXECUTOR_WORKERS=str(self.workers), AION_EXECUTOR_SHORT_RESERVED="0"
        )
        self.started[self.proc.pid] = start_time(self.proc.pid)
        self.client = ExecutorClient(f"127.0.0.1:{port}", TOKEN)

    def current_client(self) -> ExecutorClient:
        assert self.client is not None
        return self.client

    def tree(self) -> list[int]:
        assert self.proc is not None
        pids = [self.proc.pid, *descendants(self.proc.pid)]
        for pid in pids:
            self.started.setdefault(pid, start_time(pid))
        return pids

    def sigkill(self) -> list[int]:
        """SIGKILL the executor and all it forked at once (as a Fargate task's end does)."""
        pids = self.tree()
        kill_pids(pids, self.started)
        assert self.proc is not None
        self.proc.wait(10)
        wait_for(lambda: all(gone(p) for p in pids), timeout_s=10, what="the executor's end")
        return pids

    def restart(self) -> None:
        if self.client is not None:
            self.client.close()
        self.start()

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.tree()
        kill_pids(list(self.started), self.started)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)


# ------------------------------------------------------------------------------ wire faults

_DYNAMODB_ERROR = "com.amazonaws.dynamodb.v20120810#{}"
_SQS_ERROR = "com.amazonaws.sqs#{}"


def _service_and_operation(request: Any) -> tuple[str, str]:
    """(service, operation) of a botocore request to moto's in-process endpoints."""
    from urllib.parse import urlsplit

    host = urlsplit(request.url).hostname or ""
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else target
    if host.startswith("dynamodb."):
        return "dynamodb", target.rpartition(".")[2]
    if host.startswith("sqs."):
        return "sqs", target.rpartition(".")[2]
    if host.startswith("s3.") or ".s3." in host or host.startswith("s3-"):
        return "s3", request.method
    return host.split(".")[0], request.method


def _error_response(service: str, kind: str) -> tuple[int, dict[str, str], bytes]:
    """How ``service`` answers a throttle or a server fault, in its own protocol."""
    if service == "s3":
        code, status = ("SlowDown", 503) if kind == "throttle" else ("InternalError", 500)
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>"
        return status, {"Content-Type": "application/xml"}, body.encode()
    if kind == "throttle":
        code, status = (
            ("ThrottlingException", 400) if service == "dynamodb" else ("RequestThrottled", 400)
        )
    else:
        code, status = (
            ("InternalServerError", 500) if service == "dynamodb" else ("InternalError", 500)
        )
    shape = _DYNAMODB_ERROR if service == "dynamodb" else _SQS_ERROR
    body = json.dumps({"__type": shape.format(code), "message": "injected"}).encode()
    return status, {"Content-Type": "application/x-amz-json-1.0"}, body


@dataclass
class WireFaults:
    """Answers a share of the AWS requests that reach in-process moto with a throttle or a
    5xx, on the wire: botocore parses it and retries it as it would AWS's answer (its retry
    modes, quotas and backoff included), so the product sees what it would see from AWS.

    ``applied`` says whether the request reached moto first (a write that happened, whose
    answer was lost: the retry then meets its own write) or not (refused before any effect).
    """

    rate: float
    seed: int
    applied: bool = False
    kinds: tuple[str, ...] = ("throttle", "5xx")
    services: frozenset[str] = frozenset({"dynamodb", "sqs", "s3"})
    # The test's own calls, playing SQS's side (the product never makes them).
    spared: frozenset[str] = frozenset({"ReceiveMessage", "DeleteMessage"})
    # Only these operations (None: all but ``spared``)...
    operations: frozenset[str] | None = None
    # ... and, when given, exactly the requests at these indices among them (``rate`` unused).
    at: frozenset[int] | None = None
    watched: int = 0
    # botocore's backoff, scaled down: a throttle's first retry waits up to 1 s on AWS; the
    # order and count of retries are botocore's, only the waits are shorter here.
    backoff_scale: float = 0.02
    seen: int = 0
    injected: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: Any) -> WireFaults:
        from botocore.awsrequest import AWSResponse
        from botocore.retries.standard import ExponentialBackoff
        from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

        original = BotocoreStubber.__call__
        delay = ExponentialBackoff.delay_amount
        scale = self.backoff_scale
        monkeypatch.setattr(
            ExponentialBackoff,
            "delay_amount",
            lambda backoff, context: delay(backoff, context) * scale,
        )
        rng = random.Random(self.seed)

        def call(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            service, operation = _service_and_operation(request)
            with self.lock:
                self.seen += 1
                watched = (
                    not is_spared()
                    and service in self.services
                    and operation not in self.spared
                    and (self.operations is None or operation in self.operations)
                )
                if watched and self.at is not None:
                    hit = self.watched in self.at
                else:
                    hit = watched and rng.random() < self.rate
                self.watched += watched
                kind = rng.choice(self.kinds)
            if not hit:
                return original(stubber, event_name, request, **kwargs)
            if self.applied:
                original(stubber, event_name, request, **kwargs)
            with self.lock:
                self.injected[(service, operation, kind)] += 1
            status, headers, body = _error_response(service, kind)
            return AWSResponse(request.url, status, headers, MockRawResponse(body))

        monkeypatch.setattr(BotocoreStubber, "__call__", call)
        return self
