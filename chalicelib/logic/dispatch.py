"""Run one queued task: claim it, route it, execute it, record every step as telemetry.

One SQS message ``{"taskId", "attempt"}`` = one attempt of one task. The flow:

1. Claim: a conditional write ``queued -> running`` (same attempt, no cancel requested) that
   sets a lease (owner + expiry) and reserves the seqs of the ``routed`` and ``running`` events.
   A duplicate or late delivery finds the task not queued (or the attempt moved on) and does
   nothing; two concurrent deliveries race on the condition and one wins.
2. Route with ``routing.route_for_task``. ``review`` -> ``needs_review`` (unless the executor is
   merely down, which is transient). ``llm`` -> ``chalicelib.llm.generate``. ``executor`` -> the
   server-streaming gRPC call, relaying progress (coalesced) and logs (capped).
3. While it runs, a heartbeat thread renews the lease with a conditional write that also fails
   when a cancel was requested; a cancel sets the ``threading.Event`` the executor client
   watches, which cancels the gRPC call. Every event and the terminal write are conditional on
   still holding the lease, so a task the sweeper took back never gets a second terminal event.
4. Terminal write: ``completed`` (result inline, or in S3 when large: ``result_ref``), ``failed``
   (permanent error, or transient error on the last delivery) or ``canceled``. A progress value
   the coalescer still holds is written in the same transaction, just before ``completed``.

Transient failures (executor unavailable, throttling) put the task back to ``queued`` and raise
``RetryLater``. The batch handler then sets that message's visibility timeout to an exponential
backoff with full jitter and raises, so SQS redelivers it (and, after ``maxReceiveCount``, moves
it to the DLQ). We raise instead of returning ``batchItemFailures`` because Chalice's SQS event
source does not enable ``ReportBatchItemFailures``: a returned list would be ignored and the
failed message deleted. Messages of the batch that succeeded are deleted explicitly first, so a
raise never re-runs them (a re-run would be a no-op anyway: they are no longer queued).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.config import get_settings
from chalicelib.dal.models import Task
from chalicelib.dal.task_updates import ConditionFailed, update_task
from chalicelib.ids import new_id
from chalicelib.logic import telemetry

log = logging.getLogger(__name__)

ACTOR = "dispatch"
# How long a run reuses its subscriber lookup for progress/log events.
WATCHERS_MAX_AGE_S = 1.0
QUEUED, RUNNING, COMPLETED, FAILED, CANCELED, NEEDS_REVIEW = (
    "queued",
    "running",
    "completed",
    "failed",
    "canceled",
    "needs_review",
)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


@dataclass(frozen=True)
class DispatchConfig:
    lease_seconds: float
    heartbeat_seconds: float
    max_receives: int  # must match the queue's redrive maxReceiveCount
    max_attempts: int  # sweeper re-queues (attempt + 1) up to this many attempts
    executor_timeout_seconds: float
    progress_per_second: float
    max_log_events: int
    result_inline_bytes: int
    backoff_base_seconds: float
    backoff_cap_seconds: float
    # A task queued this long without any change gets its SQS message again (sweeper). Longer
    # than the backoff cap, so a message merely waiting out its backoff is not doubled.
    queued_redrive_seconds: float


@lru_cache(maxsize=1)
def get_config() -> DispatchConfig:
    lease = _env_float("AION_LEASE_SECONDS", 60)
    return DispatchConfig(
        lease_seconds=lease,
        heartbeat_seconds=min(_env_float("AION_HEARTBEAT_SECONDS", 5), lease / 3),
        max_receives=int(_env_float("AION_DISPATCH_MAX_RECEIVES", 5)),
        max_attempts=int(_env_float("AION_DISPATCH_MAX_ATTEMPTS", 3)),
        executor_timeout_seconds=_env_float("AION_EXECUTOR_TIMEOUT_SECONDS", 120),
        progress_per_second=_env_float("AION_PROGRESS_EVENTS_PER_SECOND", 4),
        max_log_events=int(_env_float("AION_MAX_LOG_EVENTS", 50)),
        result_inline_bytes=int(_env_float("AION_RESULT_INLINE_BYTES", 32 * 1024)),
        backoff_base_seconds=_env_float("AION_RETRY_BASE_SECONDS", 2),
        backoff_cap_seconds=_env_float("AION_RETRY_CAP_SECONDS", 300),
        queued_redrive_seconds=_env_float("AION_QUEUED_REDRIVE_SECONDS", 600),
    )


class RetryLater(Exception):
    """A transient failure: the message goes back to SQS with backoff."""


class PoisonMessage(Exception):
    """The message body is not a dispatch message; retrying cannot help (it ends in the DLQ)."""


class LeaseLost(Exception):
    """Another actor (sweeper, cancel) moved the task on; stop without writing."""


@dataclass(frozen=True)
class DispatchMessage:
    task_id: str
    attempt: int


def parse_message(body: str) -> DispatchMessage:
    try:
        data = json.loads(body)
        task_id, attempt = data["taskId"], data["attempt"]
    except (ValueError, TypeError, KeyError) as exc:
        raise PoisonMessage("not a dispatch message") from exc
    if not isinstance(task_id, str) or not task_id or not isinstance(attempt, int):
        raise PoisonMessage("taskId must be a string and attempt an integer")
    return DispatchMessage(task_id, attempt)


def message_body(task_id: str, attempt: int) -> str:
    return json.dumps({"taskId": task_id, "attempt": attempt})


def send_dispatch_message(task_id: str, attempt: int) -> None:
    from chalicelib.aws_clients import client

    client("sqs").send_message(
        QueueUrl=get_settings().dispatch_queue_url, MessageBody=message_body(task_id, attempt)
    )


# ---------------------------------------------------------------------------- helpers


def _status_actions(task: Task, status: str) -> list[Any]:
    now = now_iso()
    return [
        Task.status.set(status),
        Task.project_status.set(f"{task.project_id}#{status}"),
        Task.updated_at.set(now),
        Task.version.add(1),
    ]


def _not_cancelled() -> Any:
    return Task.cancel_requested.does_not_exist() | (Task.cancel_requested == False)  # noqa: E712


def _holding(owner: str) -> Any:
    return (Task.status == RUNNING) & (Task.lease_owner == owner)


def _end_actions(task: Task, status: str) -> list[Any]:
    return [
        *_status_actions(task, status),
        Task.finished_at.set(now_iso()),
        Task.lease_owner.remove(),
        Task.lease_expires_at.remove(),
    ]


class ProgressCoalescer:
    """At most ``per_second`` progress events, and only when the value or message changed."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.clock = clock
        self.last_at = float("-inf")
        self.last_sent: tuple[float | None, str] | None = None
        self.pending: tuple[float | None, str] | None = None

    def offer(self, progress: float | None, message: str) -> tuple[float | None, str] | None:
        """Return the value to emit now, or None (kept as pending for ``flush``)."""
        value = (None if progress is None else round(max(0.0, min(1.0, progress)), 4), message)
        if value == self.last_sent:
            return None
        now = self.clock()
        if now - self.last_at >= self.interval:
            self.last_at, self.last_sent, self.pending = now, value, None
            return value
        self.pending = value
        return None

    def flush(self) -> tuple[float | None, str] | None:
        value, self.pending = self.pending, None
        if value is not None and value != self.last_sent:
            self.last_sent = value
            return value
        return None


