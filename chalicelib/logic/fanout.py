"""Publishing over WebSocket: post a message to every connection subscribed to a task or its
project, in parallel on a bounded thread pool, through the one management API client
(``chalicelib.logic.connections``). A 410 deletes that connection and its subscriptions.

Telemetry events go out in their wire shape (``TelemetryEvent.to_wire``); an event over the
WebSocket message limit is replaced by a reference to the activity log.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.dal.realtime_models import Subscription, project_topic, task_topic
from chalicelib.logic.connections import (
    FANOUT_WORKERS,
    error_code,
    forget_connection,
    management_client,
)
from chalicelib.models.tasks import TelemetryEvent

log = logging.getLogger(__name__)

# API Gateway's limit is 128 KB per WebSocket message; keep a margin for framing.
MAX_MESSAGE_BYTES = 128 * 1024 - 512
_THROTTLE_CODES = frozenset(
    {"LimitExceededException", "TooManyRequestsException", "ThrottlingException"}
)
_THROTTLE_ATTEMPTS = 4

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


@dataclass
class PublishReport:
    connections: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0


def _fanout_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
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


def _post(client: Any, connection_id: str, payload: bytes) -> str:
    """Post once (retrying throttling with full jitter); return "sent", "gone" or "failed"."""

    for attempt in range(_THROTTLE_ATTEMPTS):
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=payload)
            return "sent"
        except ClientError as exc:
            code, status = error_code(exc)
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


def subscribers_of(task_id: str, project_id: str | None) -> list[str]:
    """Connections watching a task: subscribed to it or to its project."""
    topics = [task_topic(task_id)]
    if project_id:
        topics.append(project_topic(project_id))
    return subscribers(topics)


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


def publish(event: TelemetryEvent, *, connection_ids: list[str] | None = None) -> PublishReport:
    """Post ``event`` to every connection subscribed to its task or its project.

    ``connection_ids`` reuses a lookup the caller just made (see ``publish_all`` and dispatch).
    """
    if connection_ids is None:
        connection_ids = subscribers_of(event.task_id, event.project_id)
    return post_many(connection_ids, event.to_wire())


def publish_all(events: Sequence[TelemetryEvent]) -> list[str]:
    """Publish events of one task in order with one subscriber lookup; return that lookup."""
    if not events:
        return []
    connection_ids = subscribers_of(events[0].task_id, events[0].project_id)
    for event in events:
        post_many(connection_ids, event.to_wire())
    return connection_ids


def publish_first(event: TelemetryEvent) -> PublishReport:
    """Post the first event of a task just created: one Query (its project's topic), not two.

    Nobody can be subscribed to the task's own topic yet: subscribing to a task needs the task
    to exist, and a subscribe stores the subscription before it reads the backlog, so one that
    lands after the create reads this event from the log.
    """
    return post_many(subscribers([project_topic(event.project_id)]), event.to_wire())
