"""Task telemetry: reading the activity log, events from external workers, and the names the
WebSocket and account code use.

Events are written with the task write that makes them (``chalicelib.logic.lifecycle``, seqs in
``chalicelib.dal.task_updates``), published by ``chalicelib.logic.fanout``, and the sockets they
go to are kept by ``chalicelib.logic.connections``. Inside the code an event is a
``TelemetryEvent``; the functions here that feed the WebSocket edge return its wire shape.
"""

from __future__ import annotations

from typing import Any

from chalicelib.dal.models import Activity, Task
from chalicelib.dal.task_updates import ConditionFailed, append_event, event_of
from chalicelib.errors import Conflict, NotFound
from chalicelib.logic import fanout, lifecycle
from chalicelib.logic.connections import (
    close_user_connections,
    drop_project_subscriptions,
    forget_connection,
)
from chalicelib.logic.fanout import MAX_MESSAGE_BYTES, send
from chalicelib.models.tasks import EventDraft, EventKind, TelemetryEvent

# The names app.py's WebSocket handlers, account revocation and project membership use here.
__all__ = [
    "MAX_MESSAGE_BYTES",
    "activity_to_event",
    "close_user_connections",
    "drop_project_subscriptions",
    "events_for_task",
    "events_of_task",
    "forget_connection",
    "record_external",
    "send",
]


def events_of_task(
    task_id: str, *, after: int | None = None, limit: int = 50
) -> list[TelemetryEvent]:
    """The task's events oldest first: those after ``after``, else the most recent ``limit``."""
    if after is not None:
        items = Activity.query(task_id, Activity.seq > after, limit=limit)
        return [event_of(item) for item in items]
    items = Activity.query(task_id, scan_index_forward=False, limit=limit)
    return [event_of(item) for item in reversed(list(items))]


def events_for_task(
    task_id: str, *, after: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """``events_of_task`` in the wire shape (the backlog of a WebSocket subscribe reply)."""
    return [event.to_wire() for event in events_of_task(task_id, after=after, limit=limit)]


def activity_to_event(item: Activity) -> dict[str, Any]:
    """An activity log row in the wire shape (the WebSocket edge)."""
    return event_of(item).to_wire()


def record_external(
    *,
    task_id: str,
    kind: EventKind,
    message: str,
    actor: str,
    progress: float | None = None,
    data: Any = None,
) -> TelemetryEvent:
    """Append and publish an event from an external worker (``POST /internal/telemetry``).

    Only tasks that are still open (queued or running) accept events: a finished task's log is
    final. The event takes the task's project and status in the write that gives it its seq.
    """
    draft = EventDraft(
        kind=kind,
        message=message,
        actor=actor,
        progress=progress,
        data=data,
    )
    try:
        stored = append_event(task_id, draft, condition=lifecycle.status_is(*lifecycle.OPEN))
    except ConditionFailed:
        try:
            task = Task.get(task_id)
        except Task.DoesNotExist:
            raise NotFound("Task not found.", code="task_not_found") from None
        raise Conflict(
            f"The task is {task.status}; it no longer takes events.", code="task_finished"
        ) from None
    fanout.publish(stored)
    return stored
