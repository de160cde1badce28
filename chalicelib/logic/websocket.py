"""The WebSocket protocol: connect with a token, subscribe to tasks, projects or every project
of the user (``scope: all``), ping; and the project-level messages (``type: project``).

Handlers in app.py stay thin: ``connect`` raises ``Unauthorized``/``NotFound`` to refuse the
handshake, ``message`` returns the reply to post back, ``disconnect`` cleans up.
A ``taskId`` given at connect is subscribed at once; its ``subscribed`` reply (with the recent
events) cannot be posted during ``$connect`` (API Gateway rejects posts before the handshake
completes), so clients that need the backlog send a ``subscribe`` or read the activity log.

Scope all: the connection gets a ``user#<id>`` row and one ``project#<id>`` row per project the
user is a member of. A project created or joined later is granted by ``grant_project`` (called
after the membership is written) to the connections holding a ``user#`` row. The subscribe
writes its ``user#`` row before it lists the memberships, and the grant writes the membership
before it looks for ``user#`` rows: whichever comes second sees the other, so no project falls
between the two (both may happen: the rows are the same). Leaving a project drops its rows like
any member's (``connections.drop_project_subscriptions``).

Project-level messages (never telemetry events; those stay per task):
``{"type": "project", "change": "created"|"joined"|"updated"|"left"|"deleted", "projectId",
"project"?: <the project as GET /projects/{id} returns it>, "actor", "at"}``. ``created`` and
``joined`` go to the user's scope-all connections, ``left`` likewise after the rows are gone,
``updated`` (renamed, members changed) and ``deleted`` to the project's subscribers.

Task-level messages, for what the activity log cannot carry because the task and its log are
gone: ``{"type": "task", "change": "deleted", "taskId", "projectId", "actor", "at"}``, to the
subscribers of the task and of its project, sent before the task's subscriptions go.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_epoch, now_iso
from chalicelib.dal.models import Activity, ProjectMember, Task
from chalicelib.dal.realtime_models import (
    CONNECTION_TTL_SECONDS,
    Connection,
    Subscription,
    project_topic,
    scope_topic,
    task_topic,
)
from chalicelib.errors import AppError, BadRequest, Unauthorized
from chalicelib.logic import access, connections, fanout, telemetry
from chalicelib.shared import strict_json

RECENT_TASK_EVENTS = 50
RECENT_PROJECT_TASKS = 20
MAX_BODY_CHARS = 4096
# Scope all: at most this many projects per connection (the rest is named in the reply), the
# backlog from the most recently joined few of them, and at most this many events of it.
SCOPE_ALL_MAX_PROJECTS = 1000
SCOPE_BACKLOG_PROJECTS = 10
SCOPE_BACKLOG_EVENTS = 50
PROJECT_CHANGES = ("created", "joined", "updated", "left", "deleted")
TASK_CHANGES = ("deleted",)


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
    connections.forget_connection(connection_id)


def _subscription(
    topic: str, connection_id: str, user_id: str, project_id: str | None
) -> Subscription:
    return Subscription(
        topic,
        connection_id,
        user_id=user_id,
        project_id=project_id,  # lets remove_member find this row (by-user-project index)
        created_at=now_epoch(),
        expires_at=timedelta(seconds=CONNECTION_TTL_SECONDS),
    )


def _save_subscription(
    topic: str, connection_id: str, user_id: str, project_id: str | None
) -> None:
    _subscription(topic, connection_id, user_id, project_id).save()


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def _parse(body: str | None) -> dict[str, Any]:
    if not body or len(body) > MAX_BODY_CHARS:
        raise BadRequest("Send a JSON object of at most 4 KB.")
    try:
        parsed = strict_json.loads(body)
    except strict_json.JsonRejected as exc:
        raise BadRequest(exc.message, code=exc.code) from exc
    if not isinstance(parsed, dict):
        raise BadRequest("The message must be a JSON object.")
    return parsed


def _target(request: dict[str, Any]) -> tuple[str, str]:
    """("task"|"project", id) from exactly one of taskId / projectId, or ("scope", "all")."""
    task_id, project_id, scope = (
        request.get("taskId"),
        request.get("projectId"),
        request.get("scope"),
    )
    if scope is not None:
        if scope != "all" or task_id or project_id:
            raise BadRequest(
                'Give "scope": "all" alone, or one of taskId or projectId.',
                code="validation_error",
            )
        return ("scope", "all")
    if bool(task_id) == bool(project_id):
        raise BadRequest(
            'Give exactly one of taskId or projectId, or "scope": "all".', code="validation_error"
        )
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
    if kind == "scope":
        return fit_reply(_subscribe_all(connection_id, principal.user_id))
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
    if kind == "scope":
        _unsubscribe_all(connection_id, _principal_of(connection_id).user_id)
        return {"type": "unsubscribed", "scope": "all"}
    if kind == "project" and _kept_by_scope_all(connection_id, target_id):
        # Scope all covers the project (one row per topic and connection): it stays.
        return {"type": "unsubscribed", "projectId": target_id, "scope": "all"}
    topic = task_topic(target_id) if kind == "task" else project_topic(target_id)
    Subscription(topic, connection_id).delete()
    return {"type": "unsubscribed", f"{kind}Id": target_id}


# ---------------------------------------------------------------------------- scope all


def _member_rows(user_id: str, limit: int) -> list[ProjectMember]:
    return list(ProjectMember.query(user_id, limit=limit))


def _is_member(user_id: str, project_id: str) -> bool:
    try:
        ProjectMember.get(user_id, project_id)
    except ProjectMember.DoesNotExist:
        return False
    return True


def _kept_by_scope_all(connection_id: str, project_id: str) -> bool:
    """Whether the connection's row for the project belongs to scope all (its user subscribed
    with scope all and is a member), so an unsubscribe must leave it."""
    try:
        row = Subscription.get(project_topic(project_id), connection_id)
    except Subscription.DoesNotExist:
        return False
    return _has_scope_all(connection_id, row.user_id) and _is_member(row.user_id, project_id)


def _has_scope_all(connection_id: str, user_id: str) -> bool:
    try:
        Subscription.get(scope_topic(user_id), connection_id)
    except Subscription.DoesNotExist:
        return False
    return True


def _subscribe_all(connection_id: str, user_id: str) -> dict[str, Any]:
    """Subscribe to every project of the user, now and later (see the module docstring)."""
    _save_subscription(scope_topic(user_id), connection_id, user_id, None)  # first: see above
    rows = _member_rows(user_id, SCOPE_ALL_MAX_PROJECTS + 1)
    kept = rows[:SCOPE_ALL_MAX_PROJECTS]
    with Subscription.batch_write() as batch:
        for row in kept:
            batch.save(
                _subscription(project_topic(row.project_id), connection_id, user_id, row.project_id)
            )
    recent = sorted(kept, key=lambda r: r.created_at or "", reverse=True)[:SCOPE_BACKLOG_PROJECTS]
    events = [e for row in recent for e in _project_events(row.project_id)]
    events.sort(key=lambda e: (e["at"], e["taskId"], e["seq"]))
    reply: dict[str, Any] = {
        "type": "subscribed",
        "scope": "all",
        "projectIds": [row.project_id for row in kept],
        "events": events[-SCOPE_BACKLOG_EVENTS:],
    }
    if len(rows) > SCOPE_ALL_MAX_PROJECTS:
        reply["projectsTruncated"] = True
    return reply


def _unsubscribe_all(connection_id: str, user_id: str) -> None:
    """Undo scope all: its marker and the project rows of the user's projects."""
    Subscription(scope_topic(user_id), connection_id).delete()
    rows = _member_rows(user_id, SCOPE_ALL_MAX_PROJECTS)
    with Subscription.batch_write() as batch:
        for row in rows:
            batch.delete(Subscription(project_topic(row.project_id), connection_id))


