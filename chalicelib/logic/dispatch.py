"""Run queued tasks from SQS: one message ``{"taskId", "attempt"}`` = one attempt of one task.

1. ``handle_message`` loads the task; a duplicate or late delivery finds it not queued (or the
   attempt moved on) and does nothing. A cancel requested before the start cancels it.
2. Route with ``routing.route_for_task``. ``review`` -> ``needs_review`` with the decision and
   its ``reasonCode`` (unless the route is merely down, ``RoutePlan.route_down``: transient).
   Otherwise claim the task and run it on its route (``chalicelib.logic.dispatch_run`` for the
   claim, lease and end; ``dispatch_routes`` for the executor and the LLM). Two concurrent
   deliveries race on the claim's condition; one wins.
3. Every status change is a ``chalicelib.logic.lifecycle`` transition.

Transient failures put the task back to ``queued`` and raise ``RetryLater``. The batch handler
then sets that message's visibility timeout to an exponential backoff with full jitter and
raises, so SQS redelivers it (and, after ``maxReceiveCount``, moves it to the DLQ). We raise
instead of returning ``batchItemFailures`` because Chalice's SQS event source does not enable
``ReportBatchItemFailures``: a returned list would be ignored and the failed message deleted.
Messages of the batch that succeeded are deleted explicitly first, so a raise never re-runs them
(a re-run would be a no-op anyway: they are no longer queued).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib import aws_clients
from chalicelib.clock import now_iso
from chalicelib.config import DispatchSettings, get_settings
from chalicelib.dal.item_size import is_validation_error
from chalicelib.dal.models import Task
from chalicelib.dal.task_updates import update_task
from chalicelib.ids import new_id
from chalicelib.logic import admission, input_store, lifecycle, routing
from chalicelib.logic.dispatch_routes import input_bytes, run_executor, run_llm
from chalicelib.logic.dispatch_run import (
    ACTOR,
    Lease,
    LeaseLost,
    Outcome,
    RetryLater,
    RoutePlan,
    claim,
)
from chalicelib.logic.lifecycle import (
    CANCELED,
    FAILED,
    NEEDS_REVIEW,
    QUEUED,
    ConditionFailed,
    attempt_is,
    queued_for_attempt,
)
from chalicelib.models.tasks import DispatchMessage, EventDraft

log = logging.getLogger(__name__)


class PoisonMessage(Exception):
    """The message body is not a dispatch message; retrying cannot help (it ends in the DLQ)."""


def parse_message(body: str) -> DispatchMessage:
    try:
        return DispatchMessage.parse(body)
    except ValueError as exc:
        raise PoisonMessage("not a dispatch message (a string taskId, an integer attempt)") from exc


# ---------------------------------------------------------------------------- one message


def handle_message(
    body: str,
    *,
    receive_count: int = 1,
    remaining_seconds: Callable[[], float] | None = None,
) -> Outcome:
    """Process one dispatch message. Raises ``RetryLater`` or ``PoisonMessage``."""
    config = get_settings().dispatch
    message = parse_message(body)
    task = _load(message)
    if task is None:
        return Outcome("skipped", "not queued for this attempt")
    try:
        return _dispatch(task, message, receive_count, remaining_seconds, config)
    except Exception as exc:
        if not is_validation_error(exc):
            raise
        # DynamoDB refuses this task's writes for good: retrying would loop until the DLQ.
        return _end_unwritable(task, message, exc)


def _dispatch(
    task: Task,
    message: DispatchMessage,
    receive_count: int,
    remaining_seconds: Callable[[], float] | None,
    config: DispatchSettings,
) -> Outcome:
    if task.cancel_requested:
        return _cancel_queued(task, message)

    route = RoutePlan.of(routing.route_for_task(task))
    if route.target == "review":
        if receive_count < config.max_receives and route.route_down():
            raise RetryLater(f"the route of {route.module or 'this task'} is unavailable")
        return _to_review(task, message, route)

    owner = new_id("lease")
    # Only the executor's calls have a cost model; sizing a file input costs a read.
    size = input_bytes(task, route.inline_input) if route.target == "executor" else 0
    lane = admission.lane_of(route.target, route.module, size)
    places = admission.admit(
        task_id=task.id,
        created_by=task.created_by,
        project_id=task.project_id,
        lane=lane,
        owner=owner,
        config=config,
    )
    if isinstance(places, admission.Waiting):
        return _wait(task, message, places, config)
    try:
        run = claim(task, message, route, receive_count, config, owner=owner)
        if run is None:
            return Outcome("skipped", "claimed by another delivery")
        with Lease(task.id, run.owner, config, places) as lease:
            try:
                if route.target == "llm":
                    return run_llm(run, lease, remaining_seconds)
                return run_executor(run, lease, remaining_seconds)
            except LeaseLost:
                if lease.cancel_requested:
                    return run.finish(CANCELED, "Canceled by request.")
                return Outcome("lost", "the lease was taken back while running")
    finally:
        places.release()


def wait_seconds(deferrals: int, config: DispatchSettings) -> int:
    """How long a waiting task's message is delayed: growing, with jitter, whole seconds."""
    if config.wait_base_seconds <= 0:
        return 0
    ceiling = min(config.wait_cap_seconds, config.wait_base_seconds * 2 ** max(0, deferrals))
    return max(1, round(random.uniform(ceiling / 2, ceiling)))  # noqa: S311


