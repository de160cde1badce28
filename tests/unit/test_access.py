"""Who may see what (chalicelib/logic/access.py), over moto: members and admins see a project,
its tasks and files; anyone else gets "not found" with the kind of object named; only the owner
or an admin passes the owner check, and a member is told why (403), not "not found"."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.auth.principal import Principal
from chalicelib.errors import Forbidden, NotFound

OWNER = Principal("usr_owner", "member")
MEMBER = Principal("usr_member", "member")
OUTSIDER = Principal("usr_outsider", "member")
ADMIN = Principal("usr_admin", "admin")


@pytest.fixture
def world(aws: None) -> dict[str, Any]:
    from chalicelib.dal.models import File, Project, Task, project_status_key

    stamp = "2026-01-01T00:00:00.000Z"
    project = Project(
        id="prj_a",
        kind="project",
        name="A",
        owner_id=OWNER.user_id,
        member_ids=[OWNER.user_id, MEMBER.user_id],
        created_at=stamp,
        updated_at=stamp,
    )
    project.save()
    bare = Project(
        id="prj_bare",
        kind="project",
        name="B",
        owner_id="usr_gone",
        created_at=stamp,
        updated_at=stamp,
    )
    bare.save()  # no member list at all (an item written before it existed)
    task = Task(
        id="tsk_a",
        project_id=project.id,
        title="t",
        instruction="count",
        status="queued",
        project_status=project_status_key(project.id, "queued"),
        created_by=OWNER.user_id,
        created_at=stamp,
        updated_at=stamp,
    )
    task.save()
    item = File(
        id="fil_a",
        project_id=project.id,
        task_id=task.id,
        filename="a.txt",
        content_type="text/plain",
        size=3,
        key="k",
        created_by=OWNER.user_id,
        created_at=stamp,
        updated_at=stamp,
    )
    item.save()
    return {"project": project, "bare": bare, "task": task, "file": item}


def _not_found(call: Any, code: str, message: str) -> None:
    with pytest.raises(NotFound) as info:
        call()
    assert (info.value.code, info.value.message, info.value.status) == (code, message, 404)


@pytest.mark.parametrize("who", [OWNER, MEMBER, ADMIN], ids=["owner", "member", "admin"])
def test_members_and_admins_see_the_project_its_tasks_and_files(
    world: dict[str, Any], who: Principal
) -> None:
    from chalicelib.logic import access

    assert access.can_see_project(who, world["project"]) is True
    assert access.get_project_for(who, "prj_a").id == "prj_a"
    assert access.get_task_for(who, "tsk_a").id == "tsk_a"
    assert access.get_file_for(who, "fil_a").id == "fil_a"


def test_an_outsider_is_told_not_found_for_each_kind(world: dict[str, Any]) -> None:
    from chalicelib.logic import access

    assert access.can_see_project(OUTSIDER, world["project"]) is False
    _not_found(
        lambda: access.get_project_for(OUTSIDER, "prj_a"), "project_not_found", "Project not found."
    )
    _not_found(lambda: access.get_task_for(OUTSIDER, "tsk_a"), "task_not_found", "Task not found.")
    _not_found(lambda: access.get_file_for(OUTSIDER, "fil_a"), "file_not_found", "File not found.")


@pytest.mark.parametrize("who", [OWNER, ADMIN], ids=["owner", "admin"])
def test_missing_objects_are_not_found_for_everyone(world: dict[str, Any], who: Principal) -> None:
    from chalicelib.logic import access

    _not_found(
        lambda: access.get_project_for(who, "prj_x"), "project_not_found", "Project not found."
    )
    _not_found(lambda: access.get_task_for(who, "tsk_x"), "task_not_found", "Task not found.")
    _not_found(lambda: access.get_file_for(who, "fil_x"), "file_not_found", "File not found.")


def test_a_project_without_members_is_the_admins_alone(world: dict[str, Any]) -> None:
    from chalicelib.logic import access

    assert access.can_see_project(ADMIN, world["bare"]) is True
    assert access.can_see_project(Principal("usr_gone", "member"), world["bare"]) is False
    _not_found(
        lambda: access.get_project_for(OWNER, "prj_bare"), "project_not_found", "Project not found."
    )


def test_only_the_owner_or_an_admin_passes_the_owner_check(world: dict[str, Any]) -> None:
    from chalicelib.logic import access

    project = world["project"]
    assert access.require_owner(OWNER, project) is None
    assert access.require_owner(ADMIN, project) is None
    for who in (MEMBER, OUTSIDER):
        with pytest.raises(Forbidden) as info:
            access.require_owner(who, project)
        assert (info.value.status, info.value.code) == (403, "forbidden")
        assert info.value.message == "Only the project owner or an admin can do this."


def test_an_admin_sees_tasks_and_files_of_a_project_that_is_gone(world: dict[str, Any]) -> None:
    """The admin check comes first: a task or file whose project was deleted (purge under way)
    is still the admin's to see, and nobody else's."""
    from chalicelib.dal.models import Project
    from chalicelib.logic import access

    Project.get("prj_a").delete()
    assert access.get_task_for(ADMIN, "tsk_a").id == "tsk_a"
    assert access.get_file_for(ADMIN, "fil_a").id == "fil_a"
    _not_found(lambda: access.get_task_for(OWNER, "tsk_a"), "task_not_found", "Task not found.")
    _not_found(lambda: access.get_file_for(OWNER, "fil_a"), "file_not_found", "File not found.")
