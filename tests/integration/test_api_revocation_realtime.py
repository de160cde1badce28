"""A user whose sessions are revoked loses their live sockets; a removed member their task feeds."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from chalicelib.auth.tokens import issue_access_token
from chalicelib.dal.realtime_models import Connection, Subscription, task_topic
from chalicelib.logic import connections, websocket
from tests.integration.conftest import ApiClient
from tests.unit.realtime_fakes import RecordingManagementClient


@pytest.fixture
def mgmt(
    monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> RecordingManagementClient:
    client = RecordingManagementClient()
    monkeypatch.setattr(connections, "_client", client)
    return client


def _ws_connect(connection_id: str, user_id: str, role: str, task_id: str | None = None) -> None:
    websocket.connect(connection_id, issue_access_token(user_id, role)[0], task_id)


@pytest.mark.parametrize("change", [{"role": "admin"}, {"password": "a-brand-new-secret"}])
def test_role_or_password_change_closes_the_users_sockets(
    api: ApiClient, mgmt: RecordingManagementClient, change: dict[str, str]
) -> None:
    admin, bob, carol = api.user("admin"), api.user(), api.user()
    project = api.project(bob)
    task = api.task(bob, project["id"])
    _ws_connect("ws-bob-1", bob.id, "member", task["id"])
    _ws_connect("ws-bob-2", bob.id, "member")
    _ws_connect("ws-carol", carol.id, "member")
    reply = api.patch(f"/users/{bob.id}", change, who=admin, headers={"If-Match": "1"})
    assert reply.status == 200, reply.body
    assert sorted(mgmt.deleted) == ["ws-bob-1", "ws-bob-2"]
    assert [c.connection_id for c in Connection.scan()] == ["ws-carol"]
    assert list(Subscription.query(task_topic(task["id"]))) == []


def test_a_name_change_keeps_the_sockets(api: ApiClient, mgmt: RecordingManagementClient) -> None:
    admin, bob = api.user("admin"), api.user()
    _ws_connect("ws-bob", bob.id, "member")
    reply = api.patch(f"/users/{bob.id}", {"name": "Robert"}, who=admin, headers={"If-Match": "1"})
    assert reply.status == 200
    assert mgmt.deleted == []
    assert Connection.get("ws-bob").user_id == bob.id


def test_removing_a_member_drops_their_task_subscriptions_in_that_project(
    api: ApiClient, mgmt: RecordingManagementClient
) -> None:
    alice, bob = api.user(), api.user()
    project, own = api.project(alice, bob), api.project(bob)
    task, own_task = api.task(alice, project["id"]), api.task(bob, own["id"])
    _ws_connect("ws-bob", bob.id, "member", task["id"])
    websocket.message("ws-bob", json.dumps({"action": "subscribe", "taskId": own_task["id"]}))
    _ws_connect("ws-alice", alice.id, "member", task["id"])
    assert api.delete(f"/projects/{project['id']}/members/{bob.id}", who=alice).status == 200
    assert [s.connection_id for s in Subscription.query(task_topic(task["id"]))] == ["ws-alice"]
    assert [s.connection_id for s in Subscription.query(task_topic(own_task["id"]))] == ["ws-bob"]
    # Bob's socket stays open (he is still a user); it just no longer hears that project.
    assert mgmt.deleted == []
