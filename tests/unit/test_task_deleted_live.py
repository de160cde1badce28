"""Deleting a task tells open consoles: ``{"type": "task", "change": "deleted"}`` to the
subscribers of the task and of its project, before the task's subscriptions go."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_epoch
from chalicelib.dal.models import Project
from chalicelib.dal.realtime_models import Subscription, project_topic, task_topic
from chalicelib.logic import tasks, websocket
from tests.unit.realtime_fakes import Realtime, realtime, seed_project, seed_task

__all__ = ["realtime"]


def _subscribe(topic: str, connection_id: str, project_id: str) -> None:
    Subscription(
        topic,
        connection_id,
        user_id="usr_owner",
        project_id=project_id,
        created_at=now_epoch(),
        expires_at=timedelta(hours=1),
    ).save()


def test_deleting_a_task_tells_its_and_its_projects_subscribers(realtime: Realtime) -> None:
    project = seed_project()
    task = seed_task(project)
    other = seed_task(seed_project())
    _subscribe(project_topic(project.id), "c-board", project.id)
    _subscribe(task_topic(task.id), "c-detail", project.id)
    _subscribe(project_topic(other.project_id), "c-elsewhere", other.project_id)

    tasks.delete_task(Principal(user_id="usr_owner", role="member"), task.id)

    for connection_id in ("c-board", "c-detail"):
        [message] = [m for m in realtime.mgmt.messages_to(connection_id) if m.get("type") == "task"]
        assert message["change"] == "deleted"
        assert message["taskId"] == task.id
        assert message["projectId"] == project.id
        assert message["actor"] == "usr_owner"
        assert message["at"]
    assert [m for m in realtime.mgmt.messages_to("c-elsewhere") if m.get("type") == "task"] == []
    # The task's own subscriptions went with it; the project's stay.
    assert list(Subscription.query(task_topic(task.id))) == []
    assert [s.connection_id for s in Subscription.query(project_topic(project.id))] == ["c-board"]
    assert Project.get(project.id)


def test_a_deletion_message_failing_does_not_fail_the_delete(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = seed_project()
    task = seed_task(project)

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("management API down")

    monkeypatch.setattr(websocket, "publish_task_change", broken)
    tasks.delete_task(Principal(user_id="usr_owner", role="member"), task.id)
    assert list(Subscription.query(task_topic(task.id))) == []


def test_task_message_shape_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown task change"):
        websocket.task_message("renamed", "tsk_1", "prj_1", actor="usr_1")
