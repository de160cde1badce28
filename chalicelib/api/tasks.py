"""Tasks: create and dispatch, read, edit, cancel, retry, their activity, and the stats of a
project's tasks.

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.api.rest import ApiBlueprint, Call, M
from chalicelib.errors import ValidationFailed
from chalicelib.http import observability

if TYPE_CHECKING:
    from chalicelib.models.stats import StatsOut
    from chalicelib.models.tasks import ActivityList, TaskList, TaskOut

bp = ApiBlueprint(__name__)


def _idempotency_key(call: Call) -> str | None:
    key = call.request.header("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 128 or not key.isprintable():
        raise ValidationFailed(
            "Invalid header 'Idempotency-Key': 1-128 printable characters",
            details=[{"field": "Idempotency-Key", "location": "header", "message": "1-128 chars"}],
        )
    return key


def create_task(call: Call) -> TaskOut:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    observability.count("TaskCreateRequests")
    task, _created = tasks.create_task(call.user, call.body, idempotency_key=_idempotency_key(call))
    return task


_TASK_CREATE: dict[str, Any] = {
    "tags": ("tasks",),
    "body": M("tasks:TaskCreate"),
    "response": M("tasks:TaskOut"),
    "status": 202,
    "idempotency_key": True,
    "errors": (404, 409, 503),
    "description": "Writes the task and its first event, then dispatches it. A repeated "
    "Idempotency-Key with the same body returns the same task; with another body, 409. "
    "`input` may name a ready, unattached file uploaded with POST /projects/{project_id}/files: "
    "it is attached to the task in the same transaction (409 file_already_attached, "
    "file_not_ready or file_rejected otherwise; 400 file_in_other_project).",
}
bp.endpoint(
    "POST", "/tasks", name="createTask", summary="Create and dispatch a task", **_TASK_CREATE
)(create_task)
bp.endpoint(
    "POST", "/task", name="createTaskAlias", summary="Alias of POST /tasks", **_TASK_CREATE
)(create_task)


@bp.endpoint(
    "GET",
    "/tasks",
    name="listTasks",
    summary="Tasks of a project (optionally by status/assignee), or assigned to the caller",
    tags=("tasks",),
    query=M("tasks:TaskListQuery"),
    response=M("tasks:TaskList"),
    errors=(403, 404),
)
def list_tasks(call: Call) -> TaskList:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    return tasks.list_tasks(call.user, call.query)


@bp.endpoint(
    "GET",
    "/tasks/{task_id}",
    name="getTask",
    summary="A task",
    tags=("tasks",),
    response=M("tasks:TaskOut"),
)
def get_task(call: Call) -> TaskOut:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    return tasks.get_task(call.user, call.path("task_id"))


@bp.endpoint(
    "PATCH",
    "/tasks/{task_id}",
    name="updateTask",
    summary="Edit a task",
    tags=("tasks",),
    body=M("tasks:TaskUpdate"),
    response=M("tasks:TaskOut"),
    if_match=True,
    errors=(409,),
)
def update_task(call: Call) -> TaskOut:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    return tasks.update_task(call.user, call.path("task_id"), call.body, version=call.if_match)


@bp.endpoint(
    "DELETE",
    "/tasks/{task_id}",
    name="deleteTask",
    summary="Delete a task that is not running",
    tags=("tasks",),
    status=204,
    errors=(409,),
)
def delete_task(call: Call) -> None:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    tasks.delete_task(call.user, call.path("task_id"))


@bp.endpoint(
    "POST",
    "/tasks/{task_id}/cancel",
    name="cancelTask",
    summary="Cancel (queued: at once; running: requested)",
    tags=("tasks",),
    response=M("tasks:TaskOut"),
    errors=(409,),
)
def cancel_task(call: Call) -> TaskOut:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    return tasks.cancel_task(call.user, call.path("task_id"))


@bp.endpoint(
    "POST",
    "/tasks/{task_id}/retry",
    name="retryTask",
    summary="New attempt of a failed or canceled task",
    tags=("tasks",),
    response=M("tasks:TaskOut"),
    status=202,
    errors=(409, 503),
)
def retry_task(call: Call) -> TaskOut:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    return tasks.retry_task(call.user, call.path("task_id"))


@bp.endpoint(
    "GET",
    "/tasks/{task_id}/activity",
    name="listTaskActivity",
    summary="The task's telemetry events, oldest first (nextCursor: pass as `after`)",
    tags=("tasks",),
    query=M("tasks:ActivityQuery"),
    response=M("tasks:ActivityList"),
)
def task_activity(call: Call) -> ActivityList:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    return tasks.activity(
        call.user, call.path("task_id"), after=call.query.after, limit=call.query.limit
    )


@bp.endpoint(
    "GET",
    "/stats",
    name="getStats",
    summary="Counts by status and recent durations",
    tags=("stats",),
    query=M("stats:StatsQuery"),
    response=M("stats:StatsOut"),
    errors=(404,),
)
def stats(call: Call) -> StatsOut:
    from chalicelib.logic.stats import project_stats  # deferred: cold start (see chalicelib.api)

    return project_stats(call.user, call.query.project_id)
