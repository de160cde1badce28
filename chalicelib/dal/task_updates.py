"""Conditional writes on a task that also reserve activity seqs, in one UpdateItem.

``Task.last_seq`` is the per-task event counter. Adding N to it atomically hands the caller the
seqs ``last_seq-N+1 .. last_seq``, so every writer (dispatch, sweeper, REST, external workers)
gets distinct, increasing seqs without reading first. A status transition and the seqs of its
events come from the same conditional write: if the condition fails, no seq is consumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.constants import ALL_NEW, UPDATED_NEW
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.dal.models import Task


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