def scope_all_connections(user_id: str) -> list[str]:
    """The user's connections subscribed with scope all (one Query)."""
    return [
        item.connection_id
        for item in Subscription.query(scope_topic(user_id), attributes_to_get=["connection_id"])
    ]


def project_message(
    change: str, project_id: str, *, actor: str, project: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The project-level WebSocket message (see the module docstring)."""
    if change not in PROJECT_CHANGES:
        raise ValueError(f"unknown project change {change!r}")
    message: dict[str, Any] = {
        "type": "project",
        "change": change,
        "projectId": project_id,
        "actor": actor,
        "at": now_iso(),
    }
    if project is not None:
        message["project"] = project
    return message


def grant_project(user_id: str, project: dict[str, Any], *, change: str, actor: str) -> int:
    """A project the user just created or joined: subscribe their scope-all connections to it
    and tell them (``change``: created | joined). Returns how many connections got it.

    Call after the membership is written (see the module docstring for why that order).
    """
    connection_ids = scope_all_connections(user_id)
    if not connection_ids:
        return 0
    project_id = project["id"]
    with Subscription.batch_write() as batch:
        for connection_id in connection_ids:
            batch.save(_subscription(project_topic(project_id), connection_id, user_id, project_id))
    fanout.post_many(
        connection_ids, project_message(change, project_id, actor=actor, project=project)
    )
    return len(connection_ids)


def revoke_project(user_id: str, project_id: str, *, actor: str) -> int:
    """The user left the project: drop their subscriptions in it (its topic and its tasks'),
    then tell their scope-all connections (``left``). Returns how many rows went."""
    dropped = connections.drop_project_subscriptions(project_id, user_id)
    connection_ids = scope_all_connections(user_id)
    if connection_ids:
        fanout.post_many(connection_ids, project_message("left", project_id, actor=actor))
    return dropped


def publish_project_change(
    change: str, project_id: str, *, actor: str, project: dict[str, Any] | None = None
) -> int:
    """Post a project-level message to the project's subscribers; returns how many."""
    connection_ids = fanout.subscribers([project_topic(project_id)])
    if connection_ids:
        fanout.post_many(
            connection_ids, project_message(change, project_id, actor=actor, project=project)
        )
    return len(connection_ids)


def task_message(change: str, task_id: str, project_id: str, *, actor: str) -> dict[str, Any]:
    """The task-level WebSocket message (see the module docstring)."""
    if change not in TASK_CHANGES:
        raise ValueError(f"unknown task change {change!r}")
    return {
        "type": "task",
        "change": change,
        "taskId": task_id,
        "projectId": project_id,
        "actor": actor,
        "at": now_iso(),
    }


def publish_task_change(change: str, task_id: str, project_id: str, *, actor: str) -> int:
    """Post a task-level message to the subscribers of the task and its project; how many."""
    connection_ids = fanout.subscribers_of(task_id, project_id)
    if connection_ids:
        fanout.post_many(connection_ids, task_message(change, task_id, project_id, actor=actor))
    return len(connection_ids)


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
    while events and len(json.dumps(reply, default=str)) > fanout.MAX_MESSAGE_BYTES:
        events = events[len(events) // 2 or 1 :] if len(events) > 1 else []
        reply = {**reply, "events": events, "truncated": True}
    return reply
