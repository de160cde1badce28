"""Task telemetry: append events to the activity log (per-task seq), publish them over WebSocket.

Appending reserves the next seq with an atomic, conditional ``ADD last_seq`` on the task (see
``chalicelib.dal.task_updates``) and then puts the Activity item, so concurrent writers (dispatch,
sweeper, REST, external workers via ``POST /internal/telemetry``) never share or reorder a seq.
A writer that dies between the two writes leaves a gap, never a duplicate: clients dedupe and
resume by seq, and "strictly increasing" is the contract, not "contiguous".

A writer that knows the task's ``last_seq`` (dispatch: it read the task to claim it and wrote
every seq since) passes it, and the task write and its events become one transaction
conditional on that seq (``task_updates.write_at_seq``): one request per event instead of two,
falling back to the two-step path when another writer took a seq in between.

Publishing posts one event to every connection subscribed to the task or its project, in
parallel on a bounded thread pool, through ONE process-wide ``apigatewaymanagementapi`` client.
We build that client from settings instead of using Chalice's ``app.websocket_api``: Chalice
only knows its endpoint inside WebSocket handlers (elsewhere it needs ``configure_from_api_id``
per process and a session assigned in app.py), while dispatch (SQS), the sweeper (schedule) and
REST handlers all publish too, and the dev stack points the endpoint at its emulator. One client
also means one connection pool sized for the fan-out, reused across warm invocations.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.clock import now_epoch, now_iso
from chalicelib.config import get_settings
from chalicelib.dal.models import Activity, Task
from chalicelib.dal.realtime_models import (
    Connection,
    Subscription,
    project_topic,
    task_topic,
)
from chalicelib.dal.task_updates import ConditionFailed as ConditionFailed  # re-exported
from chalicelib.dal.task_updates import StaleSeq, update_task, write_at_seq
from chalicelib.errors import Conflict, NotFound

log = logging.getLogger(__name__)

EVENT_KINDS = ("status", "routed", "progress", "log", "update")
# API Gateway's limit is 128 KB per WebSocket message; keep a margin for framing.
MAX_MESSAGE_BYTES = 128 * 1024 - 512
FANOUT_WORKERS = 32
# A socket is reachable only after $connect has returned; a 410 in that window is not "gone".
CONNECT_GRACE_SECONDS = 10
_THROTTLE_CODES = frozenset(
    {"LimitExceededException", "TooManyRequestsException", "ThrottlingException"}
)
_THROTTLE_ATTEMPTS = 4

_client_lock = threading.Lock()
_client: Any = None
_pool: ThreadPoolExecutor | None = None


# ---------------------------------------------------------------------------- events


def make_event(
    *,
    task_id: str,
    project_id: str,
    seq: int,
    kind: str,
    status: str,
    message: str,
    actor: str,
    progress: float | None = None,
    data: Any = None,
    at: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "telemetry",
        "taskId": task_id,
        "projectId": project_id,
        "seq": seq,
        "kind": kind,
        "status": status,
        "message": message,
        "at": at or now_iso(),
        "actor": actor,
    }
    if progress is not None:
        event["progress"] = progress
    if data is not None:
        event["data"] = data
    return event


def activity_to_event(item: Activity) -> dict[str, Any]:
    return make_event(
        task_id=item.task_id,
        project_id=item.project_id,
        seq=int(item.seq),
        kind=item.kind,
        status=item.status,
        message=item.message or "",
        actor=item.actor,
        progress=float(item.progress) if item.progress is not None else None,
        data=item.data,
        at=item.at,
    )


def _activity_from_event(event: dict[str, Any]) -> Activity:
    return Activity(
        task_id=event["taskId"],
        seq=event["seq"],
        project_id=event["projectId"],
        kind=event["kind"],
        status=event["status"],
        progress=event.get("progress"),
        message=event.get("message", ""),
        at=event["at"],
        actor=event["actor"],
        data=event.get("data"),
    )


def _put_activities(events: list[dict[str, Any]]) -> None:
    if len(events) == 1:
        _activity_from_event(events[0]).save()
        return
    with Activity.batch_write() as batch:
        for event in events:
            batch.save(_activity_from_event(event))


def append(
    event: dict[str, Any], *, condition: Condition | None = None, last_seq: int | None = None
) -> dict[str, Any]:
    """Give ``event`` the task's next seq (if ``condition`` holds) and store it; return it.

    ``event`` needs ``taskId``, ``kind``, ``message`` and ``actor``; ``projectId`` and ``status``
    are read from the task in the same write when missing. ``last_seq``: the task's highest seq
    as the caller knows it, to write the event in one request (see ``transition``). Raises
    ``ConditionFailed``.
    """
    if event.get("kind") not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {event.get('kind')!r}")
    if last_seq is not None and event.get("projectId") and event.get("status"):
        events, _ = transition(
            event["taskId"],
            event["projectId"],
            actions=[],
            condition=condition,
            events=[event],
            last_seq=last_seq,
        )
        return events[0]
    need_task = not event.get("projectId") or not event.get("status")
    seq, task = update_task(
        event["taskId"], condition=condition, reserve_seqs=1, return_task=need_task
    )
    assert seq is not None
    full = make_event(
        task_id=event["taskId"],
        project_id=event.get("projectId") or (task.project_id if task else ""),
        seq=seq,
        kind=event["kind"],
        status=event.get("status") or (task.status if task else ""),
        message=event.get("message", ""),
        actor=event["actor"],
        progress=event.get("progress"),
        data=event.get("data"),
        at=event.get("at"),
    )
    _put_activities([full])
    return full


def _stored_events(
    task_id: str, project_id: str, first: int, events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    at = now_iso()
    return [
        make_event(
            task_id=task_id,
            project_id=project_id,
            seq=first + i,
            kind=spec["kind"],
            status=spec["status"],
            message=spec.get("message", ""),
            actor=spec["actor"],
            progress=spec.get("progress"),
            data=spec.get("data"),
            at=spec.get("at") or at,
        )
        for i, spec in enumerate(events)
    ]


def transition(
    task_id: str,
    project_id: str,
    *,
    actions: list[Any],
    condition: Condition | None,
    events: list[dict[str, Any]],
    return_task: bool = False,
    last_seq: int | None = None,
) -> tuple[list[dict[str, Any]], Any]:
    """One conditional task write that also reserves a seq for each of ``events``, then the log.

    Each item of ``events`` holds ``kind``, ``status``, ``message``, ``actor`` and optionally
    ``progress``/``data``. Returns (the stored events, the task after the write or None).
    Raises ``ConditionFailed`` when the task is not in the expected state.

    With ``last_seq`` (the task's highest seq as the caller knows it) the write and the events
    are one transaction conditional on that seq (one request instead of two). If it does not
    apply (another writer took a seq, or the state is wrong) the two-step path below runs and
    decides: it reserves fresh seqs, or raises ``ConditionFailed``.
    """
    if last_seq is not None and events and not return_task:
        stored = _stored_events(task_id, project_id, last_seq + 1, events)
        try:
            write_at_seq(
                task_id,
                actions,
                condition=condition,
                last_seq=last_seq,
                activities=[_activity_from_event(e) for e in stored],
            )
            return stored, None
        except StaleSeq:
            pass
    last, task = update_task(
        task_id,
        actions,
        condition=condition,
        reserve_seqs=len(events),
        return_task=return_task,
    )
    if not events:
        return [], task
    assert last is not None
    stored = _stored_events(task_id, project_id, last - len(events) + 1, events)
    _put_activities(stored)
    return stored, task


def events_for_task(
    task_id: str, *, after: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The task's events oldest first: those after ``after``, else the most recent ``limit``."""
    if after is not None:
        items = Activity.query(task_id, Activity.seq > after, limit=limit)
        return [activity_to_event(item) for item in items]
    items = Activity.query(task_id, scan_index_forward=False, limit=limit)
    return [activity_to_event(item) for item in reversed(list(items))]


# ---------------------------------------------------------------------------- publishing


@dataclass
class PublishReport:
    connections: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0


def management_endpoint() -> str:
    settings = get_settings()
    if settings.ws_management_endpoint:
        return settings.ws_management_endpoint
    if settings.ws_api_id:
        return (
            f"https://{settings.ws_api_id}.execute-api.{settings.region}.amazonaws.com"
            f"/{settings.ws_stage}"
        )
    return ""


def management_client() -> Any:
    """The process-wide management API client (None when no WebSocket API is configured)."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                endpoint = management_endpoint()
                if not endpoint:
                    return None
                import boto3
                from botocore.config import Config

                _client = boto3.client(
                    "apigatewaymanagementapi",
                    endpoint_url=endpoint,
                    region_name=get_settings().region,
                    config=Config(
                        max_pool_connections=FANOUT_WORKERS,
                        # Our own calls are well-formed; validation is pure CPU per post.
                        parameter_validation=False,
                        connect_timeout=2,
                        read_timeout=5,
                        # Throttling is retried here with jitter; a 410 must not be retried.
                        retries={"total_max_attempts": 1},
                    ),
                )
    return _client


def reset_management_client() -> None:
    """Forget the client (tests, or after the endpoint setting changed)."""
    global _client
    with _client_lock:
        _client = None


def _fanout_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _client_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=FANOUT_WORKERS, thread_name_prefix="fanout")
    return _pool


def encode_message(message: dict[str, Any]) -> bytes:
    """JSON bytes of ``message``; a telemetry event over the WebSocket limit becomes a reference."""
    raw = json.dumps(message, separators=(",", ":"), default=str).encode()
    if len(raw) <= MAX_MESSAGE_BYTES:
        return raw
    slim = {k: v for k, v in message.items() if k != "data"}
    slim["message"] = str(slim.get("message", ""))[:1000]
    slim["data"] = {"truncated": True, "bytes": len(raw)}
    if message.get("type") == "telemetry":
        slim["data"]["ref"] = f"/tasks/{message['taskId']}/activity?after={message['seq'] - 1}"
    return json.dumps(slim, separators=(",", ":"), default=str).encode()


def _error_code(exc: Exception) -> tuple[str, int]:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code, status


def _post(client: Any, connection_id: str, payload: bytes) -> str:
    """Post once (retrying throttling with full jitter); return "sent", "gone" or "failed"."""
    from botocore.exceptions import BotoCoreError, ClientError

    for attempt in range(_THROTTLE_ATTEMPTS):
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=payload)
            return "sent"
        except ClientError as exc:
            code, status = _error_code(exc)
            if code == "GoneException" or status == 410:
                return "gone"
            if code in _THROTTLE_CODES or status == 429:
                if attempt + 1 < _THROTTLE_ATTEMPTS:
                    time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))  # noqa: S311 (jitter)
                continue
            log.warning("post to connection failed: %s", code or status)
            return "failed"
        except BotoCoreError as exc:
            log.warning("post to connection failed: %s", type(exc).__name__)
            return "failed"
    return "failed"


def subscribers(topics: Iterable[str]) -> list[str]:
    """Connection ids subscribed to any of ``topics`` (one Query per topic), deduplicated."""
    topics = list(topics)

    def one(topic: str) -> list[str]:
        return [
            item.connection_id
            for item in Subscription.query(topic, attributes_to_get=["connection_id"])
        ]

    # The task's and the project's topic are read at the same time (two round trips -> one).
    found = list(_fanout_pool().map(one, topics)) if len(topics) > 1 else [one(t) for t in topics]
    seen: dict[str, None] = {}
    for ids in found:
        for connection_id in ids:
            seen[connection_id] = None
    return list(seen)


def post_many(connection_ids: list[str], message: dict[str, Any]) -> PublishReport:
    """Post one message to many connections in parallel; clean up those that are gone."""
    report = PublishReport(connections=len(connection_ids))
    client = management_client()
    if client is None or not connection_ids:
        return report
    payload = encode_message(message)
    if len(connection_ids) == 1:
        outcomes = [_post(client, connection_ids[0], payload)]
    else:
        outcomes = list(_fanout_pool().map(lambda cid: _post(client, cid, payload), connection_ids))
    gone = []
    for connection_id, outcome in zip(connection_ids, outcomes, strict=True):
        if outcome == "sent":
            report.sent += 1
        elif outcome == "gone":
            report.gone += 1
            gone.append(connection_id)
        else:
            report.failed += 1
    for connection_id in gone:
        forget_connection(connection_id, if_stale=True)
    return report


def send(connection_id: str, message: dict[str, Any]) -> bool:
    """Post one message to one connection; False (and cleanup) when the socket is gone."""
    return post_many([connection_id], message).sent == 1


def subscribers_of(task_id: str, project_id: str | None) -> list[str]:
    """Connections watching a task: subscribed to it or to its project."""
    topics = [task_topic(task_id)]
    if project_id:
        topics.append(project_topic(project_id))
    return subscribers(topics)


def publish(event: dict[str, Any], *, connection_ids: list[str] | None = None) -> PublishReport:
    """Post ``event`` to every connection subscribed to its task or its project.

    ``connection_ids`` reuses a lookup the caller just made (see ``publish_all`` and dispatch).
    """
    if connection_ids is None:
        connection_ids = subscribers_of(event["taskId"], event.get("projectId"))
    return post_many(connection_ids, event)


def publish_first(event: dict[str, Any]) -> PublishReport:
    """Post the first event of a task just created: one Query (its project's topic), not two.

    Nobody can be subscribed to the task's own topic yet: subscribing to a task needs the task
    to exist, and a subscribe stores the subscription before it reads the backlog, so one that
    lands after the create reads this event from the log.
    """
    return post_many(subscribers([project_topic(event["projectId"])]), event)


def emit(event: dict[str, Any], *, condition: Condition | None = None) -> dict[str, Any]:
    """Append, then publish; return the stored event."""
    stored = append(event, condition=condition)
    publish(stored)
    return stored


def publish_all(events: list[dict[str, Any]]) -> list[str]:
    """Publish events of one task in order with one subscriber lookup; return that lookup."""
    if not events:
        return []
    connection_ids = subscribers_of(events[0]["taskId"], events[0].get("projectId"))
    for event in events:
        post_many(connection_ids, event)
    return connection_ids


# ---------------------------------------------------------------------------- connections


def forget_connection(connection_id: str, *, if_stale: bool = False) -> bool:
    """Delete a connection and all its subscriptions; return whether anything was deleted.

    ``if_stale`` keeps a connection younger than the connect grace period: API Gateway answers
    410 to posts made before ``$connect`` returned, and such a socket is about to be live.
    """
    if if_stale:
        try:
            connection = Connection.get(connection_id)
            if connection.connected_at > now_epoch() - CONNECT_GRACE_SECONDS:
                return False
        except Connection.DoesNotExist:
            pass
    topics = [item.topic for item in Subscription.by_connection.query(connection_id)]
    if topics:
        with Subscription.batch_write() as batch:
            for topic in topics:
                batch.delete(Subscription(topic, connection_id))
    Connection(connection_id).delete()
    return True


# ---------------------------------------------------------------------------- external workers

_OPEN_STATUSES = ("queued", "running")


def record_external(
    *,
    task_id: str,
    kind: str,
    message: str,
    actor: str,
    progress: float | None = None,
    data: Any = None,
) -> dict[str, Any]:
    """Append and publish an event from an external worker (``POST /internal/telemetry``).

    Only tasks that are still queued or running accept events: a finished task's log is final.
    """
    event = {
        "taskId": task_id,
        "kind": kind,
        "message": message,
        "actor": actor,
        "progress": progress,
        "data": data,
    }
    try:
        stored = append(event, condition=Task.status.is_in(*_OPEN_STATUSES))
    except ConditionFailed:
        try:
            task = Task.get(task_id)
        except Task.DoesNotExist:
            raise NotFound("Task not found.", code="task_not_found") from None
        raise Conflict(
            f"The task is {task.status}; it no longer takes events.", code="task_finished"
        ) from None
    publish(stored)
    return stored


def drop_project_subscriptions(project_id: str, user_id: str) -> int:
    """Remove a user's subscriptions within a project (call when they leave it); return how many.

    Both the project's topic and its tasks' topics: every subscription row records the project
    its topic belongs to, and the by-user-project index finds them all with one Query (a task
    subscription is only authorized at subscribe time, so it must go with the membership).
    The Query on the project's topic also catches rows written before ``project_id`` existed.
    """
    keys = {
        (item.topic, item.connection_id)
        for item in Subscription.by_user_project.query(
            user_id, Subscription.project_id == project_id
        )
    }
    topic = project_topic(project_id)
    keys.update((topic, s.connection_id) for s in Subscription.query(topic) if s.user_id == user_id)
    if keys:
        with Subscription.batch_write() as batch:
            for topic_key, connection_id in keys:
                batch.delete(Subscription(topic_key, connection_id))
    return len(keys)


def _delete_connection(client: Any, connection_id: str) -> str:
    """Close one socket through the management API: "closed", "gone" or "failed"."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.delete_connection(ConnectionId=connection_id)
        return "closed"
    except ClientError as exc:
        code, status = _error_code(exc)
        if code == "GoneException" or status == 410:
            return "gone"
        log.warning("delete connection failed: %s", code or status)
        return "failed"
    except BotoCoreError as exc:
        log.warning("delete connection failed: %s", type(exc).__name__)
        return "failed"


def close_user_connections(user_id: str) -> int:
    """Close every open socket of a user and delete its rows; return how many there were.

    Called when the user's sessions are revoked (password or role change): without it a socket
    keeps receiving events until API Gateway's 2 h limit. The rows go even when the DELETE
    fails, so no further event is posted to that socket and its next message is refused
    (its connection is unknown). ``$disconnect`` then finds nothing left to clean up.
    """
    connection_ids = [item.connection_id for item in Connection.by_user.query(user_id)]
    client = management_client()
    for connection_id in connection_ids:
        if client is not None:
            _delete_connection(client, connection_id)
        forget_connection(connection_id)
    return len(connection_ids)
