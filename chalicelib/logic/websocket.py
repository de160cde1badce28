"""The WebSocket protocol (DESIGN.md): connect with a token, subscribe to tasks/projects, ping.

Handlers in app.py stay thin: ``connect`` raises ``Unauthorized``/``NotFound`` to refuse the
handshake, ``message`` returns the reply to post back, ``disconnect`` cleans up.
A ``taskId`` given at connect is subscribed at once; its ``subscribed`` reply (with the recent
events) cannot be posted during ``$connect`` (API Gateway rejects posts before the handshake
completes), so clients that need the backlog send a ``subscribe`` or read the activity log.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_epoch
from chalicelib.dal.models import Activity, Task
from chalicelib.dal.realtime_models import (
    CONNECTION_TTL_SECONDS,
    Connection,
    Subscription,
    project_topic,
    task_topic,
)
from chalicelib.errors import AppError, BadRequest, Unauthorized
from chalicelib.logic import access, telemetry

RECENT_TASK_EVENTS = 50
RECENT_PROJECT_TASKS = 20
MAX_BODY_CHARS = 4096


def _principal_from_token(token: str) -> Principal:
    # Imported here: only $connect needs the JWT/ticket machinery.
    from chalicelib.auth.websocket import principal_from_ws_token

    return principal_from_ws_token(token)


def connect(connection_id: str, token: str | None, task_id: str | None = None) -> Principal:
    """Register a socket for the holder of ``token``; subscribe ``task_id`` if given.

    Raises ``Unauthorized`` (no/invalid token) or ``NotFound`` (task not visible): refuse.
    """
    if not token:
        raise Unauthorized("A token is required to open the WebSocket.")
    principal = _principal_from_token(token)
    task = access.get_task_for(principal, task_id) if task_id else None
    now = now_epoch()
    Connection(
        connection_id,
        user_id=principal.user_id,
        role=principal.role,
        connected_at=now,
        expires_at=timedelta(seconds=CONNECTION_TTL_SECONDS),
    ).save()
    if task is not None:
        _save_subscription(task_topic(task.id), connection_id, principal.user_id, task.project_id)
    return principal


def disconnect(connection_id: str) -> None:
    telemetry.forget_connection(connection_id)


def _save_subscription(topic: str, connection_id: str, user_id: str, project_id: str) -> None:
    Subscription(
        topic,
        connection_id,
        user_id=user_id,
        project_id=project_id,  # lets remove_member find this row (by-user-project index)
        created_at=now_epoch(),
        expires_at=timedelta(seconds=CONNECTION_TTL_SECONDS),
    ).save()


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def _parse(body: str | None) -> dict[str, Any]:
    if not body or len(body) > MAX_BODY_CHARS:
        raise BadRequest("Send a JSON object of at most 4 KB.")
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise BadRequest("The message is not valid JSON.") from exc
    if not isinstance(parsed, dict):
        raise BadRequest("The message must be a JSON object.")
    return parsed


def _target(request: dict[str, Any]) -> tuple[str, str]:
    """("task"|"project", id) from exactly one of taskId / projectId."""
    task_id, project_id = request.get("taskId"), request.get("projectId")
    if bool(task_id) == bool(project_id):
        raise BadRequest("Give exactly one of taskId or projectId.", code="validation_error")
    value = task_id or project_id
    if not isinstance(value, str) or len(value) > 128:
        raise BadRequest("The id must be a string.", code="validation_error")
    return ("task", value) if task_id else ("project", value)


def _principal_of(connection_id: str) -> Principal:
    try:
        connection = Connection.get(connection_id)
    except Connection.DoesNotExist as exc:
        raise Unauthorized("This connection is not registered; reconnect.") from exc
    return Principal(user_id=connection.user_id, role=connection.role)


def message(connection_id: str, body: str | None) -> dict[str, Any]:
    """Handle one client message; return the reply to post back to the same connection."""
    try:
        request = _parse(body)
        action = request.get("action")
        if action == "ping":
            return {"type": "pong"}
        if action == "subscribe":
            return _subscribe(connection_id, request)
        if action == "unsubscribe":
            return _unsubscribe(connection_id, request)
        raise BadRequest("Unknown action; use subscribe, unsubscribe or ping.", code="bad_action")
    except AppError as exc:
        return _error(exc.code, exc.message)


def _subscribe(connection_id: str, request: dict[str, Any]) -> dict[str, Any]:
    kind, target_id = _target(request)
    principal = _principal_of(connection_id)
    after = request.get("after")
    if after is not None and (not isinstance(after, int) or isinstance(after, bool) or after < 0):
        raise BadRequest("after must be a non-negative integer seq.", code="validation_error")
    if kind == "task":
        task = access.get_task_for(principal, target_id)
        _save_subscription(task_topic(target_id), connection_id, principal.user_id, task.project_id)
        events = telemetry.events_for_task(target_id, after=after, limit=RECENT_TASK_EVENTS)
        reply = {"type": "subscribed", "taskId": target_id, "events": events}
    else:
        access.get_project_for(principal, target_id)
        _save_subscription(project_topic(target_id), connection_id, principal.user_id, target_id)
        reply = {"type": "subscribed", "projectId": target_id, "events": _project_events(target_id)}
    return fit_reply(reply)


def _unsubscribe(connection_id: str, request: dict[str, Any]) -> dict[str, Any]:
    kind, target_id = _target(request)
    topic = task_topic(target_id) if kind == "task" else project_topic(target_id)
    Subscription(topic, connection_id).delete()
    return {"type": "unsubscribed", f"{kind}Id": target_id}


def _project_events(project_id: str) -> list[dict[str, Any]]:
    """The latest event of each of the project's most recent tasks, oldest first.

    One Query on the by-project index and one BatchGet of (task id, last seq).
    """
    keys = [
        (task.id, int(task.last_seq))
        for task in Task.by_project.query(
            project_id,
            scan_index_forward=False,
            limit=RECENT_PROJECT_TASKS,
            attributes_to_get=["id", "last_seq"],
        )
        if task.last_seq
    ]
    if not keys:
        return []
    events = [telemetry.activity_to_event(item) for item in Activity.batch_get(keys)]
    events.sort(key=lambda e: (e["at"], e["taskId"], e["seq"]))
    return events


def fit_reply(reply: dict[str, Any]) -> dict[str, Any]:
    """Drop the oldest events until the reply fits one WebSocket message."""
    events = reply.get("events", [])
    while events and len(json.dumps(reply, default=str)) > telemetry.MAX_MESSAGE_BYTES:
        events = events[len(events) // 2 or 1 :] if len(events) > 1 else []
        reply = {**reply, "events": events, "truncated": True}
    return reply