class Lease:
    """Renews the task's lease in the background; sets ``cancel`` when asked to stop."""

    def __init__(self, task_id: str, owner: str, config: DispatchConfig) -> None:
        self.task_id = task_id
        self.owner = owner
        self.config = config
        self.cancel = threading.Event()
        self.cancel_requested = False
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{task_id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.config.heartbeat_seconds):
            if not self.renew():
                return

    def renew(self) -> bool:
        """Extend the lease; False (and cancel) when the task was canceled or taken back."""
        expires = time.time() + self.config.lease_seconds
        try:
            update_task(
                self.task_id,
                [Task.lease_expires_at.set(expires)],
                condition=_holding(self.owner) & _not_cancelled(),
            )
            return True
        except ConditionFailed:
            pass
        except Exception:  # a failed renewal is retried at the next beat
            log.exception("lease renewal failed")
            return True
        try:
            task = Task.get(self.task_id, consistent_read=True)
            holding = task.status == RUNNING and task.lease_owner == self.owner
            self.cancel_requested = holding and bool(task.cancel_requested)
            self.lost = not holding
        except Task.DoesNotExist:
            self.lost = True
        self.cancel.set()
        return False


# ---------------------------------------------------------------------------- one task


@dataclass
class Outcome:
    status: str  # completed | failed | canceled | needs_review | skipped | lost
    detail: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


