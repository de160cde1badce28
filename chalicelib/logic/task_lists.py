"""``GET /tasks``: a project's tasks (one status column, or all), or the caller's assigned
tasks, filtered, searched and sorted, one page at a time. Every page is one DynamoDB Query.

What is a key goes into the Query: the project and status (the index partition), the sort
order (the index's range key: created, updated or run time) and, when sorting by creation, the
created-date range. Everything else (assignee, module, the created range under another sort,
the text search) is checked on the tasks the Query reads, and then a page reads at most
``READ_BUDGET`` tasks: it returns what matched among them with a cursor that resumes the Query
right after the last task read, even when nothing matched. A search over a large project
never runs into a timeout; it costs one bounded Query per page, and the caller decides how far
to go (docs/board.md has the trade-offs and the measured figures).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.auth.principal import Principal
from chalicelib.dal.models import ProjectMember, Task, project_status_key
from chalicelib.errors import BadRequest, Forbidden
from chalicelib.logic.access import get_project_for
from chalicelib.logic.lifecycle import TERMINAL
from chalicelib.logic.paging import filtered_page, query_page
from chalicelib.logic.tasks import task_out
from chalicelib.models.tasks import TaskList, TaskListQuery

# Tasks one filtered page reads at most (DynamoDB returns at most 1 MB per request; pynamodb
# follows the pages). Bounds the cost and the time of every page of a search.
READ_BUDGET = 250


def _iso(moment: datetime) -> str:
    """``moment`` in the stored timestamp format (``chalicelib.clock.now_iso``)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _created_range(query: TaskListQuery) -> tuple[str | None, str | None]:
    """The created range as stored text: [from, before) -> inclusive bounds."""
    low = _iso(query.created_from) if query.created_from else None
    high = _iso(query.created_before - timedelta(milliseconds=1)) if query.created_before else None
    return low, high


def _range_condition(attr: Any, low: str | None, high: str | None) -> Any:
    if low and high:
        return attr.between(low, high)
    if low:
        return attr >= low
    if high:
        return attr <= high
    return None


def _words(text: str) -> list[str]:
    return text.casefold().split()


def _module_of(task: Task) -> str | None:
    route = task.route if isinstance(task.route, dict) else {}
    return route.get("module") or task.module


def _predicate(
    query: TaskListQuery, *, status: bool, created: bool, assignee: bool
) -> Callable[[Task], bool] | None:
    """What the Query's key cannot say, checked per task read; None when nothing is left.

    ``status``/``created``/``assignee``: whether that filter is still to check here.
    """
    checks: list[Callable[[Task], bool]] = []
    if status and query.status:
        checks.append(lambda t: t.status == query.status)
    if assignee and query.assignee_id:
        checks.append(lambda t: t.assignee_id == query.assignee_id)
    if query.module:
        checks.append(lambda t: _module_of(t) == query.module)
    low, high = _created_range(query)
    if created and (low or high):
        checks.append(lambda t: (low or "") <= t.created_at <= (high or "\uffff"))
    if query.q:
        words = _words(query.q)
        checks.append(
            lambda t: all(w in f"{t.title}\n{t.instruction or ''}".casefold() for w in words)
        )
    if not checks:
        return None
    return lambda t: all(check(t) for check in checks)


def _scope(kind: str, query: TaskListQuery, *parts: str) -> str:
    """The cursor's scope: the list and every filter, so a cursor resumes only its own list."""
    filters = query.model_dump(mode="json", exclude={"limit", "cursor"})
    digest = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:24]
    return ":".join(("tasks", kind, *parts, digest))


def _page(
    run: Callable[..., Any],
    *,
    scope: str,
    query: TaskListQuery,
    keep: Callable[[Task], bool] | None,
) -> tuple[list[Task], str | None, int]:
    if keep is None:
        items, cursor = query_page(run, scope=scope, limit=query.limit, cursor=query.cursor)
        return items, cursor, len(items)
    return filtered_page(
        run, scope=scope, limit=query.limit, cursor=query.cursor, keep=keep, budget=READ_BUDGET
    )


def list_tasks(principal: Principal, query: TaskListQuery) -> TaskList:
    if query.project_id:
        items, cursor, read = _project_page(principal, query)
    else:
        items, cursor, read = _assigned_page(principal, query)
    return TaskList(
        items=[task_out(t, full_input=False) for t in items], next_cursor=cursor, items_read=read
    )


def _project_page(principal: Principal, query: TaskListQuery) -> tuple[list[Task], str | None, int]:
    project = get_project_for(principal, query.project_id or "")
    status, sort = query.status, query.sort
    if sort != "created" and not status:
        raise BadRequest(
            f"Sorting by {sort} needs a status: each status is its own index partition.",
            code="status_required",
        )
    if sort == "duration" and status not in TERMINAL:
        raise BadRequest(
            "Only finished tasks (completed, failed, canceled) have a duration.",
            code="duration_needs_terminal_status",
        )
    index: Any
    range_attr: Any = None
    if sort == "updated":
        index = Task.by_project_status_updated
    elif sort == "duration":
        index = Task.by_project_status_duration
    elif status:
        index, range_attr = Task.by_project_status, Task.created_at
    else:
        index, range_attr = Task.by_project, Task.created_at
    hash_key = project_status_key(project.id, status) if status else project.id
    low, high = _created_range(query)
    condition = _range_condition(range_attr, low, high) if range_attr is not None else None
    keep = _predicate(query, status=False, created=condition is None, assignee=True)

    def run(**kw: Any) -> Any:
        return index.query(
            hash_key, range_key_condition=condition, scan_index_forward=query.order == "asc", **kw
        )

    return _page(run, scope=_scope("p", query, project.id), query=query, keep=keep)


def _assigned_page(
    principal: Principal, query: TaskListQuery
) -> tuple[list[Task], str | None, int]:
    if query.sort != "created":
        raise BadRequest(
            f"Sorting by {query.sort} needs projectId and a status.", code="project_required"
        )
    assignee = query.assignee_id or principal.user_id
    if assignee != principal.user_id and not principal.is_admin:
        raise Forbidden("Filter by projectId to list tasks assigned to others.")
    low, high = _created_range(query)
    condition = _range_condition(Task.created_at, low, high)
    keep = _predicate(query, status=True, created=False, assignee=False)

    def run(**kw: Any) -> Any:
        return Task.by_assignee.query(
            assignee, range_key_condition=condition, scan_index_forward=query.order == "asc", **kw
        )

    items, cursor, read = _page(run, scope=_scope("a", query, assignee), query=query, keep=keep)
    if not principal.is_admin:
        # Assigned tasks of projects the caller has since left stay hidden.
        mine = {m.project_id for m in ProjectMember.query(principal.user_id)}
        items = [t for t in items if t.project_id in mine]
    return items, cursor, read
