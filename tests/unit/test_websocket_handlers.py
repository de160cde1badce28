"""The app's WebSocket, SQS and internal-telemetry handlers, invoked with hand-built events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.dal.models import Task
from chalicelib.dal.realtime_models import Connection
from tests.unit.auth_support import user_token
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    install_fakes,
    realtime,
    seed_project,
    seed_task,
)

__all__ = ["realtime"]


def _ws_event(route: str, connection_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "requestContext": {
            "routeKey": route,
            "eventType": {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE"),
            "connectionId": connection_id,
            "apiId": "abc123",
            "stage": "ws",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        },
        "isBase64Encoded": False,
        **extra,
    }


@pytest.fixture
def app(realtime: Realtime) -> Any:
    import app as application

    return application.app


def test_connect_refuses_without_token_and_accepts_a_valid_one(app: Any) -> None:
    handler = app.handler_map["ws_connect"]
    refused = handler(_ws_event("$connect", "c-1"), None)
    assert refused["statusCode"] == 401
    assert json.loads(refused["body"])["error"]["code"] == "unauthorized"
    token = user_token("usr_a")
    accepted = handler(_ws_event("$connect", "c-1", queryStringParameters={"token": token}), None)
    assert accepted["statusCode"] == 200
    assert Connection.get("c-1").user_id == "usr_a"


def test_message_reply_is_posted_back_and_disconnect_cleans_up(
    app: Any, realtime: Realtime
) -> None:
    token = user_token("usr_a")
    app.handler_map["ws_connect"](
        _ws_event("$connect", "c-1", queryStringParameters={"token": token}), None
    )
    result = app.handler_map["ws_message"](
        _ws_event("$default", "c-1", body=json.dumps({"action": "ping"})), None
    )
    assert result["statusCode"] == 200
    assert realtime.mgmt.messages_to("c-1") == [{"type": "pong"}]
    app.handler_map["ws_disconnect"](_ws_event("$disconnect", "c-1"), None)
    with pytest.raises(Connection.DoesNotExist):
        Connection.get("c-1")


def test_internal_telemetry_needs_the_bridge_token(app: Any, realtime: Realtime) -> None:
    task = seed_task(seed_project())
    body = json.dumps({"taskId": task.id, "kind": "progress", "progress": 0.5, "message": "half"})
    with Client(app) as client:
        denied = client.http.post(
            "/internal/telemetry",
            body=body,
            headers={"Content-Type": "application/json", "X-Bridge-Token": "wrong"},
        )
        assert denied.status_code == 401
        accepted = client.http.post(
            "/internal/telemetry",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Bridge-Token": "test-bridge-token-0123456789abcdef",
            },
        )
        assert accepted.status_code == 202, accepted.body
        event = json.loads(accepted.body)
        assert (event["seq"], event["kind"], event["progress"]) == (2, "progress", 0.5)
        assert event["actor"] == "worker"
        assert activity_of(task.id)[-1].message == "half"
        missing = client.http.post(
            "/internal/telemetry",
            body=json.dumps({"taskId": "tsk_nope", "kind": "log"}),
            headers={
                "Content-Type": "application/json",
                "X-Bridge-Token": "test-bridge-token-0123456789abcdef",
            },
        )
        assert missing.status_code == 404
        Task(task.id).update(actions=[Task.status.set("completed")], add_version_condition=False)
        finished = client.http.post(
            "/internal/telemetry",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Bridge-Token": "test-bridge-token-0123456789abcdef",
            },
        )
        assert finished.status_code == 409
        assert json.loads(finished.body)["error"]["code"] == "task_finished"


def test_sqs_handler_runs_the_batch(
    app: Any, realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fakes(monkeypatch)
    task = seed_task(seed_project())
    with Client(app) as client:
        event = client.events.generate_sqs_event(
            message_bodies=[json.dumps({"taskId": task.id, "attempt": 1})],
            queue_name="aion-test-dispatch",
        )
        client.lambda_.invoke("dispatch", event)
    assert Task.get(task.id).status == "completed"


def test_schedule_handler_sweeps_expired_leases(app: Any, realtime: Realtime) -> None:
    import time

    task = seed_task(seed_project())
    Task(task.id).update(
        actions=[
            Task.status.set("running"),
            Task.lease_owner.set("lease_dead"),
            Task.lease_expires_at.set(time.time() - 1),
        ],
        add_version_condition=False,
    )
    with Client(app) as client:
        client.lambda_.invoke(
            "sweep",
            client.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
            ),
        )
    swept = Task.get(task.id)
    assert (swept.status, swept.attempts) == ("queued", 2)