class _Run:
    """State of one claimed attempt."""

    def __init__(
        self, task: Task, owner: str, receive_count: int, config: DispatchConfig, last_seq: int
    ) -> None:
        self.task = task
        self.owner = owner
        self.receive_count = receive_count
        self.config = config
        # The task's highest seq as this run knows it (it wrote every seq since the claim), so
        # each event is one transaction; another writer's seq only costs a fallback write.
        self.last_seq = last_seq
        self.events: list[dict[str, Any]] = []
        self._watchers: list[str] = []
        self._watchers_at = float("-inf")

    def remember_watchers(self, connection_ids: list[str]) -> None:
        self._watchers, self._watchers_at = connection_ids, time.monotonic()

    def watchers(self) -> list[str]:
        """Subscribers for progress/log events: a lookup at most ``WATCHERS_MAX_AGE_S`` old.

        Status events always look up afresh, so a client that subscribes mid-run can miss at
        most that long of progress (it has the backlog and dedupes by seq), never a status.
        """
        if time.monotonic() - self._watchers_at > WATCHERS_MAX_AGE_S:
            self.remember_watchers(telemetry.subscribers_of(self.task.id, self.task.project_id))
        return self._watchers

    def publish_status(self, events: list[dict[str, Any]]) -> None:
        """Post to the connections this run knows at once, then to those that subscribed since.

        A status event must reach every subscriber, so the lookup still happens after the
        write (a subscribe stores its subscription before reading the backlog: either the
        lookup sees it or the backlog has the event); the known watchers just do not wait
        for that lookup. Each connection gets each event once.
        """
        known = list(self._watchers)
        for event in events:
            telemetry.post_many(known, event)
        fresh = telemetry.subscribers_of(self.task.id, self.task.project_id)
        already = set(known)
        newcomers = [c for c in fresh if c not in already]
        for event in events:
            telemetry.post_many(newcomers, event)
        self.remember_watchers(fresh)

    def emit(self, kind: str, message: str, *, progress: float | None = None, **extra: Any) -> None:
        try:
            event = telemetry.append(
                {
                    "taskId": self.task.id,
                    "projectId": self.task.project_id,
                    "kind": kind,
                    "status": RUNNING,
                    "message": message,
                    "actor": extra.pop("actor", "executor"),
                    "progress": progress,
                    "data": extra.pop("data", None),
                },
                condition=_holding(self.owner),
                last_seq=self.last_seq,
            )
        except ConditionFailed as exc:
            raise LeaseLost(self.task.id) from exc
        self.last_seq = event["seq"]
        self.events.append(event)
        telemetry.publish(event, connection_ids=self.watchers())

    def finish(
        self,
        status: str,
        message: str,
        *,
        extra_actions: list[Any] | None = None,
        data: Any = None,
        before: list[dict[str, Any]] | None = None,
    ) -> Outcome:
        """The terminal write; ``before``: events (specs) stored and posted just ahead of it."""
        spec: dict[str, Any] = {
            "kind": "status",
            "status": status,
            "message": message,
            "actor": ACTOR,
            "data": data,
        }
        if status == COMPLETED:
            spec["progress"] = 1.0
        try:
            events, _ = telemetry.transition(
                self.task.id,
                self.task.project_id,
                actions=[*_end_actions(self.task, status), *(extra_actions or [])],
                condition=_holding(self.owner),
                events=[*(before or []), spec],
                last_seq=self.last_seq,
            )
        except ConditionFailed:
            return Outcome("lost", "the lease was taken back before the terminal write")
        self.publish_status(events)
        self.events.extend(events)
        return Outcome(status, message, self.events)

    def release_for_retry(self, reason: str) -> Outcome:
        """Transient failure: back to queued and RetryLater, or failed on the last delivery."""
        if self.receive_count >= self.config.max_receives:
            return self.finish(
                FAILED,
                f"Gave up after {self.receive_count} deliveries: {reason}",
                extra_actions=[
                    Task.error.set({"code": "retries_exhausted", "message": reason}),
                ],
                data={"error": {"code": "retries_exhausted", "message": reason}},
            )
        try:
            events, _ = telemetry.transition(
                self.task.id,
                self.task.project_id,
                actions=[
                    *_status_actions(self.task, QUEUED),
                    Task.lease_owner.remove(),
                    Task.lease_expires_at.remove(),
                ],
                condition=_holding(self.owner),
                events=[
                    {
                        "kind": "status",
                        "status": QUEUED,
                        "message": f"Will retry ({reason}); delivery {self.receive_count} "
                        f"of {self.config.max_receives}.",
                        "actor": ACTOR,
                    }
                ],
                last_seq=self.last_seq,
            )
        except ConditionFailed:
            return Outcome("lost", "the lease was taken back before the retry")
        telemetry.publish_all(events)
        raise RetryLater(reason)


