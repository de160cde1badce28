"""Projects and their members.

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.rest import (
    NEXT_PAGE,
    RESPONSE_ID,
    RESPONSE_VERSION,
    ApiBlueprint,
    Call,
    M,
    link,
)

if TYPE_CHECKING:
    from chalicelib.models.projects import ProjectList, ProjectOut

bp = ApiBlueprint(__name__)

# What a client does next with a project it got back (the OpenAPI document's links).
_PROJECT = {"path.project_id": RESPONSE_ID}
PROJECT_LINKS = (
    link("getProject", _PROJECT),
    link("updateProject", {**_PROJECT, "header.If-Match": RESPONSE_VERSION}),
    link("deleteProject", _PROJECT),
    link("createProjectFile", _PROJECT),
    link("addProjectMember", {**_PROJECT, "path.user_id": "$response.body#/ownerId"}),
    link("removeProjectMember", _PROJECT),
    link("createTask", projectId=RESPONSE_ID),
    link("createTask", projectId=RESPONSE_ID, assigneeId="$response.body#/ownerId"),
    link("createTaskAlias", projectId=RESPONSE_ID),
    link("listTasks", {"query.projectId": RESPONSE_ID}),
    link("getStats", {"query.projectId": RESPONSE_ID}),
    link("listReviews", {"query.projectId": RESPONSE_ID}),
)


@bp.endpoint(
    "POST",
    "/projects",
    name="createProject",
    summary="Create a project (caller owns it)",
    tags=("projects",),
    body=M("projects:ProjectCreate"),
    response=M("projects:ProjectOut"),
    status=201,
    links=PROJECT_LINKS,
)
def create_project(call: Call) -> ProjectOut:
    from chalicelib.logic import projects  # deferred: cold start (see chalicelib.api)

    return projects.create_project(call.user, call.body)


@bp.endpoint(
    "GET",
    "/projects",
    name="listProjects",
    summary="Projects the caller belongs to (admin: all)",
    tags=("projects",),
    query=M("base:ListQuery"),
    response=M("projects:ProjectList"),
    links=(link("listProjects", NEXT_PAGE),),
)
def list_projects(call: Call) -> ProjectList:
    from chalicelib.logic import projects  # deferred: cold start (see chalicelib.api)

    return projects.list_projects(call.user, limit=call.query.limit, cursor=call.query.cursor)


@bp.endpoint(
    "GET",
    "/projects/{project_id}",
    name="getProject",
    summary="A project",
    tags=("projects",),
    response=M("projects:ProjectOut"),
    links=PROJECT_LINKS,
)
def get_project(call: Call) -> ProjectOut:
    from chalicelib.logic import projects  # deferred: cold start (see chalicelib.api)

    return projects.get_project(call.user, call.path("project_id"))


@bp.endpoint(
    "PATCH",
    "/projects/{project_id}",
    name="updateProject",
    summary="Rename or describe",
    tags=("projects",),
    body=M("projects:ProjectUpdate"),
    response=M("projects:ProjectOut"),
    if_match=True,
    links=PROJECT_LINKS,
)
def update_project(call: Call) -> ProjectOut:
    from chalicelib.logic import projects  # deferred: cold start (see chalicelib.api)

    return projects.update_project(
        call.user,
        call.path("project_id"),
        call.body,
        version=call.if_match,
    )


@bp.endpoint(
    "DELETE",
    "/projects/{project_id}",
    name="deleteProject",
    summary="Delete (owner, admin)",
    tags=("projects",),
    status=204,
    errors=(403, 409),
)
def delete_project(call: Call) -> None:
    from chalicelib.logic import projects  # deferred: cold start (see chalicelib.api)

    projects.delete_project(call.user, call.path("project_id"))


@bp.endpoint(
    "PUT",
    "/projects/{project_id}/members/{user_id}",
    name="addProjectMember",
    summary="Add a member (owner, admin)",
    tags=("projects",),
    response=M("projects:ProjectOut"),
    errors=(403, 409),
)
def add_member(call: Call) -> ProjectOut:
    from chalicelib.logic import projects  # deferred: cold start (see chalicelib.api)

    return projects.add_member(call.user, call.path("project_id"), call.path("user_id"))


@bp.endpoint(
    "DELETE",
    "/projects/{project_id}/members/{user_id}",
    name="removeProjectMember",
    summary="Remove a member (owner, admin)",
    tags=("projects",),
    response=M("projects:ProjectOut"),
    errors=(403, 409),
)
def remove_member(call: Call) -> ProjectOut:
    from chalicelib.logic import projects  # deferred: cold start (see chalicelib.api)

    return projects.remove_member(call.user, call.path("project_id"), call.path("user_id"))
