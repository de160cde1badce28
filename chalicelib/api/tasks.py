"""Tasks: create and dispatch, read, edit, cancel, retry, their activity, and the stats of a
project's tasks.

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.api.rest import RESPONSE_ID, RESPONSE_VERSION, ApiBlueprint, Call, M, link
from chalicelib.errors import ValidationFailed
from chalicelib.http import observability

if TYPE_CHECKING:
    from chalicelib.models.stats import StatsOut
    from chalicelib.models.tasks import ActivityList, TaskBulkResponse, TaskList, TaskOut

bp = ApiBlueprint(__name__)

# What a client does next with a task it got back (the OpenAPI document's links).
_TASK = {"path.task_id": RESPONSE_ID}
TASK_LINKS = (
    link("getTask", _TASK),
    link("updateTask", {**_TASK, "header.If-Match": RESPONSE_VERSION}),
    link("deleteTask", _TASK),
    link("cancelTask", _TASK),
    link("retryTask", _TASK),
    link("listTaskActivity", _TASK),
    link("createTaskFile", _TASK),
    link("listTaskFiles", _TASK),
    link("bulkTasks", taskIds=[RESPONSE_ID]),
    link("postInternalTelemetry", taskId=RESPONSE_ID),
    link("reviewTask", _TASK),
)


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
    "links": TASK_LINKS,
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
    summary="Tasks of a project or assigned to the caller: filtered, searched, sorted, paged",
    tags=("tasks",),
    query=M("tasks:TaskListQuery"),
    response=M("tasks:TaskList"),
    errors=(400, 403, 404),
    description="One DynamoDB Query per page. `status` and the sort order (`created`; "
    "`updated` and `duration` need a status) pick the index; under `sort=created` the created "
    "range is part of the key. Other filters (assigneeId, module, q, the created range under "
    "another sort) are checked on the tasks read, at most 250 per page: such a page may hold "
    "fewer than `limit` items, even none, and still have a `nextCursor` (`itemsRead` says how "
    "many were read). Cursors are signed and belong to one list and one set of filters (400 "
    "invalid_cursor otherwise).",
)
def list_tasks(call: Call) -> TaskList:
    from chalicelib.logic import task_lists  # deferred: cold start (see chalicelib.api)

    return task_lists.list_tasks(call.user, call.query)


@bp.endpoint(
    "POST",
    "/tasks/bulk",
    name="bulkTasks",
    summary="Cancel, retry or delete up to 100 tasks; one result per task",
    tags=("tasks",),
    body=M("tasks:TaskBulkRequest"),
    response=M("tasks:TaskBulkResponse"),
    errors=(503,),
    description="Each task goes through its own route's call (authorized per task, every "
    "status change a state machine transition); a task that cannot be acted on (finished, "
    "running, not found or not yours, changing) is reported in its result, never fails the "
    "request. Duplicate ids count once.",
)
def bulk_tasks(call: Call) -> TaskBulkResponse:
    from chalicelib.logic import task_bulk  # deferred: cold start (see chalicelib.api)

    return task_bulk.bulk_action(call.user, call.body)


@bp.endpoint(
    "GET",
    "/tasks/{task_id}",
    name="getTask",
    summary="A task",
    tags=("tasks",),
    response=M("tasks:TaskOut"),
    links=TASK_LINKS,
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
    links=TASK_LINKS,
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
    links=TASK_LINKS,
)
def cancel_task(call: Call) -> TaskOut:
    from chalicelib.logic import tasks  # deferred: cold start (see chalicelib.api)

    return tasks.cancel_task(call.user, call.path("task_id"))


@bp.endpoint(
    "POST",
    "/tasks/{task_id}/retry",
    name="retryTask",
    summary="New attempt of a failed or canceled task, or route a waiting one again",
    tags=("tasks",),
    response=M("tasks:TaskOut"),
    status=202,
    errors=(409, 503),
    links=TASK_LINKS,
    description="A task in `needs_review` is routed again now, with whatever changed since "
    "(an edit, a route back up); when the router would only send it back to review the retry "
    "is refused (409) with its reason as the error code (`input_missing`, `input_mismatch`, "
    "`low_confidence`, `route_unavailable`): act on it with POST /tasks/{task_id}/review.",
)
def retry_task(call: Call) -> TaskOut:
    from chalicelib.logic import review  # deferred: cold start (see chalicelib.api)

    return review.retry_task(call.user, call.path("task_id"))


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
