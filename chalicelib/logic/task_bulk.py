"""``POST /tasks/bulk``: cancel, retry or delete up to 100 tasks, with one result per task.

Each task goes through the very call of its own route (``chalicelib.logic.tasks``: authorized
per task, every status change a ``chalicelib.logic.lifecycle`` transition), so a bulk action
allows nothing a single one would not. A task that cannot be acted on (finished, running, not
yours, changing) is that task's outcome, never the request's failure: the answer says what
happened to each, and how many had each outcome.
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.errors import AppError, Conflict, InvalidState, NotFound, ServiceUnavailable
from chalicelib.logic import review, tasks
from chalicelib.logic.lifecycle import CANCELED
from chalicelib.models.tasks import (
    BulkAction,
    BulkOutcome,
    TaskBulkRequest,
    TaskBulkResponse,
    TaskBulkResult,
)

log = logging.getLogger(__name__)

# Tasks acted on at once: 100 deletes stay well inside API Gateway's 29 s.
WORKERS = 4

# What a refusal of the state machine (409 invalid_state on the single route) means per action.
_REFUSED: dict[BulkAction, BulkOutcome] = {
    "cancel": "already_finished",
    "retry": "not_retryable",
    "delete": "running",
}


def _act(principal: Principal, action: BulkAction, task_id: str) -> TaskBulkResult:
    if action == "cancel":
        task = tasks.cancel_task(principal, task_id)
        if task.status == CANCELED:
            return TaskBulkResult(
                task_id=task_id, outcome="canceled", status=task.status, message="Canceled."
            )
        return TaskBulkResult(
            task_id=task_id,
            outcome="cancel_requested",
            status=task.status,
            message="Cancel requested: the run stops and then the task is canceled.",
        )
    if action == "retry":
        task = review.retry_task(principal, task_id)
        return TaskBulkResult(
            task_id=task_id,
            outcome="retried",
            status=task.status,
            message=f"Queued again as attempt {task.attempts}.",
        )
    tasks.delete_task(principal, task_id)
    return TaskBulkResult(task_id=task_id, outcome="deleted", message="Deleted.")


def _one(principal: Principal, action: BulkAction, task_id: str) -> TaskBulkResult:
    def left(outcome: BulkOutcome, message: str) -> TaskBulkResult:
        return TaskBulkResult(task_id=task_id, outcome=outcome, message=message)

    try:
        return _act(principal, action, task_id)
    except NotFound:
        return left("not_found", "Task not found.")
    except InvalidState as exc:
        return left(_REFUSED[action], exc.message)
    except Conflict as exc:
        return left("conflict", exc.message)
    except AppError as exc:
        return left("error", exc.message)
    except Exception:
        log.exception("bulk %s of task %s failed", action, task_id)
        return left("error", "Something went wrong with this task; try it again.")


def bulk_action(principal: Principal, request: TaskBulkRequest) -> TaskBulkResponse:
    if request.action == "retry" and not get_settings().dispatch_queue_url:
        raise ServiceUnavailable("Task dispatch is not configured.", code="dispatch_unconfigured")
    ids = list(dict.fromkeys(request.task_ids))  # each task once, in the order given

    def act(task_id: str) -> TaskBulkResult:
        return _one(principal, request.action, task_id)

    # The first in this thread (it sets up the clients the workers then share).
    results = [act(ids[0])]
    if len(ids) > 1:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bulk") as pool:
            results += list(pool.map(act, ids[1:]))
    summary: Counter[str] = Counter(r.outcome for r in results)
    return TaskBulkResponse(action=request.action, results=results, summary=dict(summary))
