"""WebSocket connections: the API Gateway management API client, and forgetting sockets.

We build the ``apigatewaymanagementapi`` client from settings instead of using Chalice's
``app.websocket_api``: Chalice only knows its endpoint inside WebSocket handlers (elsewhere it
needs ``configure_from_api_id`` per process and a session assigned in app.py), while dispatch
(SQS), the sweeper (schedule) and REST handlers all publish too, and the dev stack points the
endpoint at its emulator. ONE process-wide client also means one connection pool sized for the
fan-out (``chalicelib.logic.fanout``), reused across warm invocations.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.clock import now_epoch
from chalicelib.config import get_settings
from chalicelib.dal.realtime_models import Connection, Subscription, project_topic
from chalicelib.shared.caches import on_reset

log = logging.getLogger(__name__)

# Parallel posts of one fan-out, and the client's connection pool to match.
FANOUT_WORKERS = 32
# A socket is reachable only after $connect has returned; a 410 in that window is not "gone".
CONNECT_GRACE_SECONDS = 10

_client_lock = threading.Lock()
_client: Any = None


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
                import boto3  # lazily: REST handlers that never publish do not pay for it

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
                        # Throttling is retried by fanout with jitter; a 410 must not be retried.
                        retries={"total_max_attempts": 1},
                    ),
                )
    return _client


@on_reset
def reset_management_client() -> None:
    """Forget the client (tests, or after the endpoint setting changed)."""
    global _client
    with _client_lock:
        _client = None


def error_code(exc: Exception) -> tuple[str, int]:
    """(AWS error code, HTTP status) of a botocore ``ClientError``."""
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code, status


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

    try:
        client.delete_connection(ConnectionId=connection_id)
        return "closed"
    except ClientError as exc:
        code, status = error_code(exc)
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
