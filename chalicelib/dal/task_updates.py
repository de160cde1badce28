"""Conditional writes on a task that also reserve activity seqs, in one request.

``Task.last_seq`` is the per-task event counter. Adding N to it atomically hands the caller the
seqs ``last_seq-N+1 .. last_seq``, so every writer (dispatch, sweeper, REST, external workers)
gets distinct, increasing seqs without reading first. A status transition and the seqs of its
events come from the same conditional write: if the condition fails, no seq is consumed.

A writer that knows ``last_seq`` (dispatch, which read the task to claim it and wrote every seq
since) uses ``write_at_seq`` instead: the update and the activity items in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.constants import ALL_NEW, KEY, UPDATED_NEW
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.dal.models import Activity, Task


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
    """
    all_actions = list(actions)
    if reserve_seqs:
        all_actions.append(Task.last_seq.add(reserve_seqs))
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
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ConditionFailed(task_id) from exc
        raise
    attributes = data.get("Attributes", {})
    last_seq = int(attributes["last_seq"]["N"]) if reserve_seqs else None
    task = Task.from_raw_data(attributes) if return_task else None
    return last_seq, task


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
    from chalicelib.dal.transactions import transaction_connection

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
