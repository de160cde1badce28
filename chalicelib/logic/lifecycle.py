"""The task state machine: the statuses, the legal moves, and the one call that moves a task.

    queued        -> running | needs_review | canceled | failed     (failed: no run can take it)
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

Before a write that sets values, the item's size after it is measured as DynamoDB counts it
(``chalicelib.dal.item_size``): one over the limit raises ``ItemTooLarge`` and writes nothing.
A task whose writes DynamoDB refuses whatever is retried (``end_unwritable``) still ends:
failed, with only a small error, its large values dropped or moved to S3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Protocol

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Value
from pynamodb.expressions.update import Action, SetAction

from chalicelib import aws_clients
from chalicelib.clock import now_iso, parse_iso
from chalicelib.config import get_settings
from chalicelib.dal.item_size import check_size, is_validation_error
from chalicelib.dal.models import Task, project_status_key
from chalicelib.dal.task_updates import ConditionFailed as ConditionFailed  # re-exported
from chalicelib.dal.task_updates import write_events
from chalicelib.errors import Conflict, InvalidState
from chalicelib.logic import fanout, input_store
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
        # failed: the task can never be claimed (DynamoDB refuses its writes), or no dispatcher
        # took it within the bound (chalicelib.logic.sweeper).
        QUEUED: frozenset({RUNNING, NEEDS_REVIEW, CANCELED, FAILED}),
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
        Task.redrives.remove(),
        Task.waiting.remove(),
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
    if isinstance(task, Task) and _sets_values(actions):
        check_size(item_attributes(task), [*moves, *actions])  # ItemTooLarge: nothing written
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


def item_attributes(task: Task) -> dict[str, Any]:
    """The task's item as stored. A task whose input is in S3 (``input_ref``) stores no
    ``input``, even while the dispatcher holds it in memory."""
    attributes = task.serialize(null_check=False)
    if task.input_ref:
        attributes.pop("input", None)
    return attributes


def _sets_values(actions: Sequence[Action]) -> bool:
    return any(isinstance(a, SetAction) and isinstance(a.values[1], Value) for a in actions)


# An inline input larger than this is moved to S3 when a write needs room.
_MAKE_ROOM_INPUT_BYTES = 1024


def with_room(
    task: Task, write: Callable[[list[Action]], Written], *, move_input: bool = True
) -> Written:
    """``write(extra_actions)``; if DynamoDB refuses it for good (``ValidationException``: the
    item would be too large, e.g. one stored before sizes were measured), once more with the
    task's inline input moved to S3 (``input_ref``) in the same write.

    Raises the refusal when there is nothing to move (or ``move_input`` is False: the write
    sets the input itself), and ``ConditionFailed`` like ``transition``.
    """
    try:
        return write([])
    except Exception as exc:
        if not is_validation_error(exc):
            raise
        room = move_input and (
            task.input is not None
            and not task.input_ref
            and input_store.stored_bytes(task.input) > _MAKE_ROOM_INPUT_BYTES
        )
        if not room:
            raise
        log.warning("task %s is too large to write; moving its input to S3", task.id)
    key = input_store.store_input(task.id, task.input)
    try:
        return write([Task.input.remove(), Task.input_ref.set(key)])
    except Exception:
        input_store.delete_input(key)
        raise


def end_unwritable(
    task: Task,
    frm: Status,
    *,
    guard: Condition | None,
    actor: str,
    cause: str,
    last_seq: int | None = None,
    publish: Publisher | None = None,
) -> Written:
    """Fail ``task`` whose writes DynamoDB refuses for good (``ValidationException``: the item
    would be too large, e.g. one stored before sizes were measured).

    The end must fit whatever made the other writes fail: it drops the route and any inline
    result and writes ``failed`` with a short error (code ``item_too_large``), moving the
    inline input to S3 if even that is refused (``with_room``). Raises ``ConditionFailed``
    like ``transition``.
    """
    message = f"The task could not be stored ({cause}); its data is too large."
    error = {"code": "item_too_large", "message": message}
    actions: list[Action] = [Task.error.set(error), Task.result.remove(), Task.route.remove()]
    return with_room(
        task,
        lambda room: transition(
            task,
            frm,
            FAILED,
            guard=guard,
            actions=[*actions, *room],
            events=[EventDraft("status", message, actor, data={"error": error})],
            last_seq=last_seq,
            publish=publish,
        ),
    )


def _cancel_write(task: Task, actor: str) -> Written:
    if task.status in CANCELABLE_NOW:
        frm: Status = task.status
        return with_room(
            task,
            lambda room: transition(
                task,
                frm,
                CANCELED,
                actions=room,
                events=[EventDraft("status", "Canceled", actor)],
                return_task=True,
            ),
        )
    # Only the first of concurrent cancels writes (and says so); the others find the request
    # made when they read again, and return the task as it is.
    return with_room(
        task,
        lambda room: transition(
            task,
            RUNNING,
            None,
            guard=not_cancelled(),
            actions=[Task.cancel_requested.set(True), *touch_actions(), *room],
            events=[EventDraft("log", "Cancel requested", actor)],
            return_task=True,
        ),
    )


def cancel(task: Task, *, actor: str) -> Task | None:
    """Cancel ``task`` (``POST /tasks/{id}/cancel``, a project's purge): queued or in review ->
    canceled at once; running -> ``cancel_requested`` (the dispatcher's heartbeat sees it, stops
    the gRPC call and writes ``canceled``; the sweeper does when the run died). Returns the task
    after the write, or None when it no longer exists. Raises ``InvalidState`` for a task that
    is (or meanwhile became) terminal, ``Conflict`` when it kept changing state."""
    for _ in range(_CANCEL_TRIES):
        if task.status == RUNNING and task.cancel_requested:
            return task
        if task.status not in (*CANCELABLE_NOW, RUNNING):
            raise InvalidState(f"A {task.status} task cannot be canceled.")
        try:
            written = _cancel_write(task, actor)
        except ConditionFailed:
            try:
                task = Task.get(task.id, consistent_read=True)
            except Task.DoesNotExist:
                return None
            continue
        return written.task
    raise Conflict("The task is changing state; try again.")


def enqueue(task_id: str, attempt: int, *, delay_seconds: int = 0, deferrals: int = 0) -> None:
    """Send the dispatch message of ``attempt``: a task that enters ``queued`` for a new attempt
    (created, retried, taken back by the sweeper) is run only once its message arrives. A task
    waiting for a place is sent again ``delay_seconds`` later (``deferrals``: how often)."""
    message = DispatchMessage(task_id=task_id, attempt=attempt, deferrals=deferrals)
    aws_clients.client("sqs").send_message(
        QueueUrl=get_settings().dispatch_queue_url,
        MessageBody=message.body(),
        DelaySeconds=max(0, min(900, int(delay_seconds))),
    )
