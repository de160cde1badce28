"""Conditional writes on a task that also reserve activity seqs, and store the events.

``Task.last_seq`` is the per-task event counter. Adding N to it atomically hands the caller the
seqs ``last_seq-N+1 .. last_seq``, so every writer (dispatch, sweeper, REST, external workers)
gets distinct, increasing seqs without reading first. A status transition and the seqs of its
events come from the same conditional write: if the condition fails, no seq is consumed.

A writer that knows ``last_seq`` (dispatch, which read the task to claim it and wrote every seq
since) writes the update and the activity items in one transaction instead (``write_at_seq``),
falling back to the two-step path when another writer took a seq in between. A writer that dies
between the two steps leaves a gap, never a duplicate: clients dedupe and resume by seq, and
"strictly increasing" is the contract, not "contiguous".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pynamodb.constants import ALL_NEW, KEY, UPDATED_NEW
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.clock import now_iso
from chalicelib.dal.models import Activity, Task
from chalicelib.dal.transactions import transaction_connection
from chalicelib.ids import new_id
from chalicelib.models.tasks import EventDraft, Status, TelemetryEvent


class ConditionFailed(Exception):
    """The task was not in the expected state (or does not exist)."""


def update_task(
    task_id: str,
    actions: Sequence[Action] = (),
    *,
    condition: Condition | None = None,
    reserve_seqs: int = 0,
    return_task: bool = False,
) -> tuple[int | None, Task | None]:
    """Apply ``actions`` if ``condition`` holds; return (highest reserved seq, task after write).

    The highest seq is ``None`` when nothing was reserved; the task is returned only when
    asked for (ALL_NEW carries input and result, so the hot path avoids it).

    A write that reserves seqs also stamps ``write_id``. DynamoDB may apply a write and still
    answer 500; botocore then retries it, and a conditional write meets its own effect and
    fails its condition. Taken for a lost race, that would leave the status changed without
    its events (a task ended with no end event). So a condition failure reads the task back:
    if it carries this write's id, the write did apply (and nobody wrote since): its seqs are
    the task's ``last_seq`` and below.
    """
    all_actions = list(actions)
    write_id: str | None = None
    if reserve_seqs:
        write_id = new_id("wr")
        all_actions.append(Task.last_seq.add(reserve_seqs))
        all_actions.append(Task.write_id.set(write_id))
    if not all_actions:
        raise ValueError("update_task needs at least one action or reserved seq")
    full_condition = Task.id.exists()
    if condition is not None:
        full_condition = full_condition & condition
    try:
        data: dict[str, Any] = Task._get_connection().update_item(
            task_id,
            actions=all_actions,
            condition=full_condition,
            return_values=ALL_NEW if return_task else UPDATED_NEW,
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        applied = _applied_already(task_id, write_id)
        if applied is None:
            raise ConditionFailed(task_id) from exc
        return int(applied.last_seq), applied if return_task else None
    attributes = data.get("Attributes", {})
    last_seq = int(attributes["last_seq"]["N"]) if reserve_seqs else None
    task = Task.from_raw_data(attributes) if return_task else None
    return last_seq, task


def _applied_already(task_id: str, write_id: str | None) -> Task | None:
    """The task, if its last seq-reserving write is ``write_id`` (see ``update_task``)."""
    if write_id is None:
        return None
    try:
        task = Task.get(task_id, consistent_read=True)
    except Task.DoesNotExist:
        return None
    return task if task.write_id == write_id else None


class StaleSeq(Exception):
    """``write_at_seq`` did not apply: the state or the task's ``last_seq`` was not as expected."""


def write_at_seq(
    task_id: str,
    actions: Sequence[Action],
    *,
    condition: Condition | None,
    last_seq: int,
    activities: Sequence[Activity],
) -> None:
    """One TransactWriteItems: the task update and its new ``activities``, or nothing.

    The caller already knows the task's ``last_seq`` (it read or wrote it), so the seqs of the
    new events are ``last_seq + 1 ..`` and their items can be written in the same request as the
    update that takes those seqs: the update is conditional on ``last_seq`` being unchanged
    (and on ``condition``) and sets it to ``last_seq + len(activities)``. Seqs stay strictly
    increasing in commit order across writers. Raises ``StaleSeq`` when the transaction was
    cancelled (the state is not as expected, another writer took a seq, or a concurrent
    transaction conflicted); the caller then falls back to ``update_task`` + puts, which
    reserves seqs without reading and says whether the state itself is wrong.
    """

    full_condition = Task.id.exists() & (Task.last_seq == last_seq)
    if condition is not None:
        full_condition = full_condition & condition
    update = Task._get_connection().get_operation_kwargs(
        task_id,
        key=KEY,
        actions=[*actions, Task.last_seq.set(last_seq + len(activities))],
        condition=full_condition,
    )
    # A seq is new by construction; the condition guards the log against a broken counter.
    puts = [
        item.get_save_kwargs_from_instance(condition=Activity.seq.does_not_exist())
        for item in activities
    ]
    try:
        transaction_connection().transact_write_items(
            condition_check_items=[], delete_items=[], put_items=puts, update_items=[update]
        )
    except TransactWriteError as exc:
        reasons = {r.code for r in (exc.cancellation_reasons or []) if r is not None}
        if reasons & {"ConditionalCheckFailed", "TransactionConflict"}:
            raise StaleSeq(task_id) from exc
        raise


