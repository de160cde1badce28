"""Scope all: every project of the user, now and later, and the project-level messages that
keep consoles' project lists live (created, joined, updated, left, deleted)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.auth.principal import Principal
from chalicelib.auth.tokens import issue_access_token
from chalicelib.clock import now_iso
from chalicelib.dal.models import Project, User
from chalicelib.dal.realtime_models import Subscription, project_topic, scope_topic, task_topic
from chalicelib.logic import projects, telemetry, websocket
from chalicelib.models.projects import ProjectCreate, ProjectUpdate
from tests.unit.realtime_fakes import Realtime, realtime, seed_task

__all__ = ["realtime"]


def _user(user_id: str, role: str = "member") -> Principal:
    now = now_iso()
    User(
        id=user_id,
        email=f"{user_id}@example.com",
        name=user_id,
        role=role,
        password_hash="x",
        created_at=now,
        updated_at=now,
    ).save()
    return Principal(user_id=user_id, role=role)


def _connect(connection_id: str, who: Principal) -> None:
    websocket.connect(connection_id, issue_access_token(who.user_id, who.role)[0])


def _send(connection_id: str, **body: Any) -> dict[str, Any]:
    return websocket.message(connection_id, json.dumps(body))


def _topic_connections(topic: str) -> set[str]:
    return {s.connection_id for s in Subscription.query(topic)}


def _project_messages(realtime: Realtime, connection_id: str) -> list[dict[str, Any]]:
    return [m for m in realtime.mgmt.messages_to(connection_id) if m.get("type") == "project"]


def test_scope_all_subscribes_every_project_of_the_user_and_returns_a_backlog(
    realtime: Realtime,
) -> None:
    alice, bob = _user("usr_alice"), _user("usr_bob")
    mine = projects.create_project(alice, ProjectCreate(name="Mine"))
    theirs = projects.create_project(bob, ProjectCreate(name="Theirs"))
    shared = projects.create_project(bob, ProjectCreate(name="Shared"))
    projects.add_member(bob, shared.id, alice.user_id)
    task = seed_task(Project.get(mine.id))

    _connect("c-a", alice)
    reply = _send("c-a", action="subscribe", scope="all")

    assert reply["type"] == "subscribed"
    assert reply["scope"] == "all"
    assert sorted(reply["projectIds"]) == sorted([mine.id, shared.id])
    assert [(e["taskId"], e["seq"]) for e in reply["events"]] == [(task.id, 1)]
    assert "c-a" in _topic_connections(project_topic(mine.id))
    assert "c-a" in _topic_connections(project_topic(shared.id))
    assert "c-a" not in _topic_connections(project_topic(theirs.id))
    assert _topic_connections(scope_topic(alice.user_id)) == {"c-a"}


def test_scope_all_is_its_own_target() -> None:
    for body in (
        {"action": "subscribe", "scope": "everything"},
        {"action": "subscribe", "scope": "all", "projectId": "prj_x"},
    ):
        reply = websocket.message("c-none", json.dumps(body))
        assert reply["type"] == "error"
        assert reply["code"] == "validation_error"


def test_a_project_created_later_is_granted_and_announced(realtime: Realtime) -> None:
    alice = _user("usr_alice")
    _connect("c-a", alice)
    _connect("c-other", alice)  # the same user's socket without scope all
    assert _send("c-a", action="subscribe", scope="all")["projectIds"] == []

    created = projects.create_project(alice, ProjectCreate(name="Later"))

    assert _topic_connections(project_topic(created.id)) == {"c-a"}
    [message] = _project_messages(realtime, "c-a")
    assert message["change"] == "created"
    assert message["projectId"] == created.id
    assert message["project"]["name"] == "Later"
    assert message["project"]["memberIds"] == [alice.user_id]
    assert _project_messages(realtime, "c-other") == []
    # Its tasks' events now reach the scope-all socket through the project topic.
    task = seed_task(Project.get(created.id))
    event = telemetry.record_external(task_id=task.id, kind="log", message="hi", actor="w")
    telemetry_to_a = [m for m in realtime.mgmt.messages_to("c-a") if m.get("type") == "telemetry"]
    assert [(m["taskId"], m["seq"]) for m in telemetry_to_a] == [(task.id, event.seq)]


def test_joining_later_grants_leaving_drops_and_both_are_announced(realtime: Realtime) -> None:
    owner, member = _user("usr_owner"), _user("usr_member")
    project = projects.create_project(owner, ProjectCreate(name="Team"))
    _connect("c-owner", owner)
    _send("c-owner", action="subscribe", scope="all")
    _connect("c-m", member)
    _send("c-m", action="subscribe", scope="all")
    task = seed_task(Project.get(project.id))

    projects.add_member(owner, project.id, member.user_id)

    assert "c-m" in _topic_connections(project_topic(project.id))
    joined = [m for m in _project_messages(realtime, "c-m") if m["change"] == "joined"]
    assert [m["projectId"] for m in joined] == [project.id]
    owner_heard = _project_messages(realtime, "c-owner")
    assert [m["change"] for m in owner_heard] == ["updated"]
    assert owner_heard[0]["project"]["memberIds"] == [owner.user_id, member.user_id]

    _send("c-m", action="subscribe", taskId=task.id)
    projects.remove_member(owner, project.id, member.user_id)

    assert "c-m" not in _topic_connections(project_topic(project.id))
    assert "c-m" not in _topic_connections(task_topic(task.id))
    assert _topic_connections(scope_topic(member.user_id)) == {"c-m"}  # still scope all
    assert _project_messages(realtime, "c-m")[-1]["change"] == "left"
    assert _project_messages(realtime, "c-owner")[-1]["project"]["memberIds"] == [owner.user_id]


def test_rename_and_delete_reach_the_project_subscribers(realtime: Realtime) -> None:
    owner = _user("usr_owner")
    project = projects.create_project(owner, ProjectCreate(name="Old name"))
    _connect("c-owner", owner)
    _send("c-owner", action="subscribe", scope="all")

    projects.update_project(
        owner, project.id, ProjectUpdate(name="New name"), version=project.version
    )
    projects.delete_project(owner, project.id)

    changes = [
        (m["change"], m.get("project", {}).get("name"))
        for m in _project_messages(realtime, "c-owner")
    ]
    assert changes == [("updated", "New name"), ("deleted", None)]


def test_unsubscribing_a_member_project_keeps_it_under_scope_all(realtime: Realtime) -> None:
    alice = _user("usr_alice")
    project = projects.create_project(alice, ProjectCreate(name="Kept"))
    _connect("c-a", alice)
    _send("c-a", action="subscribe", scope="all")

    # A screen that subscribed and leaves again must not take the project from scope all.
    _send("c-a", action="subscribe", projectId=project.id)
    reply = _send("c-a", action="unsubscribe", projectId=project.id)
    assert reply == {"type": "unsubscribed", "projectId": project.id, "scope": "all"}
    assert "c-a" in _topic_connections(project_topic(project.id))

    assert _send("c-a", action="unsubscribe", scope="all") == {
        "type": "unsubscribed",
        "scope": "all",
    }
    assert _topic_connections(project_topic(project.id)) == set()
    assert _topic_connections(scope_topic(alice.user_id)) == set()
    # Without scope all, unsubscribing a project drops it as before.
    _send("c-a", action="subscribe", projectId=project.id)
    _send("c-a", action="unsubscribe", projectId=project.id)
    assert _topic_connections(project_topic(project.id)) == set()


def test_disconnect_removes_the_scope_rows(realtime: Realtime) -> None:
    alice = _user("usr_alice")
    project = projects.create_project(alice, ProjectCreate(name="Gone"))
    _connect("c-a", alice)
    _send("c-a", action="subscribe", scope="all")
    websocket.disconnect("c-a")
    assert _topic_connections(scope_topic(alice.user_id)) == set()
    assert _topic_connections(project_topic(project.id)) == set()
    # A project created afterwards is granted to nobody.
    later = projects.create_project(alice, ProjectCreate(name="After"))
    assert _topic_connections(project_topic(later.id)) == set()


def test_a_failing_announcement_does_not_fail_the_change(
    realtime: Realtime, monkeypatch: Any
) -> None:
    alice = _user("usr_alice")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("management API down")

    monkeypatch.setattr(websocket, "grant_project", broken)
    created = projects.create_project(alice, ProjectCreate(name="Still created"))
    assert projects.get_project(alice, created.id).name == "Still created"


def test_project_message_shape() -> None:
    message = websocket.project_message("left", "prj_1", actor="usr_a")
    assert set(message) == {"type", "change", "projectId", "actor", "at"}
    assert message["type"] == "project"
