"""Dispatch and live telemetry through the dev stack: real HTTP, a real WebSocket client,
the SQS and schedule drivers, and the executor as a child process.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.e2e

# The dev stack inherits this environment: the executor also loads the tests' instrumented
# modules (``test.sleep`` gives a task that runs long enough to be killed mid-way).
os.environ.setdefault("AION_EXECUTOR_EXTRA_MODULES", "tests.integration.executor_test_modules")

TERMINAL = {"completed", "failed", "canceled", "needs_review"}


class Api:
    def __init__(self, devstack: dict[str, Any], token: str | None = None) -> None:
        self.base = devstack["api_url"]
        self.token = token

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.base + path, json=body, headers=headers, timeout=30)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.call(method, path, body)
        assert reply.status_code < 300, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply.json() if reply.text else None


def _login(devstack: dict[str, Any], email: str, password: str) -> Api:
    api = Api(devstack)
    body = api.ok("POST", "/auth/login", {"email": email, "password": password})
    api.token = body["accessToken"]
    return api


@pytest.fixture(scope="module")
def admin(devstack: dict[str, Any]) -> Api:
    return _login(devstack, devstack["admin_email"], devstack["admin_password"])


@pytest.fixture(scope="module")
def member(devstack: dict[str, Any], admin: Api) -> Api:
    email = f"member-{secrets.token_hex(4)}@aion.local"
    password = "Member-" + secrets.token_hex(8)
    admin.ok("POST", "/users", {"email": email, "name": "Member", "password": password})
    return _login(devstack, email, password)


@pytest.fixture
def project(member: Api) -> dict[str, Any]:
    return member.ok("POST", "/projects", {"name": f"e2e {secrets.token_hex(3)}"})


def _ws(devstack: dict[str, Any], api: Api, query: str = "") -> ClientConnection:
    return connect(f"{devstack['ws_url']}?token={api.token}{query}", open_timeout=30)


def _send(ws: ClientConnection, **message: Any) -> dict[str, Any]:
    """Send a request and return the first reply that is not a telemetry event."""
    ws.send(json.dumps(message))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = json.loads(ws.recv(timeout=30))
        if reply.get("type") != "telemetry":
            return reply
    raise AssertionError("no reply")


def _events_until_terminal(
    ws: ClientConnection, task_id: str, timeout_s: float = 60
) -> Iterator[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message.get("type") != "telemetry" or message.get("taskId") != task_id:
            continue
        yield message
        if message["kind"] == "status" and message["status"] in TERMINAL:
            return
    raise AssertionError(f"task {task_id} did not finish in {timeout_s} s")


def _plain(event: dict[str, Any]) -> dict[str, Any]:
    """REST lists optional fields as null, the socket leaves them out: compare without them."""
    return {k: v for k, v in event.items() if v is not None}


def _activity(api: Api, task_id: str) -> list[dict[str, Any]]:
    return [_plain(e) for e in api.ok("GET", f"/tasks/{task_id}/activity?limit=100")["items"]]


def _wait_status(api: Api, task_id: str, statuses: set[str], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        task = api.ok("GET", f"/tasks/{task_id}")
        if task["status"] in statuses or time.monotonic() > deadline:
            return task
        time.sleep(0.2)


def test_task_streams_queued_to_completed_in_order(
    devstack: dict[str, Any], member: Api, project: dict[str, Any]
) -> None:
    with _ws(devstack, member) as ws:
        subscribed = _send(ws, action="subscribe", projectId=project["id"])
        assert subscribed["type"] == "subscribed"
        assert subscribed["projectId"] == project["id"]
        task = member.ok(
            "POST",
            "/tasks",
            {
                "projectId": project["id"],
                "instruction": "Tally the words in this passage",
                "input": "The quick brown fox jumps over the lazy dog. " * 20,
            },
        )
        assert task["status"] == "queued"
        events = list(_events_until_terminal(ws, task["id"]))
    kinds = [(e["kind"], e["status"]) for e in events]
    assert kinds[0] == ("status", "queued")
    assert kinds[1] == ("routed", "running")
    assert kinds[2] == ("status", "running")
    assert ("progress", "running") in kinds[3:-1]
    assert kinds[-1] == ("status", "completed")
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert seqs[0] == 1
    assert events[1]["data"]["module"] == "text.stats"
    assert events[-1]["data"]["result"]["words"] == 180
    # The activity log is the same stream.
    assert _activity(member, task["id"]) == [_plain(e) for e in events]
    done = member.ok("GET", f"/tasks/{task['id']}")
    assert done["status"] == "completed"
    assert done["result"]["words"] == 180


def test_subscribe_to_a_task_returns_its_backlog(
    devstack: dict[str, Any], member: Api, project: dict[str, Any]
) -> None:
    task = member.ok(
        "POST",
        "/tasks",
        {"projectId": project["id"], "instruction": "sha256 of this", "input": "abc"},
    )
    _wait_status(member, task["id"], TERMINAL, 30)
    with _ws(devstack, member, f"&taskId={task['id']}") as ws:
        reply = _send(ws, action="subscribe", taskId=task["id"])
        assert reply["type"] == "subscribed"
        assert [_plain(e) for e in reply["events"]] == _activity(member, task["id"])
        assert _send(ws, action="ping") == {"type": "pong"}


def test_generative_task_goes_to_review_without_an_llm(
    devstack: dict[str, Any], member: Api, project: dict[str, Any]
) -> None:
    with _ws(devstack, member) as ws:
        _send(ws, action="subscribe", projectId=project["id"])
        task = member.ok(
            "POST",
            "/tasks",
            {
                "projectId": project["id"],
                "instruction": "Write a short poem about the sea at night",
            },
        )
        events = list(_events_until_terminal(ws, task["id"]))
    assert [(e["kind"], e["status"]) for e in events][-2:] == [
        ("routed", "needs_review"),
        ("status", "needs_review"),
    ]
    assert events[-2]["data"]["target"] == "review"
    assert events[-2]["data"]["module"] == "llm.generate"


def test_websocket_without_or_with_a_bad_token_is_refused(devstack: dict[str, Any]) -> None:
    for query in ("", "?token=", "?token=not.a.jwt", "?token=wst_forged"):
        with pytest.raises(InvalidStatus) as refused:
            connect(devstack["ws_url"] + query, open_timeout=30)
        assert refused.value.response.status_code == 401


def test_subscribing_to_others_project_is_refused(
    devstack: dict[str, Any], admin: Api, member: Api
) -> None:
    others = admin.ok("POST", "/projects", {"name": "admin only"})
    with _ws(devstack, member) as ws:
        reply = _send(ws, action="subscribe", projectId=others["id"])
        assert reply["type"] == "error"
        assert reply["code"] == "project_not_found"
    # A task id at connect is authorized too.
    task = admin.ok(
        "POST",
        "/tasks",
        {"projectId": others["id"], "instruction": "count words", "input": "a"},
    )
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{devstack['ws_url']}?token={member.token}&taskId={task['id']}", open_timeout=30)
    assert refused.value.response.status_code == 404


def _executor_pid(devstack: dict[str, Any]) -> int:
    return int(requests.get(devstack["status_url"], timeout=10).json()["executor"]["pid"])


@pytest.mark.slow
def test_executor_killed_mid_task_still_ends_once(
    devstack: dict[str, Any], member: Api, project: dict[str, Any]
) -> None:
    with _ws(devstack, member) as ws:
        _send(ws, action="subscribe", projectId=project["id"])
        task = member.ok(
            "POST",
            "/tasks",
            {
                "projectId": project["id"],
                "instruction": "sleep for a while",
                "module": "test.sleep",
                "params": {"seconds": 3, "steps": 6},
            },
        )
        events = []
        killed = False
        for event in _events_until_terminal(ws, task["id"], timeout_s=90):
            events.append(event)
            if event["kind"] == "progress" and not killed:
                os.kill(_executor_pid(devstack), signal.SIGKILL)
                killed = True
    assert killed
    terminal = [e for e in events if e["kind"] == "status" and e["status"] in TERMINAL]
    assert len(terminal) == 1
    assert terminal[0]["status"] in {"completed", "failed"}
    if terminal[0]["status"] == "failed":
        assert terminal[0]["message"]
    stored = _activity(member, task["id"])
    # The broken stream is retried at once by the dispatch, not taken back by the sweeper
    # once the lease (60 s) has expired.
    assert [e for e in stored if e["actor"] == "sweeper"] == []
    stored_terminal = [e for e in stored if e["kind"] == "status" and e["status"] in TERMINAL]
    assert stored_terminal == [_plain(e) for e in terminal]
    seqs = [e["seq"] for e in stored]
    assert seqs == sorted(set(seqs))


def _wait_queue_drained(sqs: Any, queue_url: str, timeout_s: float) -> None:
    """Every message sent so far was received and deleted (none waiting, none in flight)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)
        if all(attributes["Attributes"][name] == "0" for name in names):
            return
        time.sleep(0.2)
    raise AssertionError(f"the dispatch queue still holds messages after {timeout_s} s")