# ---------------------------------------------------------------------------- events


def activity_item(event: TelemetryEvent) -> Activity:
    """The activity log row of ``event``."""
    return Activity(
        task_id=event.task_id,
        seq=event.seq,
        project_id=event.project_id,
        kind=event.kind,
        status=event.status,
        progress=event.progress,
        message=event.message,
        at=event.at,
        actor=event.actor,
        data=event.data,
    )


def event_of(item: Activity) -> TelemetryEvent:
    """The event an activity log row holds."""
    return TelemetryEvent(
        task_id=item.task_id,
        project_id=item.project_id,
        seq=int(item.seq),
        kind=item.kind,  # type: ignore[arg-type]  # written from an EventKind
        status=item.status,  # type: ignore[arg-type]  # written from a Status
        progress=float(item.progress) if item.progress is not None else None,
        message=item.message or "",
        at=item.at,
        actor=item.actor,
        data=item.data,
    )


# Tries of the activity put that follows a task write which already took the events' seqs:
# the status changed, so a lost put would leave a status without its event.
_PUT_TRIES = 3
_PUT_BACKOFF_S = 0.05


def _put_activities(events: Sequence[TelemetryEvent]) -> None:
    for attempt in range(_PUT_TRIES):
        try:
            _put_activities_once(events)
            return
        except Exception:
            if attempt == _PUT_TRIES - 1:
                raise
            time.sleep(_PUT_BACKOFF_S * 2**attempt)


def _put_activities_once(events: Sequence[TelemetryEvent]) -> None:
    # Unconditional puts: a try that failed after it was stored is overwritten by the same item.
    if len(events) == 1:
        activity_item(events[0]).save()
        return
    with Activity.batch_write() as batch:
        for event in events:
            batch.save(activity_item(event))


def _stored(
    task_id: str, project_id: str, first_seq: int, status: Status, drafts: Sequence[EventDraft]
) -> list[TelemetryEvent]:
    at = now_iso()
    return [
        draft.stored(
            task_id=task_id, project_id=project_id, seq=first_seq + i, status=status, at=at
        )
        for i, draft in enumerate(drafts)
    ]


def write_events(
    task_id: str,
    project_id: str,
    *,
    actions: Sequence[Action],
    condition: Condition | None,
    drafts: Sequence[EventDraft],
    status: Status,
    last_seq: int | None = None,
    return_task: bool = False,
) -> tuple[list[TelemetryEvent], Task | None]:
    """One conditional task write that also takes a seq for each of ``drafts``, then the log.

    ``status``: the status of drafts that name none (the task's status after the write).
    Returns (the stored events, the task after the write if ``return_task``, else None).
    Raises ``ConditionFailed`` when the task is not in the expected state: nothing is written.

    With ``last_seq`` (the task's highest seq as the caller knows it) the write and the events
    are one transaction conditional on that seq (one request instead of two). If it does not
    apply (another writer took a seq, or the state is wrong) the two-step path below runs and
    decides: it reserves fresh seqs, or raises ``ConditionFailed``.
    """
    if last_seq is not None and drafts and not return_task:
        stored = _stored(task_id, project_id, last_seq + 1, status, drafts)
        try:
            write_at_seq(
                task_id,
                actions,
                condition=condition,
                last_seq=last_seq,
                activities=[activity_item(e) for e in stored],
            )
            return stored, None
        except StaleSeq:
            pass
    last, task = update_task(
        task_id, actions, condition=condition, reserve_seqs=len(drafts), return_task=return_task
    )
    if not drafts:
        return [], task
    assert last is not None
    stored = _stored(task_id, project_id, last - len(drafts) + 1, status, drafts)
    _put_activities(stored)
    return stored, task


def append_event(task_id: str, draft: EventDraft, *, condition: Condition | None) -> TelemetryEvent:
    """Store one event of a task whose project and status the caller does not know: both are
    read from the task in the write that takes the seq. Raises ``ConditionFailed``."""
    last, task = update_task(task_id, condition=condition, reserve_seqs=1, return_task=True)
    assert last is not None
    assert task is not None
    # task.status is a string attribute, written from a Status.
    stored = _stored(task_id, task.project_id, last, task.status, [draft])  # type: ignore[arg-type]
    _put_activities(stored)
    return stored[0]
