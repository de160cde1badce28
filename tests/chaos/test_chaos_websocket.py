"""The API Gateway management API failing under live tasks (issue 16, point 9): a socket that
is gone (410), one that answers 500 every other post, one throttled (429), one that is down
(503). The real ``apigatewaymanagementapi`` boto3 client (``chalicelib.logic.connections``)
posts to a management API served on 127.0.0.1 by this test; dispatch runs in parallel.

Every task ends once (seqs strictly increasing); publishing never changes that. A healthy
socket and a throttled one (fanout retries throttles) receive every event of every task, in
seq order, once; the flaky one an in-order subset without duplicates; the gone one is forgotten
(connection and subscriptions deleted), the down one is kept (a 5xx is not "gone").
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.dal.realtime_models import Connection, Subscription, project_topic
from chalicelib.logic import connections
from tests.chaos.support import ParallelLifecycle, assert_all_ended_once, story
from tests.unit.realtime_fakes import Realtime, install_fakes, realtime, seed_project

__all__ = ["realtime"]

HEALTHY, GONE, FLAKY, THROTTLED, DOWN = "c-ok", "c-gone", "c-flaky", "c-throttled", "c-down"


class _Server(ThreadingHTTPServer):
    # The standard library's listen backlog is 5: fan-out posts in parallel, and on a loaded
    # machine the sixth connection was reset by this test's server (a ConnectionClosedError that
    # lost a healthy socket's event), which API Gateway would not do.
    request_queue_size = 128
    daemon_threads = True


class ManagementApi:
    """POST /@connections/{id}, answered per connection as API Gateway would fail."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.posts: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.throttled: set[bytes] = set()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                connection_id = unquote(self.path.rsplit("/", 1)[-1])
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, error = api.answer(connection_id, body)
                payload = json.dumps({"message": error or "ok"}).encode() if error else b""
                self.send_response(status)
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, connection_id: str, body: bytes) -> tuple[int, str | None]:
        with self.lock:
            self.posts[connection_id] += 1
            n = self.posts[connection_id]
            if connection_id == GONE:
                return 410, "GoneException"
            if connection_id == DOWN:
                return 503, "ServiceUnavailableException"
            if connection_id == FLAKY and n % 2 == 0:
                return 500, "InternalServerErrorException"
            if connection_id == THROTTLED and body not in self.throttled:
                # Each message is throttled once, then accepted (parallel posts share no counter).
                self.throttled.add(body)
                return 429, "LimitExceededException"
            self.received[connection_id].append(json.loads(body))
            return 200, None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def management_api(realtime: Realtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementApi]:
    api = ManagementApi()
    try:
        realtime.setenv("AION_WS_MANAGEMENT_ENDPOINT", api.url)
        # The real client, built from the settings (not the fixture's recording stand-in).
        monkeypatch.setattr(connections, "_client", None)
        yield api
    finally:
        connections.reset_management_client()
        api.close()


def _subscribe(project_id: str, user_id: str) -> None:
    ttl = timedelta(hours=1)
    for connection_id in (HEALTHY, GONE, FLAKY, THROTTLED, DOWN):
        # Connected a minute ago: past the grace in which a 410 does not mean "gone".
        Connection(
            connection_id, user_id=user_id, role="member", connected_at=0, expires_at=ttl
        ).save()
        Subscription(
            project_topic(project_id),
            connection_id,
            user_id=user_id,
            project_id=project_id,
            created_at=0,
            expires_at=ttl,
        ).save()


def _seqs_by_task(messages: list[dict[str, Any]]) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        if message.get("type") == "telemetry":
            seqs[message["taskId"]].append(int(message["seq"]))
    return seqs


def test_gone_flaky_throttled_and_down_sockets_never_change_how_tasks_end(
    realtime: Realtime, management_api: ManagementApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.chaos.support import create_tasks

    install_fakes(monkeypatch)
    project = seed_project()
    owner = Principal(user_id=project.owner_id, role="member")
    _subscribe(project.id, owner.user_id)
    task_ids = create_tasks(owner, project.id, 4)
    life = ParallelLifecycle(realtime.queue_url, get_settings().dispatch.max_receives)
    life.run_all(task_ids, rounds=3)
    ended = assert_all_ended_once(task_ids)
    assert {t.status for t in ended.values()} == {"completed"}

    logged = {t: [seq for seq, *_ in story(t)] for t in task_ids}
    for connection_id in (HEALTHY, THROTTLED):
        got = _seqs_by_task(management_api.received[connection_id])
        assert got == logged, (connection_id, got, logged)
    flaky = _seqs_by_task(management_api.received[FLAKY])
    assert flaky, "the flaky socket received nothing"
    for task_id, seqs in flaky.items():
        assert seqs == sorted(set(seqs)), (task_id, seqs)
        assert set(seqs) <= set(logged[task_id])
    # Gone: forgotten after its first 410s (a few posts may have been in flight in parallel).
    assert management_api.posts[GONE] >= 1
    with pytest.raises(Connection.DoesNotExist):
        Connection.get(GONE)
    assert not list(Subscription.by_connection.query(GONE))
    # Down (5xx): kept; every event was tried once, none retried or lost to the tasks.
    assert Connection.get(DOWN).connection_id == DOWN
    assert management_api.posts[DOWN] >= len(task_ids)