def _load(message: DispatchMessage) -> Task | None:
    try:
        task = Task.get(message.task_id, consistent_read=True)
    except Task.DoesNotExist:
        return None
    if task.status != QUEUED or int(task.attempts or 1) != message.attempt:
        return None
    return task


def _route_dict(decision: Any) -> dict[str, Any]:
    if hasattr(decision, "model_dump"):
        return decision.model_dump(mode="json", by_alias=True)
    return dict(decision)


def _route_down(route: dict[str, Any]) -> bool:
    """Review only because the module's route is down right now: transient, not a verdict.

    The router marks that with ``stage == "health"``; a route that is not configured at all
    (no LLM) is a verdict. Without a stage, ask the executor directly.
    """
    # Lazily: chalicelib.router pulls in the classifier, which the sweeper does not need.
    from chalicelib.router.catalog import ROUTE_EXECUTOR, ROUTE_LLM, route_of

    name = route_of(route.get("module") or "")
    if "stage" not in route:
        return name == ROUTE_EXECUTOR and _executor_is_down()
    if route["stage"] != "health":
        return False
    if name == ROUTE_LLM:
        from chalicelib.llm import llm_configured

        return llm_configured()
    return True


def _executor_is_down() -> bool:
    from chalicelib.executor_client import get_executor_client

    try:
        return not get_executor_client().health(timeout_s=1.0)
    except Exception:
        return True


def _last_seq(task: Task) -> int:
    """The task's highest seq as read by ``_load`` (a consistent read)."""
    return int(task.last_seq or 0)


def _queued_condition(message: DispatchMessage) -> Any:
    return (Task.status == QUEUED) & (Task.attempts == message.attempt)


def handle_message(
    body: str,
    *,
    receive_count: int = 1,
    remaining_seconds: Callable[[], float] | None = None,
) -> Outcome:
    """Process one dispatch message. Raises ``RetryLater`` or ``PoisonMessage``."""
    config = get_config()
    message = parse_message(body)
    task = _load(message)
    if task is None:
        return Outcome("skipped", "not queued for this attempt")
    if task.cancel_requested:
        return _cancel_queued(task, message)

    from chalicelib.logic import routing

    route = _route_dict(routing.route_for_task(task))
    target, module = route.get("target"), route.get("module") or ""
    if target == "review":
        if receive_count < config.max_receives and _route_down(route):
            raise RetryLater(f"the route of {module or 'this task'} is unavailable")
        return _to_review(task, message, route)

    owner = new_id("lease")
    run = _claim(task, message, route, owner, receive_count, config)
    if run is None:
        return Outcome("skipped", "claimed by another delivery")
    with Lease(task.id, owner, config) as lease:
        try:
            if target == "llm":
                return _run_llm(run, lease, remaining_seconds)
            return _run_executor(run, route, lease, remaining_seconds)
        except LeaseLost:
            if lease.cancel_requested:
                return run.finish(CANCELED, "Canceled by request.")
            return Outcome("lost", "the lease was taken back while running")


def _cancel_queued(task: Task, message: DispatchMessage) -> Outcome:
    try:
        events, _ = telemetry.transition(
            task.id,
            task.project_id,
            actions=_end_actions(task, CANCELED),
            condition=_queued_condition(message),
            last_seq=_last_seq(task),
            events=[
                {
                    "kind": "status",
                    "status": CANCELED,
                    "message": "Canceled before it started.",
                    "actor": ACTOR,
                }
            ],
        )
    except ConditionFailed:
        return Outcome("skipped", "no longer queued")
    telemetry.publish_all(events)
    return Outcome(CANCELED, "canceled before start", events)


