"""Revoked sessions close the user's sockets; leaving a project drops its task subscriptions."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.clock import now_epoch
from chalicelib.dal.realtime_models import Connection, Subscription, project_topic, task_topic
from chalicelib.logic import connections, fanout, sessions, telemetry, websocket
from tests.unit.auth_support import user_token
from tests.unit.realtime_fakes import Realtime, realtime, seed_project, seed_task

__all__ = ["realtime"]


def _token(user_id: str, role: str = "member") -> str:
    return user_token(user_id, role)


def _stubbed_client() -> tuple[object, Stubber]:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="http://127.0.0.1:9/ws-mgmt",
        region_name="us-east-1",
    )
    return client, Stubber(client)


def _open(cid: str, user_id: str, *topics: str) -> None:
    Connection(
        cid,
        user_id=user_id,
        role="member",
        connected_at=now_epoch() - 60,
        expires_at=timedelta(hours=2),
    ).save()
    for topic in topics:
        Subscription(
            topic, cid, user_id=user_id, created_at=now_epoch(), expires_at=timedelta(hours=2)
        ).save()


def test_close_user_connections_deletes_each_socket_and_its_rows(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open("c-1", "usr_a", task_topic("tsk_1"), project_topic("prj_1"))
    _open("c-2", "usr_a", task_topic("tsk_2"))
    _open("c-3", "usr_b", task_topic("tsk_1"))
    client, stubber = _stubbed_client()
    # Query order is not part of the contract: accept either id for each call, but each once.
    stubber.add_response("delete_connection", {}, {"ConnectionId": stubber_any()})
    stubber.add_client_error(
        "delete_connection",
        service_error_code="GoneException",
        http_status_code=410,
        expected_params={"ConnectionId": stubber_any()},
    )
    seen: list[str] = []
    client.meta.events.register(
        "provide-client-params.apigatewaymanagementapi.DeleteConnection",
        lambda params, **_: seen.append(params["ConnectionId"]),
    )
    monkeypatch.setattr(connections, "_client", client)
    with stubber:
        assert telemetry.close_user_connections("usr_a") == 2
        stubber.assert_no_pending_responses()
    assert sorted(seen) == ["c-1", "c-2"]
    assert [c.connection_id for c in Connection.scan()] == ["c-3"]
    assert {(s.topic, s.connection_id) for s in Subscription.scan()} == {
        (task_topic("tsk_1"), "c-3")
    }
    # Nothing left to do: no more management calls (the stubber has no responses queued).
    with stubber:
        assert telemetry.close_user_connections("usr_a") == 0


def test_a_failing_delete_still_removes_the_rows(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open("c-1", "usr_a", task_topic("tsk_1"))
    client, stubber = _stubbed_client()
    stubber.add_client_error(
        "delete_connection", service_error_code="InternalServerError", http_status_code=500
    )
    monkeypatch.setattr(connections, "_client", client)
    with stubber:
        assert telemetry.close_user_connections("usr_a") == 1
    assert list(Connection.scan()) == []
    assert list(Subscription.scan()) == []


def test_revoking_sessions_closes_sockets_after_revoking_tokens(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    from chalicelib.auth import refresh

    monkeypatch.setattr(refresh, "revoke_user_sessions", lambda uid: order.append("tokens") or 3)
    real_close = telemetry.close_user_connections
    monkeypatch.setattr(
        telemetry,
        "close_user_connections",
        lambda uid: order.append("sockets") or real_close(uid),
    )
    websocket.connect("c-1", _token("usr_a"))
    assert sessions.revoke_user_sessions("usr_a") == 3
    assert order == ["tokens", "sockets"]
    assert realtime.mgmt.deleted == ["c-1"]
    with pytest.raises(Connection.DoesNotExist):
        Connection.get("c-1")
    # The socket's next message is refused: its connection is unknown.
    reply = websocket.message("c-1", json.dumps({"action": "subscribe", "projectId": "prj_1"}))
    assert reply["type"] == "error"


def test_subscriptions_record_their_project(realtime: Realtime) -> None:
    project = seed_project(owner="usr_a")
    task = seed_task(project)
    websocket.connect("c-1", _token("usr_a"), task.id)
    websocket.message("c-1", json.dumps({"action": "subscribe", "projectId": project.id}))
    assert {s.project_id for s in Subscription.scan()} == {project.id}


def test_leaving_a_project_drops_its_task_subscriptions_too(realtime: Realtime) -> None:
    project = seed_project(owner="usr_owner", members=("usr_a",))
    other = seed_project(owner="usr_a")
    task, other_task = seed_task(project), seed_task(other)
    websocket.connect("c-a", _token("usr_a"), task.id)
    websocket.message("c-a", json.dumps({"action": "subscribe", "projectId": project.id}))
    websocket.message("c-a", json.dumps({"action": "subscribe", "taskId": other_task.id}))
    websocket.connect("c-o", _token("usr_owner"), task.id)
    assert telemetry.drop_project_subscriptions(project.id, "usr_a") == 2
    left = {(s.topic, s.connection_id) for s in Subscription.scan()}
    assert left == {(task_topic(other_task.id), "c-a"), (task_topic(task.id), "c-o")}
    # The former member's socket no longer gets the task's events.
    assert fanout.subscribers_of(task.id, project.id) == ["c-o"]


def stubber_any() -> object:
    from botocore.stub import ANY

    return ANY