def _aws(devstack: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=devstack["moto_url"],
        region_name="us-east-1",
        aws_access_key_id="devstack",
        aws_secret_access_key="devstack",
    )


def test_the_same_message_delivered_twice_runs_once(
    devstack: dict[str, Any], member: Api, project: dict[str, Any]
) -> None:
    task = member.ok(
        "POST",
        "/tasks",
        {"projectId": project["id"], "instruction": "Count the words", "input": "one two"},
    )
    body = json.dumps({"taskId": task["id"], "attempt": 1})
    sqs = _aws(devstack, "sqs")
    sqs.send_message(QueueUrl=devstack["queue_url"], MessageBody=body)
    sqs.send_message(QueueUrl=devstack["queue_url"], MessageBody=body)
    assert _wait_status(member, task["id"], TERMINAL, 30)["status"] == "completed"
    _wait_queue_drained(sqs, devstack["queue_url"], timeout_s=30)  # duplicates received, dropped
    events = _activity(member, task["id"])
    assert [e["status"] for e in events if e["kind"] == "status"] == [
        "queued",
        "running",
        "completed",
    ]
    assert [e["kind"] for e in events].count("routed") == 1


def test_a_closed_sockets_connection_is_deleted_on_first_410(
    devstack: dict[str, Any], member: Api, project: dict[str, Any]
) -> None:
    """A socket whose $disconnect never arrived: the first post answers 410 and cleans up."""
    prefix = os.environ.get("AION_TABLE_PREFIX", "aion-dev-")
    dynamodb = _aws(devstack, "dynamodb")
    ghost = "ghost" + secrets.token_hex(6)
    old = str(int(time.time()) - 600)
    expires = str(int(time.time()) + 3600)
    dynamodb.put_item(
        TableName=f"{prefix}ws-connections",
        Item={
            "connection_id": {"S": ghost},
            "user_id": {"S": "usr_ghost"},
            "role": {"S": "member"},
            "connected_at": {"N": old},
            "expires_at": {"N": expires},
        },
    )
    dynamodb.put_item(
        TableName=f"{prefix}ws-subscriptions",
        Item={
            "topic": {"S": f"project#{project['id']}"},
            "connection_id": {"S": ghost},
            "user_id": {"S": "usr_ghost"},
            "created_at": {"N": old},
            "expires_at": {"N": expires},
        },
    )
    member.ok("POST", "/tasks", {"projectId": project["id"], "instruction": "count", "input": "a"})
    found = dynamodb.get_item(
        TableName=f"{prefix}ws-connections", Key={"connection_id": {"S": ghost}}
    )
    assert "Item" not in found
    subs = dynamodb.query(
        TableName=f"{prefix}ws-subscriptions",
        IndexName="by-connection",
        KeyConditionExpression="connection_id = :c",
        ExpressionAttributeValues={":c": {"S": ghost}},
    )
    assert subs["Items"] == []


