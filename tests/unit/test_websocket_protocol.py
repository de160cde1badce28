"""The WebSocket protocol: token at connect, authorized subscribe/unsubscribe, ping, cleanup."""

from __future__ import annotations

import json

import pytest

from chalicelib.dal.realtime_models import Connection, Subscription, project_topic, task_topic
from chalicelib.errors import NotFound, Unauthorized
from chalicelib.logic import telemetry, websocket
from tests.unit.auth_support import user_token
from tests.unit.realtime_fakes import Realtime, realtime, seed_project, seed_task

__all__ = ["realtime"]


def _token(user_id: str, role: str = "member") -> str:
    return user_token(user_id, role)


def _msg(**body: object) -> str:
    return json.dumps(body)


def test_connect_without_or_with_bad_token_is_refused(realtime: Realtime) -> None:
    with pytest.raises(Unauthorized):
        websocket.connect("c-1", None)
    with pytest.raises(Unauthorized):
        websocket.connect("c-1", "not-a-token")
    with pytest.raises(Unauthorized):
        websocket.connect("c-1", _token("usr_a") + "x")
    with pytest.raises(Connection.DoesNotExist):
        Connection.get("c-1")


def test_connect_stores_the_connection_with_a_ttl(realtime: Realtime) -> None:
    principal = websocket.connect("c-1", _token("usr_a"))
    stored = Connection.get("c-1")
    assert (
        (stored.user_id, stored.role)
        == ("usr_a", "member")
        == (
            principal.user_id,
            principal.role,
        )
    )
    assert stored.expires_at is not None


def test_connect_with_task_id_subscribes_if_visible(realtime: Realtime) -> None:
    task = seed_task(seed_project(owner="usr_a"))
    websocket.connect("c-1", _token("usr_a"), task.id)
    assert [s.connection_id for s in Subscription.query(task_topic(task.id))] == ["c-1"]
    with pytest.raises(NotFound):
        websocket.connect("c-2", _token("usr_b"), task.id)
    with pytest.raises(Connection.DoesNotExist):
        Connection.get("c-2")


def test_ping_pong_and_bad_messages(realtime: Realtime) -> None:
    websocket.connect("c-1", _token("usr_a"))
    assert websocket.message("c-1", _msg(action="ping")) == {"type": "pong"}
    for body in ("", "{nope", "[1]", _msg(action="dance"), _msg(action="subscribe")):
        reply = websocket.message("c-1", body)
        assert reply["type"] == "error"
        assert reply["code"]
        assert reply["message"]
    both = websocket.message("c-1", _msg(action="subscribe", taskId="t", projectId="p"))
    assert both["code"] == "validation_error"


def test_subscribe_task_returns_recent_events(realtime: Realtime) -> None:
    task = seed_task(seed_project(owner="usr_a"))
    telemetry.record_external(task_id=task.id, kind="log", message="x", actor="w")
    websocket.connect("c-1", _token("usr_a"))
    reply = websocket.message("c-1", _msg(action="subscribe", taskId=task.id))
    assert reply["type"] == "subscribed"
    assert reply["taskId"] == task.id
    assert [e["seq"] for e in reply["events"]] == [1, 2]
    resumed = websocket.message("c-1", _msg(action="subscribe", taskId=task.id, after=1))
    assert [e["seq"] for e in resumed["events"]] == [2]
    assert [s.connection_id for s in Subscription.query(task_topic(task.id))] == ["c-1"]


def test_subscribe_to_others_project_or_task_is_refused(realtime: Realtime) -> None:
    project = seed_project(owner="usr_a")
    task = seed_task(project)
    websocket.connect("c-b", _token("usr_b"))
    for body in (
        _msg(action="subscribe", projectId=project.id),
        _msg(action="subscribe", taskId=task.id),
    ):
        reply = websocket.message("c-b", body)
        assert reply["type"] == "error"
        assert reply["code"].endswith("not_found")
    assert list(Subscription.query(project_topic(project.id))) == []
    assert list(Subscription.query(task_topic(task.id))) == []


def test_admin_may_subscribe_to_any_project(realtime: Realtime) -> None:
    project = seed_project(owner="usr_a")
    seed_task(project)
    websocket.connect("c-admin", _token("usr_root", "admin"))
    reply = websocket.message("c-admin", _msg(action="subscribe", projectId=project.id))
    assert reply["type"] == "subscribed"
    assert [e["kind"] for e in reply["events"]] == ["status"]


def test_project_subscribe_returns_latest_event_per_task(realtime: Realtime) -> None:
    project = seed_project(owner="usr_a", members=("usr_m",))
    first, second = seed_task(project), seed_task(project)
    telemetry.record_external(task_id=first.id, kind="log", message="later", actor="w")
    websocket.connect("c-m", _token("usr_m"))
    reply = websocket.message("c-m", _msg(action="subscribe", projectId=project.id))
    latest = {(e["taskId"], e["seq"]) for e in reply["events"]}
    assert latest == {(first.id, 2), (second.id, 1)}


def test_unregistered_connection_cannot_subscribe(realtime: Realtime) -> None:
    reply = websocket.message("c-ghost", _msg(action="subscribe", projectId="prj_x"))
    assert reply == {
        "type": "error",
        "code": "unauthorized",
        "message": "This connection is not registered; reconnect.",
    }


def test_unsubscribe_and_disconnect_clean_up(realtime: Realtime) -> None:
    project = seed_project(owner="usr_a")
    task = seed_task(project)
    websocket.connect("c-1", _token("usr_a"), task.id)
    websocket.message("c-1", _msg(action="subscribe", projectId=project.id))
    reply = websocket.message("c-1", _msg(action="unsubscribe", taskId=task.id))
    assert reply == {"type": "unsubscribed", "taskId": task.id}
    assert list(Subscription.query(task_topic(task.id))) == []
    websocket.disconnect("c-1")
    assert list(Subscription.query(project_topic(project.id))) == []
    with pytest.raises(Connection.DoesNotExist):
        Connection.get("c-1")


def test_oversized_backlog_is_trimmed_to_fit_one_message() -> None:
    events = [{"seq": i, "message": "x" * 10_000} for i in range(40)]
    reply = websocket.fit_reply({"type": "subscribed", "taskId": "t", "events": events})
    assert len(json.dumps(reply)) <= telemetry.MAX_MESSAGE_BYTES
    assert reply["truncated"] is True
    assert reply["events"][-1]["seq"] == 39
