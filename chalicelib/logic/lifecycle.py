"""The task state machine: the statuses, the legal moves, and the one call that moves a task.

    queued        -> running | needs_review | canceled
    running       -> completed | failed | canceled | queued   (transient failure, lease expired)
    needs_review  -> queued | completed | failed | canceled   (a person's review, or a cancel)
    failed        -> queued                                   (retry: a new attempt)
    canceled      -> queued                                   (retry: a new attempt)
    completed     -> nothing: final

Every status change goes through ``transition``: ONE conditional write that holds only if the
task is still in the status the caller read (and the caller's guard: the lease it holds, the
attempt it runs, the version it edits), sets the new status with its index key and timestamps,
takes a seq for each of its events and stores them (``chalicelib.dal.task_updates``); then the
events are published to the task's subscribers. When the condition fails nothing is written,
no seq is taken and nothing is published (``ConditionFailed``): of two writers racing from the
same status exactly one wins. Events that change no status (progress, logs, edits) use the
same call with ``to=None``.

Publishing follows the write and is best effort: the activity log is the source of truth, and
clients resume from it by seq.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Protocol

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import aws_clients
from chalicelib.clock import now_iso, parse_iso
from chalicelib.config import get_settings
from chalicelib.dal.models import Task, project_status_key
from chalicelib.dal.task_updates import ConditionFailed as ConditionFailed  # re-exported
from chalicelib.dal.task_updates import write_events
from chalicelib.errors import Conflict, InvalidState
from chalicelib.logic import fanout
from chalicelib.models.tasks import (
    STATUSES,
    DispatchMessage,
    EventDraft,
    Status,
    TelemetryEvent,
)

log = logging.getLogger(__name__)

QUEUED: Final[Status] = "queued"
RUNNING: Final[Status] = "running"
NEEDS_REVIEW: Final[Status] = "needs_review"
COMPLETED: Final[Status] = "completed"
FAILED: Final[Status] = "failed"
CANCELED: Final[Status] = "canceled"

# The status a task is created in.
INITIAL: Final[Status] = QUEUED
# Conditional writes a cancel tries before giving up on a task that keeps changing.
_CANCEL_TRIES = 3

TRANSITIONS: Final[Mapping[Status, frozenset[Status]]] = MappingProxyType(
    {
        QUEUED: frozenset({RUNNING, NEEDS_REVIEW, CANCELED}),
        RUNNING: frozenset({COMPLETED, FAILED, CANCELED, QUEUED}),
        NEEDS_REVIEW: frozenset({QUEUED, COMPLETED, FAILED, CANCELED}),
        FAILED: frozenset({QUEUED}),
        CANCELED: frozenset({QUEUED}),
        COMPLETED: frozenset(),
    }
)

# Final: no run writes them again (a retry starts a new attempt from failed or canceled).
TERMINAL: Final[tuple[Status, ...]] = (COMPLETED, FAILED, CANCELED)
# Still taking events from external workers.
OPEN: Final[tuple[Status, ...]] = (QUEUED, RUNNING)
# A person's retry starts a new attempt from these.
RETRYABLE: Final[tuple[Status, ...]] = (FAILED, CANCELED)
# Canceled at once; a running task is asked to stop (its run writes ``canceled``).
CANCELABLE_NOW: Final[tuple[Status, ...]] = (QUEUED, NEEDS_REVIEW)
# What the task does (instruction, input, params, module) may change only while no run holds
# it and it has no result.
CONTENT_EDITABLE: Final[tuple[Status, ...]] = (QUEUED, NEEDS_REVIEW, FAILED, CANCELED)

if set(TRANSITIONS) != set(STATUSES) or not all(t <= set(STATUSES) for t in TRANSITIONS.values()):
    raise RuntimeError("TRANSITIONS must cover exactly chalicelib.models.tasks.Status")


class IllegalTransition(ValueError):
    """A move the table does not allow: a bug in the caller, never a user's doing."""


