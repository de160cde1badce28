"""Who may see what. Others' objects are always "not found", never "forbidden".

Membership is checked against ``Project.member_ids`` (one GetItem); the ProjectMember table
mirrors it for "projects of a user" queries and is written in the same transactions.
"""

from __future__ import annotations

from chalicelib.auth.principal import Principal
from chalicelib.dal.models import File, Project, Task
from chalicelib.errors import Forbidden, NotFound


def can_see_project(principal: Principal, project: Project) -> bool:
    return principal.is_admin or principal.user_id in (project.member_ids or [])


def get_project_for(principal: Principal, project_id: str) -> Project:
    try:
        project = Project.get(project_id)
    except Project.DoesNotExist:
        raise NotFound("Project not found.", code="project_not_found") from None
    if not can_see_project(principal, project):
        raise NotFound("Project not found.", code="project_not_found")
    return project


def require_owner(principal: Principal, project: Project) -> None:
    """Owner-only actions (delete, membership). Members get 403: they can see the project."""
    if not (principal.is_admin or project.owner_id == principal.user_id):
        raise Forbidden("Only the project owner or an admin can do this.")


def get_task_for(principal: Principal, task_id: str) -> Task:
    try:
        task = Task.get(task_id)
    except Task.DoesNotExist:
        raise NotFound("Task not found.", code="task_not_found") from None
    if not principal.is_admin:
        try:
            get_project_for(principal, task.project_id)
        except NotFound:
            raise NotFound("Task not found.", code="task_not_found") from None
    return task


def get_file_for(principal: Principal, file_id: str) -> File:
    try:
        item = File.get(file_id)
    except File.DoesNotExist:
        raise NotFound("File not found.", code="file_not_found") from None
    if not principal.is_admin:
        try:
            get_project_for(principal, item.project_id)
        except NotFound:
            raise NotFound("File not found.", code="file_not_found") from None
    return item