def test_bridge_token_holders_push_telemetry(
    devstack: dict[str, Any], member: Api, project: dict[str, Any]
) -> None:
    task = member.ok(
        "POST",
        "/tasks",
        {"projectId": project["id"], "instruction": "Count the words", "input": "one"},
    )
    reply = Api(devstack).call(
        "POST",
        "/internal/telemetry",
        {"taskId": task["id"], "kind": "log", "message": "hi"},
        **{"X-Bridge-Token": "wrong"},
    )
    assert reply.status_code == 401


@pytest.mark.slow
def test_a_poison_message_ends_in_the_dlq(devstack: dict[str, Any]) -> None:
    sqs = _aws(devstack, "sqs")
    marker = "poison-" + secrets.token_hex(4)
    sqs.send_message(QueueUrl=devstack["queue_url"], MessageBody=marker)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=devstack["dlq_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in got.get("Messages", []):
            if message["Body"] == marker:
                sqs.delete_message(
                    QueueUrl=devstack["dlq_url"], ReceiptHandle=message["ReceiptHandle"]
                )
                return
            sqs.change_message_visibility(
                QueueUrl=devstack["dlq_url"],
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
    raise AssertionError("the poison message did not reach the DLQ")


@pytest.mark.slow
def test_cancel_stops_a_running_task(
    devstack: dict[str, Any], member: Api, project: dict[str, Any]
) -> None:
    with _ws(devstack, member) as ws:
        _send(ws, action="subscribe", projectId=project["id"])
        task = member.ok(
            "POST",
            "/tasks",
            {
                "projectId": project["id"],
                "instruction": "sleep for a long while",
                "module": "test.sleep",
                "params": {"seconds": 30, "steps": 30},
            },
        )
        canceled = False
        events = []
        for event in _events_until_terminal(ws, task["id"], timeout_s=60):
            events.append(event)
            if event["kind"] == "progress" and not canceled:
                member.ok("POST", f"/tasks/{task['id']}/cancel")
                canceled = True
        assert canceled
    assert events[-1]["status"] == "canceled"
    # The heartbeat (5 s) notices the request and cancels the gRPC call: the module stops
    # short of its 30 steps (a run left going would report every step up to 100 %).
    progress = [e["progress"] for e in events if e["kind"] == "progress"]
    assert max(progress) < 1.0, progress
    assert member.ok("GET", f"/tasks/{task['id']}")["status"] == "canceled"


def test_one_persons_long_tasks_wait_while_anothers_trivial_task_completes(
    devstack: dict[str, Any], admin: Api, member: Api, project: dict[str, Any]
) -> None:
    """Fair dispatch (issue 16, 1b): a flood of long tasks from one person holds the long lane
    (one place here: two executor workers, one kept for short calls) and waits ``queued`` with
    a reason; another person's trivial task completes while the flood is still at work."""
    email = f"other-{secrets.token_hex(4)}@aion.local"
    password = "Other-" + secrets.token_hex(8)
    admin.ok("POST", "/users", {"email": email, "name": "Other", "password": password})
    other = _login(devstack, email, password)
    other_project = other.ok("POST", "/projects", {"name": f"e2e {secrets.token_hex(3)}"})
    flood = [
        member.ok(
            "POST",
            "/tasks",
            {
                "projectId": project["id"],
                "instruction": "sleep for a long while",
                "module": "test.sleep",
                "params": {"seconds": 60, "steps": 60},
            },
        )["id"]
        for _ in range(4)
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            seen = [member.ok("GET", f"/tasks/{task_id}") for task_id in flood]
            running = [t for t in seen if t["status"] == "running"]
            waiting = [t for t in seen if t["status"] == "queued" and t.get("waiting")]
            if running and waiting:
                break
            assert time.monotonic() < deadline, [(t["status"], t.get("waiting")) for t in seen]
            time.sleep(0.2)
        assert len(running) == 1  # the long lane's one place
        assert waiting[0]["waiting"]["code"] == "long_lane_full"
        reasons = [e for e in _activity(member, waiting[0]["id"]) if e["kind"] == "log"]
        assert reasons
        assert reasons[-1]["message"] == waiting[0]["waiting"]["message"]

        trivial = other.ok(
            "POST",
            "/tasks",
            {
                "projectId": other_project["id"],
                "instruction": "Tally the words in this passage",
                "module": "text.stats",
                "input": "one two three",
            },
        )
        done = _wait_status(other, trivial["id"], TERMINAL, timeout_s=60)
        assert done["status"] == "completed", done
        assert done["result"]["words"] == 3
        # Completed while the flood was still at work: it waited behind none of it.
        statuses = {member.ok("GET", f"/tasks/{task_id}")["status"] for task_id in flood}
        assert statuses <= {"queued", "running"}, statuses
    finally:
        for task_id in flood:
            member.call("POST", f"/tasks/{task_id}/cancel")
    for task_id in flood:  # nothing of the flood is left to hold a place
        assert _wait_status(member, task_id, TERMINAL, timeout_s=60)["status"] == "canceled"