def can_move(frm: str, to: str) -> bool:
    """Whether ``frm -> to`` is a legal move."""
    # frm may be any stored string: one that is not a Status has no moves.
    return to in TRANSITIONS.get(frm, frozenset())  # type: ignore[call-overload]


def is_terminal(status: str) -> bool:
    return status in TERMINAL


# ---------------------------------------------------------------------------- conditions


def status_is(*statuses: Status) -> Condition:
    """The task is in (one of) ``statuses``."""
    if len(statuses) == 1:
        return Task.status == statuses[0]
    return Task.status.is_in(*statuses)


def attempt_is(attempt: int) -> Condition:
    """The task is still on ``attempt`` (a message for an older attempt is stale)."""
    return Task.attempts == attempt


def queued_for_attempt(attempt: int) -> Condition:
    return status_is(QUEUED) & attempt_is(attempt)


def lease_held(owner: str) -> Condition:
    """The run that claimed the task with lease ``owner`` still holds it."""
    return Task.lease_owner == owner


def same_lease(task: Task) -> Condition:
    """Nobody renewed or took the lease since ``task`` was read (the sweeper's take-back)."""
    return (Task.lease_owner == task.lease_owner) & (Task.lease_expires_at == task.lease_expires_at)


def not_cancelled() -> Condition:
    """No cancel was requested."""
    return Task.cancel_requested.does_not_exist() | (Task.cancel_requested == False)  # noqa: E712


def version_is(version: int) -> Condition:
    """Nobody changed the task since the caller read ``version`` (an edit with If-Match)."""
    return Task.version == version


# ---------------------------------------------------------------------------- actions


def status_actions(project_id: str, status: Status, now: str) -> list[Action]:
    """What every status change writes: the status, its index key, the time, a new version."""
    return [
        Task.status.set(status),
        Task.project_status.set(project_status_key(project_id, status)),
        Task.updated_at.set(now),
        Task.version.add(1),
    ]


def release_lease_actions() -> list[Action]:
    """The task leaves the run that held it."""
    return [Task.lease_owner.remove(), Task.lease_expires_at.remove()]


def end_actions(now: str, started_at: str | None = None) -> list[Action]:
    """A task that ends has finished, took ``duration_ms`` (0 if it never started: the sort
    key of a board column by run time) and holds no lease."""
    return [
        Task.finished_at.set(now),
        Task.duration_ms.set(run_ms(started_at, now)),
        *release_lease_actions(),
    ]


def run_ms(started_at: str | None, finished_at: str) -> int:
    """Milliseconds from ``started_at`` to ``finished_at``; 0 for a task that never started."""
    if not started_at:
        return 0
    delta = parse_iso(finished_at) - parse_iso(started_at)
    return max(0, int(delta.total_seconds() * 1000))


def touch_actions() -> list[Action]:
    """An edit in place (no status change) still moves the time and the version."""
    return [Task.updated_at.set(now_iso()), Task.version.add(1)]


def new_attempt_actions(attempt: int) -> list[Action]:
    """Start ``attempt`` from scratch: nothing of the previous attempt's run stays."""
    return [
        Task.attempts.set(attempt),
        Task.cancel_requested.set(False),
        Task.result.remove(),
        Task.result_ref.remove(),
        Task.error.remove(),
        Task.route.remove(),
        Task.started_at.remove(),
        Task.finished_at.remove(),
        Task.duration_ms.remove(),
        *release_lease_actions(),
    ]


def _entry_actions(task: TaskKey, frm: Status, to: Status) -> list[Action]:
    now = now_iso()
    actions = status_actions(task.project_id, to, now)
    if to in TERMINAL:
        # A task that ran carries its start (a run's copy: set by its claim).
        actions += end_actions(now, getattr(task, "started_at", None))
    elif frm == RUNNING:
        actions += release_lease_actions()
    return actions