def _to_review(task: Task, message: DispatchMessage, route: dict[str, Any]) -> Outcome:
    reason = route.get("reason") or "No route can take this task."
    try:
        events, _ = telemetry.transition(
            task.id,
            task.project_id,
            actions=[*_status_actions(task, NEEDS_REVIEW), Task.route.set(route)],
            condition=_queued_condition(message),
            last_seq=_last_seq(task),
            events=[
                {
                    "kind": "routed",
                    "status": NEEDS_REVIEW,
                    "message": f"Routed to review ({route.get('module') or 'no module'}).",
                    "actor": "router",
                    "data": route,
                },
                {"kind": "status", "status": NEEDS_REVIEW, "message": reason, "actor": ACTOR},
            ],
        )
    except ConditionFailed:
        return Outcome("skipped", "no longer queued")
    telemetry.publish_all(events)
    return Outcome(NEEDS_REVIEW, reason, events)


def _claim(
    task: Task,
    message: DispatchMessage,
    route: dict[str, Any],
    owner: str,
    receive_count: int,
    config: DispatchConfig,
) -> _Run | None:
    target, module = route.get("target"), route.get("module") or ""
    where = "the LLM" if target == "llm" else "the executor"
    try:
        events, _ = telemetry.transition(
            task.id,
            task.project_id,
            actions=[
                *_status_actions(task, RUNNING),
                Task.route.set(route),
                Task.lease_owner.set(owner),
                Task.lease_expires_at.set(time.time() + config.lease_seconds),
                Task.started_at.set(now_iso()),
            ],
            condition=_queued_condition(message) & _not_cancelled(),
            last_seq=_last_seq(task),
            events=[
                {
                    "kind": "routed",
                    "status": RUNNING,
                    "message": f"Routed to {target}: {module}.",
                    "actor": "router",
                    "data": route,
                },
                {
                    "kind": "status",
                    "status": RUNNING,
                    "message": f"Running {module} on {where} (attempt {message.attempt}).",
                    "actor": ACTOR,
                    "data": {"attempt": message.attempt, "delivery": receive_count},
                },
            ],
        )
    except ConditionFailed:
        return None
    run = _Run(task, owner, receive_count, config, last_seq=events[-1]["seq"])
    run.remember_watchers(telemetry.publish_all(events))
    run.events.extend(events)
    return run


def _timeout(config: DispatchConfig, remaining_seconds: Callable[[], float] | None) -> float:
    timeout = config.executor_timeout_seconds
    if remaining_seconds is not None:
        # Leave time for the terminal write before Lambda stops us.
        timeout = min(timeout, remaining_seconds() - 10)
    return max(1.0, timeout)


def _input_args(task: Task, route: dict[str, Any]) -> dict[str, Any]:
    value = task.input
    if (value is None or value == "") and route.get("inlineInput"):
        # The router found the data inside the instruction ("sha256 of 'abc'").
        return {"input_text": str(route["inlineInput"])}
    if isinstance(value, str) and value.startswith("fil_"):
        from chalicelib.dal.models import File

        try:
            item = File.get(value.strip(), consistent_read=True)  # just attached
        except File.DoesNotExist:
            item = None
        # Only a ready file: its key is then the write-once final copy (files/...), never the
        # upload key its form can still overwrite (chalicelib/logic/files.py).
        if item is not None and item.task_id == task.id and item.status == "ready":
            return {"input_ref": (get_settings().files_bucket, item.key)}
    if value is None:
        return {"input_text": ""}
    if isinstance(value, str):
        return {"input_text": value}
    return {"input_text": json.dumps(value)}


def _progress_spec(value: tuple[float | None, str]) -> dict[str, Any]:
    """A progress event as ``_Run.emit`` writes it, for ``_Run.finish(before=...)``."""
    return {
        "kind": "progress",
        "status": RUNNING,
        "message": value[1],
        "actor": "executor",
        "progress": value[0],
    }


def _complete(
    run: _Run, result: Any, started: float, before: list[dict[str, Any]] | None = None
) -> Outcome:
    encoded = json.dumps(result, default=str)
    took_ms = int((time.monotonic() - started) * 1000)
    message = f"Completed in {took_ms} ms."
    if len(encoded.encode()) > run.config.result_inline_bytes:
        from chalicelib.aws_clients import client

        key = f"results/{run.task.id}/{int(run.task.attempts or 1)}.json"
        client("s3").put_object(
            Bucket=get_settings().files_bucket,
            Key=key,
            Body=encoded.encode(),
            ContentType="application/json",
        )
        return run.finish(
            COMPLETED,
            message,
            extra_actions=[Task.result.remove(), Task.result_ref.set(key), Task.error.remove()],
            data={"resultRef": key, "resultBytes": len(encoded.encode())},
            before=before,
        )
    return run.finish(
        COMPLETED,
        message,
        extra_actions=[Task.result.set(result), Task.result_ref.remove(), Task.error.remove()],
        data={"result": result},
        before=before,
    )


