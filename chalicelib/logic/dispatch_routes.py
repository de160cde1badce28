"""Running a claimed attempt on its route: the executor (server-streaming gRPC, relaying
progress coalesced and logs capped) or the LLM.

A failure, whether the stream reports it or the call raises it, is a
``chalicelib.shared.failures.Failure``; ``Run.settle_failure`` retries or fails it by its
``retryable``. The route's health is recorded after every attempt: only the executor being
unreachable (``ExecutorUnavailable``) counts against it, not a module refusing its input.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from chalicelib import executor_client, llm
from chalicelib.config import DispatchSettings, get_settings
from chalicelib.dal.models import File, Task
from chalicelib.executor_client import ExecutorError, ExecutorUnavailable
from chalicelib.llm import LlmError
from chalicelib.logic import routing
from chalicelib.logic.dispatch_run import (
    ACTOR,
    Lease,
    LeaseLost,
    Outcome,
    Run,
)
from chalicelib.logic.lifecycle import RUNNING
from chalicelib.logic.progress import ProgressCoalescer
from chalicelib.models.tasks import EventDraft
from chalicelib.shared.failures import Failure


def _timeout(config: DispatchSettings, remaining_seconds: Callable[[], float] | None) -> float:
    timeout = config.executor_timeout_seconds
    if remaining_seconds is not None:
        # Leave time for the terminal write before Lambda stops us.
        timeout = min(timeout, remaining_seconds() - 10)
    return max(1.0, timeout)


def input_args(task: Task, inline_input: str | None) -> dict[str, Any]:
    """How the executor gets the task's input: text, or a reference to a ready file of it."""
    value = task.input
    if (value is None or value == "") and inline_input:
        # The router found the data inside the instruction ("sha256 of 'abc'").
        return {"input_text": str(inline_input)}
    if isinstance(value, str) and value.startswith("fil_"):
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


def input_bytes(task: Task, inline_input: str | None) -> int:
    """The size of what the module will read (its expected cost grows with it)."""
    value = task.input
    if (value is None or value == "") and inline_input:
        return len(str(inline_input).encode("utf-8", "surrogatepass"))
    if isinstance(value, str) and value.startswith("fil_"):
        from chalicelib.dal.models import File

        try:
            return int(File.get(value.strip()).size)
        except File.DoesNotExist:
            return 0
    if value is None:
        return 0
    text = value if isinstance(value, str) else json.dumps(value)
    return len(text.encode("utf-8", "surrogatepass"))


def _progress_draft(value: tuple[float | None, str]) -> EventDraft:
    """A progress event as ``Run.emit`` writes it, to go out with the terminal write."""
    return EventDraft("progress", value[1], "executor", status=RUNNING, progress=value[0])


def run_executor(run: Run, lease: Lease, remaining_seconds: Callable[[], float] | None) -> Outcome:

    config = run.config
    coalescer = ProgressCoalescer(config.progress_per_second)
    logs = 0
    started = time.monotonic()
    result: Any = None
    got_result = False
    failure: Failure | None = None  # reported by the stream, or raised by the call
    try:
        stream = executor_client.get_executor_client().execute(
            task_id=run.task.id,
            attempt=int(run.task.attempts or 1),
            module=run.route.module,
            params=run.route.params,
            timeout_s=_timeout(config, remaining_seconds),
            cancel=lease.cancel,
            **input_args(run.task, run.route.inline_input),
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
                failure = Failure(event.message or code, code=code, retryable=event.retryable)
                break
    except ExecutorError as exc:  # ExecutorUnavailable included
        failure = exc
    if lease.cancel.is_set():
        raise LeaseLost(run.task.id)
    if failure is None and not got_result:
        failure = ExecutorUnavailable(
            "the executor stream ended without a result", code="no_result"
        )
    routing.record_route_outcome("executor", not isinstance(failure, ExecutorUnavailable))
    if failure is not None:
        return run.settle_failure(failure, retry_reason=f"executor: {failure.code}")
    pending = coalescer.flush()
    # The last coalesced progress goes out with the terminal write: one transaction instead
    # of two, with the same events, seqs and order (stored and posted right before completed).
    return run.complete(result, started, [] if pending is None else [_progress_draft(pending)])


def run_llm(run: Run, lease: Lease, remaining_seconds: Callable[[], float] | None) -> Outcome:

    started = time.monotonic()
    run.emit("log", "Asking the language model.", actor=ACTOR)
    value = run.task.input
    text_input = value if isinstance(value, str) or value is None else json.dumps(value)
    try:
        text = llm.generate(
            run.task.instruction or "", text_input or "", _timeout(run.config, remaining_seconds)
        )
    except LlmError as exc:
        routing.record_route_outcome("llm", False)
        if lease.cancel.is_set():
            raise LeaseLost(run.task.id) from exc
        # The task's error code names the route; the message says what the provider said.
        failure = Failure(
            exc.message or "The language model refused the task.",
            code="llm_error",
            retryable=exc.retryable,
        )
        return run.settle_failure(failure, retry_reason="the language model is unavailable")
    routing.record_route_outcome("llm", True)
    if lease.cancel.is_set():
        raise LeaseLost(run.task.id)
    return run.complete({"text": text}, started, [])
