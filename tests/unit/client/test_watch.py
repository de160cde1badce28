"""``tasks.watch``: live events over a real WebSocket on 127.0.0.1, resumed by seq after a
dropped socket, the gaps filled from the activity log: every event once, in order."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from aion_client import Client
from websockets.sync.server import ServerConnection

from tests.unit.client.fakes import FakeApi, SocketServer, TaskLog, hold_open, send_event

pytestmark = pytest.mark.timeout(60)

TEN_STEPS = [
    ("status", "queued", "Task queued"),
    ("routed", "running", "Routed to executor: text.summarize."),
    ("status", "running", "Running text.summarize on the executor (attempt 1)."),
    ("progress", "running", "text.summarize 1.0.0"),
    ("progress", "running", "split into sentences"),
    ("progress", "running", "scored sentences"),
    ("progress", "running", "picked sentences"),
    ("log", "running", "2 of 5 sentences kept"),
    ("progress", "running", "joined"),
    ("status", "completed", "Completed in 12 ms."),
]


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the client never got there")
        time.sleep(0.01)


@pytest.fixture
def servers() -> Iterator[list[SocketServer]]:
    started: list[SocketServer] = []
    yield started
    for server in started:
        server.close()


def client_for(api: FakeApi, port: int, sleeps: list[float]) -> Client:
    # The API URL names the socket server's port, so the derived WebSocket URL reaches it;
    # REST goes to the in-memory fake.
    return Client(
        f"http://127.0.0.1:{port}/api", api_key="k", transport=api.transport, sleep=sleeps.append
    )


def test_resume_after_a_dropped_socket_yields_every_event_once_in_order(
    api: FakeApi, servers: list[SocketServer], sleeps: list[float]
) -> None:
    log = TaskLog.of(TEN_STEPS, module="text.summarize")
    log.routes(api)
    log.publish(2)  # happened before anyone watched: only in the log
    events = log.events

    def serve(connection: ServerConnection, number: int) -> None:
        if number == 1:
            assert log.first_fill.wait(10)  # the client read the log, then listens
            for seq in (3, 4):
                log.publish(seq)
                send_event(connection, events[seq - 1])
            log.publish(5)  # logged, but its post to this socket was lost
            log.publish(6)
            send_event(connection, events[5])
            wait_until(lambda: 4 in log.activity_afters)  # the client filled the gap
            log.publish(7)
            send_event(connection, events[6])
            log.publish(9)  # 8 and 9 happen as the socket drops
            connection.close_socket()
        else:
            send_event(connection, events[8])  # 9 again: the client has it from the log
            log.publish(10)
            send_event(connection, events[9])
            hold_open(connection, number)

    server = SocketServer(serve, log)
    servers.append(server)
    client = client_for(api, server.port, sleeps)

    from aion_client.watch import TaskWatch

    watch = TaskWatch(client, log.task_id)
    seen = [event.seq for event in watch]

    assert seen == list(range(1, 11))
    assert watch.reconnects == 1
    assert server.connections == 2
    assert server.used_tickets == ["ticket-1", "ticket-2"]  # a fresh single-use ticket each
    assert 4 in log.activity_afters  # the gap 4 -> 6 was read from the log
    assert any(after >= 7 for after in log.activity_afters)  # so was the outage


def test_a_backlog_with_old_and_foreign_events_yields_only_new_ones(
    api: FakeApi, servers: list[SocketServer], sleeps: list[float]
) -> None:
    log = TaskLog.of(TEN_STEPS[:3] + TEN_STEPS[-1:])
    log.routes(api)
    log.publish(2)

    def serve(connection: ServerConnection, number: int) -> None:
        assert log.first_fill.wait(10)
        log.publish(3)
        foreign = {**log.events[2], "taskId": "tsk_someone_else", "seq": 3}
        send_event(
            connection,
            {"type": "subscribed", "taskId": log.task_id, "events": log.events[:3]},
        )
        send_event(connection, foreign)
        send_event(connection, {"type": "pong"})
        connection.send("not json")
        log.publish(4)
        send_event(connection, log.events[3])
        hold_open(connection, number)

    server = SocketServer(serve, log)
    servers.append(server)
    seen = list(client_for(api, server.port, sleeps).tasks.watch(log.task_id))
    assert [(e.seq, e.task_id) for e in seen] == [(n, log.task_id) for n in (1, 2, 3, 4)]
    assert seen[-1].status == "completed"


def test_without_a_socket_the_log_is_polled_to_the_end(api: FakeApi, sleeps: list[float]) -> None:
    log = TaskLog.of(TEN_STEPS[:5] + TEN_STEPS[-1:])
    log.routes(api)

    def activity_publishing_one_more(request, match):  # type: ignore[no-untyped-def]
        log.publish(log.published + 1)  # the task moves on between polls
        return log._activity(request, match)

    api.on("GET", f"/tasks/{log.task_id}/activity", activity_publishing_one_more)
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    seen = [e.seq for e in client_for(api, port, sleeps).tasks.watch(log.task_id)]
    assert seen == [1, 2, 3, 4, 5, 6]
    assert sleeps  # it waited between polls
    assert max(sleeps) <= 5.0


def test_resuming_from_a_seq_skips_what_was_seen_and_ends_on_a_finished_task(
    api: FakeApi, quiet_socket: SocketServer, sleeps: list[float]
) -> None:
    log = TaskLog.of(TEN_STEPS).publish_all()
    log.routes(api)
    quiet_socket.log = log
    client = client_for(api, quiet_socket.port, sleeps)
    assert [e.seq for e in client.tasks.watch(log.task_id, after=8)] == [9, 10]
    # Resumed after the end event: nothing new, and the task says it is over.
    assert list(client.tasks.watch(log.task_id, after=10)) == []


def test_a_watch_ends_at_needs_review(
    api: FakeApi, quiet_socket: SocketServer, sleeps: list[float]
) -> None:
    log = TaskLog.of(
        [
            ("status", "queued", "Task queued"),
            ("routed", "needs_review", "Routed to review (text.summarize)."),
            ("status", "needs_review", "There is no input data."),
        ]
    ).publish_all()
    log.routes(api)
    quiet_socket.log = log
    seen = list(client_for(api, quiet_socket.port, sleeps).tasks.watch(log.task_id))
    # Not at the routed event (its status is needs_review too): at the status event after it.
    assert [(e.kind, e.status) for e in seen][-2:] == [
        ("routed", "needs_review"),
        ("status", "needs_review"),
    ]


def test_run_creates_watches_and_returns_the_finished_task(
    api: FakeApi, quiet_socket: SocketServer, sleeps: list[float]
) -> None:
    log = TaskLog.of(TEN_STEPS, result={"summary": "Short."}).publish_all()
    log.routes(api)
    quiet_socket.log = log
    client = client_for(api, quiet_socket.port, sleeps)
    seen: list[int] = []
    task = client.tasks.run(
        "summarize this",
        input="Long text.",
        project="prj_00000000000000000001",
        on_event=lambda e: seen.append(e.seq),
    )
    assert task.status == "completed"
    assert task.result == {"summary": "Short."}
    assert seen == list(range(1, 11))
    assert len(api.calls("POST", "/tasks")) == 1