def _fail(run: _Run, code: str, message: str) -> Outcome:
    error = {"code": code, "message": message}
    return run.finish(FAILED, message, extra_actions=[Task.error.set(error)], data={"error": error})


def _run_executor(
    run: _Run,
    route: dict[str, Any],
    lease: Lease,
    remaining_seconds: Callable[[], float] | None,
) -> Outcome:
    from chalicelib.executor_client import ExecutorError, ExecutorUnavailable, get_executor_client
    from chalicelib.logic import routing

    config = run.config
    coalescer = ProgressCoalescer(config.progress_per_second)
    logs = 0
    started = time.monotonic()
    result: Any = None
    got_result = False
    # (code, message, retryable, executor_down) of a failure reported by the stream or raised.
    failure: tuple[str, str, bool, bool] | None = None
    try:
        stream = get_executor_client().execute(
            task_id=run.task.id,
            attempt=int(run.task.attempts or 1),
            module=route.get("module") or "",
            params=route.get("params") or {},
            timeout_s=_timeout(config, remaining_seconds),
            cancel=lease.cancel,
            **_input_args(run.task, route),
        )
        for event in stream:
            if event.kind == "started":
                # The module began on a worker: the first progress subscribers see.
                value = coalescer.offer(0.0, event.message or "Started on the executor.")
                if value is not None:
                    run.emit("progress", value[1], progress=value[0])
            elif event.kind == "progress":
                value = coalescer.offer(event.progress, event.message)
                if value is not None:
                    run.emit("progress", value[1], progress=value[0])
            elif event.kind == "log":
                logs += 1
                if logs <= config.max_log_events:
                    run.emit("log", event.message[:2000])
                elif logs == config.max_log_events + 1:
                    run.emit("log", "Further log lines are not relayed.")
            elif event.kind == "result":
                result, got_result = event.result, True
                break
            elif event.kind == "error":
                code = event.error_code or "module_error"
                failure = (code, event.message or code, bool(event.retryable), False)
                break
    except ExecutorUnavailable as exc:
        failure = (getattr(exc, "code", "") or "unavailable", str(exc), True, True)
    except ExecutorError as exc:
        code = getattr(exc, "code", "") or "executor_error"
        failure = (code, str(exc) or code, bool(getattr(exc, "retryable", False)), False)
    if lease.cancel.is_set():
        raise LeaseLost(run.task.id)
    if failure is None and not got_result:
        failure = ("no_result", "the executor stream ended without a result", True, True)
    if failure is not None:
        code, message, retryable, executor_down = failure
        routing.record_route_outcome("executor", not executor_down)
        if retryable:
            return run.release_for_retry(f"executor: {code}")
        return _fail(run, code, message)
    routing.record_route_outcome("executor", True)
    pending = coalescer.flush()
    # The last coalesced progress goes out with the terminal write: one transaction instead
    # of two, with the same events, seqs and order (stored and posted right before completed).
    before = None if pending is None else [_progress_spec(pending)]
    return _complete(run, result, started, before)


def _run_llm(run: _Run, lease: Lease, remaining_seconds: Callable[[], float] | None) -> Outcome:
    from chalicelib.llm import LlmError, generate
    from chalicelib.logic import routing

    started = time.monotonic()
    run.emit("log", "Asking the language model.", actor=ACTOR)
    value = run.task.input
    text_input = value if isinstance(value, str) or value is None else json.dumps(value)
    try:
        text = generate(
            run.task.instruction or "", text_input or "", _timeout(run.config, remaining_seconds)
        )
    except LlmError as exc:
        routing.record_route_outcome("llm", False)
        if lease.cancel.is_set():
            raise LeaseLost(run.task.id) from exc
        if getattr(exc, "retryable", False):
            return run.release_for_retry("the language model is unavailable")
        return _fail(run, "llm_error", str(exc) or "The language model refused the task.")
    routing.record_route_outcome("llm", True)
    if lease.cancel.is_set():
        raise LeaseLost(run.task.id)
    return _complete(run, {"text": text}, started)