# ---------------------------------------------------------------------------- the one call


class TaskKey(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def project_id(self) -> str: ...


# Posts the events just written (to the task's subscribers, or as a run knows them).
Publisher = Callable[[list[TelemetryEvent]], Any]


@dataclass(frozen=True)
class Written:
    events: list[TelemetryEvent]  # as stored, with their seqs
    task: Task | None  # the task after the write, when asked for


def transition(
    task: TaskKey,
    frm: Status,
    to: Status | None,
    *,
    events: Sequence[EventDraft],
    actions: Sequence[Action] = (),
    guard: Condition | None = None,
    last_seq: int | None = None,
    return_task: bool = False,
    publish: Publisher | None = None,
) -> Written:
    """Move ``task`` from ``frm`` to ``to`` (``None``: stay) with ``events``, then publish them.

    The write holds only while the task is in ``frm`` and ``guard`` holds. A status change adds
    the status actions, and on entering a terminal status ``finished_at`` and the lease's
    release (leaving ``running`` for ``queued`` releases the lease too); ``actions`` adds the
    rest. Events without a status get ``to`` (else ``frm``). ``last_seq``: the task's highest
    seq as the caller knows it, to write everything in one request. ``publish``: how to post
    the stored events (default: to the task's and its project's subscribers). Raises
    ``IllegalTransition`` (nothing written) or ``ConditionFailed`` (nothing written, nothing
    published).
    """
    if to is not None and not can_move(frm, to):
        raise IllegalTransition(f"a {frm} task cannot become {to}")
    condition = status_is(frm) if guard is None else status_is(frm) & guard
    moves = [] if to is None else _entry_actions(task, frm, to)
    stored, after = write_events(
        task.id,
        task.project_id,
        actions=[*moves, *actions],
        condition=condition,
        drafts=events,
        status=to or frm,
        last_seq=last_seq,
        return_task=return_task,
    )
    if stored:
        try:
            (publish or fanout.publish_all)(stored)
        except Exception:
            log.warning("telemetry publish failed", exc_info=True)
    return Written(stored, after)


def cancel(task: Task, *, actor: str) -> Task | None:
    """Cancel ``task`` (``POST /tasks/{id}/cancel``, a project's purge): queued or in review ->
    canceled at once; running -> ``cancel_requested`` (the dispatcher's heartbeat sees it, stops
    the gRPC call and writes ``canceled``; the sweeper does when the run died). Returns the task
    after the write, or None when it no longer exists. Raises ``InvalidState`` for a task that
    is (or meanwhile became) terminal, ``Conflict`` when it kept changing state."""
    for _ in range(_CANCEL_TRIES):
        try:
            if task.status in CANCELABLE_NOW:
                written = transition(
                    task,
                    task.status,
                    CANCELED,
                    events=[EventDraft("status", "Canceled", actor)],
                    return_task=True,
                )
            elif task.status == RUNNING:
                if task.cancel_requested:
                    return task
                written = transition(
                    task,
                    RUNNING,
                    None,
                    actions=[Task.cancel_requested.set(True), *touch_actions()],
                    events=[EventDraft("log", "Cancel requested", actor)],
                    return_task=True,
                )
            else:
                raise InvalidState(f"A {task.status} task cannot be canceled.")
        except ConditionFailed:
            try:
                task = Task.get(task.id, consistent_read=True)
            except Task.DoesNotExist:
                return None
            continue
        return written.task
    raise Conflict("The task is changing state; try again.")


def enqueue(task_id: str, attempt: int) -> None:
    """Send the dispatch message of ``attempt``: a task that enters ``queued`` for a new attempt
    (created, retried, taken back by the sweeper) is run only once its message arrives."""
    aws_clients.client("sqs").send_message(
        QueueUrl=get_settings().dispatch_queue_url,
        MessageBody=DispatchMessage(task_id=task_id, attempt=attempt).body(),
    )