def _wait(
    task: Task, message: DispatchMessage, waiting: admission.Waiting, config: DispatchSettings
) -> Outcome:
    """No place for this run now: record why (an event when the reason changes), then send the
    message again later. A new message, so waiting never uses up the task's deliveries; the
    touch of ``updated_at`` keeps the sweeper from taking the task for a lost one."""
    now = now_iso()
    before = task.waiting or {}
    same = before.get("code") == waiting.code
    reason = {
        "code": waiting.code,
        "message": waiting.message,
        "since": before.get("since", now) if same else now,
    }
    actions = [Task.waiting.set(reason), Task.updated_at.set(now), Task.redrives.remove()]
    try:
        if same:
            update_task(task.id, actions, condition=queued_for_attempt(message.attempt))
        else:
            lifecycle.transition(
                task,
                QUEUED,
                None,
                guard=attempt_is(message.attempt),
                actions=actions,
                events=[EventDraft("log", waiting.message, ACTOR, data={"waiting": reason})],
                last_seq=int(task.last_seq or 0),
            )
    except ConditionFailed:
        return Outcome("skipped", "no longer queued")
    deferrals = message.deferrals + 1
    lifecycle.enqueue(
        task.id,
        message.attempt,
        delay_seconds=wait_seconds(message.deferrals, config),
        deferrals=deferrals,
    )
    return Outcome("waiting", waiting.message)


def _load(message: DispatchMessage) -> Task | None:
    """The task if it is queued for ``message``'s attempt, with its input in memory (read
    back from S3 when stored there: the router and the route read ``task.input``)."""
    try:
        task = Task.get(message.task_id, consistent_read=True)
    except Task.DoesNotExist:
        return None
    if task.status != QUEUED or int(task.attempts or 1) != message.attempt:
        return None
    if task.input_ref:
        task.input = input_store.load_input(task.input_ref)
    return task


def _end_unwritable(task: Task, message: DispatchMessage, exc: Exception) -> Outcome:
    log.error("task %s cannot be written; ending it", task.id, exc_info=exc)
    try:
        written = lifecycle.end_unwritable(
            task,
            QUEUED,
            guard=attempt_is(message.attempt),
            actor=ACTOR,
            cause="DynamoDB refused the write",
        )
    except ConditionFailed:
        return Outcome("skipped", "no longer queued")
    return Outcome(FAILED, "the task's item is too large", written.events)


def _cancel_queued(task: Task, message: DispatchMessage) -> Outcome:
    try:
        written = lifecycle.transition(
            task,
            QUEUED,
            CANCELED,
            guard=attempt_is(message.attempt),
            events=[EventDraft("status", "Canceled before it started.", ACTOR)],
            last_seq=int(task.last_seq or 0),
        )
    except ConditionFailed:
        return Outcome("skipped", "no longer queued")
    return Outcome(CANCELED, "canceled before start", written.events)


def _to_review(task: Task, message: DispatchMessage, route: RoutePlan) -> Outcome:
    reason = route.reason or "No route can take this task."
    try:
        written = lifecycle.transition(
            task,
            QUEUED,
            NEEDS_REVIEW,
            guard=attempt_is(message.attempt),
            actions=[Task.route.set(route.stored)],
            events=[
                EventDraft(
                    "routed",
                    f"Routed to review ({route.module or 'no module'}).",
                    "router",
                    data=route.stored,
                ),
                EventDraft("status", reason, ACTOR),
            ],
            last_seq=int(task.last_seq or 0),
        )
    except ConditionFailed:
        return Outcome("skipped", "no longer queued")
    return Outcome(NEEDS_REVIEW, reason, written.events)


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


def backoff_seconds(receive_count: int, config: DispatchSettings | None = None) -> int:
    """Exponential backoff with full jitter, in whole seconds (SQS visibility)."""
    config = config or get_settings().dispatch
    ceiling = min(
        config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** max(0, receive_count - 1)
    )
    return max(1, int(random.uniform(config.backoff_base_seconds / 2, ceiling)))  # noqa: S311


def _queue_url(record: SqsRecord) -> str:
    url = get_settings().dispatch_queue_url
    if url or not record.event_source_arn:
        return url

    name = record.event_source_arn.rsplit(":", 1)[-1]
    return aws_clients.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


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

    sqs = aws_clients.client("sqs")
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