# ---------------------------------------------------------------------------- SQS batch


@dataclass(frozen=True)
class SqsRecord:
    message_id: str
    body: str
    receipt_handle: str
    receive_count: int
    event_source_arn: str = ""

    @classmethod
    def from_event_record(cls, record: dict[str, Any]) -> SqsRecord:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=record.get("messageId", ""),
            body=record.get("body", ""),
            receipt_handle=record.get("receiptHandle", ""),
            receive_count=int(attributes.get("ApproximateReceiveCount", "1") or 1),
            event_source_arn=record.get("eventSourceARN", ""),
        )


class BatchRetry(Exception):
    """Some messages of the batch must be redelivered (their visibility is already set)."""

    def __init__(self, message_ids: list[str]) -> None:
        super().__init__(f"{len(message_ids)} message(s) will be retried")
        self.message_ids = message_ids


def backoff_seconds(receive_count: int, config: DispatchConfig | None = None) -> int:
    """Exponential backoff with full jitter, in whole seconds (SQS visibility)."""
    config = config or get_config()
    ceiling = min(
        config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** max(0, receive_count - 1)
    )
    return max(1, int(random.uniform(config.backoff_base_seconds / 2, ceiling)))  # noqa: S311


def _queue_url(record: SqsRecord) -> str:
    url = get_settings().dispatch_queue_url
    if url or not record.event_source_arn:
        return url
    from chalicelib.aws_clients import client

    name = record.event_source_arn.rsplit(":", 1)[-1]
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


_batch_pool: ThreadPoolExecutor | None = None
_batch_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _batch_pool
    with _batch_lock:
        if _batch_pool is None:
            _batch_pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="dispatch")
    return _batch_pool


def _handle_record(
    record: SqsRecord, remaining_seconds: Callable[[], float] | None
) -> tuple[SqsRecord, Outcome | Exception]:
    try:
        return record, handle_message(
            record.body, receive_count=record.receive_count, remaining_seconds=remaining_seconds
        )
    except Exception as exc:
        return record, exc


def handle_batch(
    records: list[dict[str, Any]], *, remaining_seconds: Callable[[], float] | None = None
) -> list[Outcome]:
    """Process an SQS batch (records run in parallel). Raises ``BatchRetry`` on any failure."""
    parsed = [SqsRecord.from_event_record(r) for r in records]
    if len(parsed) == 1:
        results = [_handle_record(parsed[0], remaining_seconds)]
    else:
        results = list(_pool().map(lambda r: _handle_record(r, remaining_seconds), parsed))
    outcomes: list[Outcome] = []
    failed: list[SqsRecord] = []
    succeeded: list[SqsRecord] = []
    for record, result in results:
        if isinstance(result, Outcome):
            outcomes.append(result)
            succeeded.append(record)
            continue
        if isinstance(result, RetryLater):
            log.info("task will be retried: %s", result)
        elif isinstance(result, PoisonMessage):
            log.error("poison message %s: %s", record.message_id, result)
        else:
            log.error("dispatch failed for message %s", record.message_id, exc_info=result)
        failed.append(record)
    if not failed:
        return outcomes
    _settle_partial_batch(succeeded, failed)
    raise BatchRetry([r.message_id for r in failed])


def _settle_partial_batch(succeeded: list[SqsRecord], failed: list[SqsRecord]) -> None:
    """Delete the successes, push the failures' visibility out by a jittered backoff."""
    from chalicelib.aws_clients import client

    sqs = client("sqs")
    try:
        url = _queue_url(failed[0])
        if not url:
            return
        for record in failed:
            if record.receipt_handle:
                sqs.change_message_visibility(
                    QueueUrl=url,
                    ReceiptHandle=record.receipt_handle,
                    VisibilityTimeout=backoff_seconds(record.receive_count),
                )
        entries = [
            {"Id": str(i), "ReceiptHandle": r.receipt_handle}
            for i, r in enumerate(succeeded)
            if r.receipt_handle
        ]
        for start in range(0, len(entries), 10):
            sqs.delete_message_batch(QueueUrl=url, Entries=entries[start : start + 10])
    except Exception:
        # Visibility falls back to the queue default; successes are no-ops when redelivered.
        log.exception("could not settle the partial batch")
