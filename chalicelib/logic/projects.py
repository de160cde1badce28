"""Projects: owner + members. ``Project.member_ids`` and the ProjectMember rows change together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_epoch, now_iso
from chalicelib.dal.models import KIND_PROJECT, Project, ProjectMember, ProjectPurge
from chalicelib.dal.transactions import failed_conditions, transact_write
from chalicelib.errors import Conflict, PreconditionFailed
from chalicelib.ids import new_id
from chalicelib.logic.access import get_project_for, require_owner
from chalicelib.logic.paging import query_page
from chalicelib.logic.users import get_user
from chalicelib.models.projects import ProjectCreate, ProjectList, ProjectOut, ProjectUpdate

log = logging.getLogger(__name__)

# DynamoDB transactions hold at most 100 items: deleting a project writes the project row, its
# purge marker and one row per member.
MAX_MEMBERS = 98
_MEMBERS_PER_DELETE = 98
_RETRIES = 3  # membership edits re-read and retry when another edit won the race


def project_out(project: Project) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        name=project.name,
        description=project.description or "",
        owner_id=project.owner_id,
        member_ids=list(project.member_ids or []),
        created_at=project.created_at,
        updated_at=project.updated_at,
        version=project.version or 0,
    )


def create_project(principal: Principal, data: ProjectCreate) -> ProjectOut:
    now = now_iso()
    project = Project(
        id=new_id("prj"),
        kind=KIND_PROJECT,
        name=data.name,
        description=data.description,
        owner_id=principal.user_id,
        member_ids=[principal.user_id],
        created_at=now,
        updated_at=now,
    )
    with transact_write() as tx:
        tx.save(project)
        tx.save(
            ProjectMember(user_id=principal.user_id, project_id=project.id, created_at=now),
        )
    out = project_out(project)
    _live(
        lambda ws: ws.grant_project(
            principal.user_id,
            out.to_json(),
            change="created",
            actor=principal.user_id,
        )
    )
    return out


def get_project(principal: Principal, project_id: str) -> ProjectOut:
    return project_out(get_project_for(principal, project_id))


def list_projects(principal: Principal, *, limit: int | None, cursor: str | None) -> ProjectList:
    if principal.is_admin:
        items, next_cursor = query_page(
            lambda **kw: Project.by_created.query(KIND_PROJECT, **kw),
            scope="projects:all",
            limit=limit,
            cursor=cursor,
        )
        return ProjectList(items=[project_out(p) for p in items], next_cursor=next_cursor)
    rows, next_cursor = query_page(
        lambda **kw: ProjectMember.query(principal.user_id, **kw),
        scope=f"projects:member:{principal.user_id}",
        limit=limit,
        cursor=cursor,
    )
    projects = {p.id: p for p in Project.batch_get([r.project_id for r in rows])} if rows else {}
    ordered = [projects[r.project_id] for r in rows if r.project_id in projects]
    return ProjectList(items=[project_out(p) for p in ordered], next_cursor=next_cursor)


def update_project(
    principal: Principal, project_id: str, data: ProjectUpdate, *, version: int
) -> ProjectOut:
    project = get_project_for(principal, project_id)
    if project.version != version:
        raise PreconditionFailed("The project changed since you read it.")
    actions: list[Action] = [Project.updated_at.set(now_iso())]
    if data.name is not None:
        actions.append(Project.name.set(data.name))
    if data.description is not None:
        actions.append(Project.description.set(data.description))
    try:
        project.update(actions=actions)  # conditional on the version read (== If-Match)
    except Exception as exc:
        if _is_condition_failure(exc):
            raise PreconditionFailed("The project changed since you read it.") from exc
        raise
    out = project_out(project)
    _live(
        lambda ws: ws.publish_project_change(
            "updated",
            project.id,
            actor=principal.user_id,
            project=out.to_json(),
        )
    )
    return out


def delete_project(principal: Principal, project_id: str) -> None:
    """Delete the project and its memberships and record its purge, in one transaction; then
    remove a first small batch of its tasks, files and subscriptions (the sweeper does the
    rest, see ``chalicelib.logic.purge``)."""
    project = get_project_for(principal, project_id)
    require_owner(principal, project)
    members = list(project.member_ids or [])
    now = now_iso()
    marker = ProjectPurge(
        project_id=project.id,
        deleted_by=principal.user_id,
        deleted_at=now,
        deleted_epoch=now_epoch(),
        # A project from before MAX_MEMBERS was 98 may have one member more than fits.
        member_ids=members[_MEMBERS_PER_DELETE:],
    )
    try:
        with transact_write() as tx:
            tx.delete(project)  # conditional on the version read
            for member_id in members[:_MEMBERS_PER_DELETE]:
                tx.delete(ProjectMember(user_id=member_id, project_id=project.id))
            tx.save(marker)
    except TransactWriteError as exc:
        if any(failed_conditions(exc)):
            raise Conflict("The project changed while deleting; try again.") from exc
        raise
    # Before the purge removes the project topic's subscriptions.
    _live(lambda ws: ws.publish_project_change("deleted", project.id, actor=principal.user_id))
    from chalicelib.logic import purge  # lazily: only deletes need it

    try:
        purge.purge_project(project.id)
    except Exception:  # the project is gone either way; the sweeper carries on
        log.exception("first purge batch of project %s failed", project.id)


def add_member(principal: Principal, project_id: str, user_id: str) -> ProjectOut:
    get_user(user_id)  # 404 for an unknown user
    for _ in range(_RETRIES):
        project = get_project_for(principal, project_id)
        require_owner(principal, project)
        members = list(project.member_ids or [])
        if user_id in members:
            return project_out(project)
        if len(members) >= MAX_MEMBERS:
            raise Conflict(f"A project has at most {MAX_MEMBERS} members.", code="too_many_members")
        now = now_iso()
        try:
            with transact_write() as tx:
                tx.update(
                    project,
                    actions=[
                        Project.member_ids.set([*members, user_id]),
                        Project.updated_at.set(now),
                    ],
                )
                tx.save(ProjectMember(user_id=user_id, project_id=project.id, created_at=now))
        except TransactWriteError as exc:
            if any(failed_conditions(exc)):
                continue
            raise
        return _members_changed(principal, project_id, joined=user_id)
    raise Conflict("The project is being changed concurrently; try again.")


def remove_member(principal: Principal, project_id: str, user_id: str) -> ProjectOut:
    for _ in range(_RETRIES):
        project = get_project_for(principal, project_id)
        require_owner(principal, project)
        if user_id == project.owner_id:
            raise Conflict("The owner cannot be removed from the project.", code="owner_required")
        members = list(project.member_ids or [])
        if user_id not in members:
            # Also on a repeated DELETE: one that failed after the transaction cleans up now.
            _stop_live_events(project.id, user_id, actor=principal.user_id)
            return project_out(project)
        try:
            with transact_write() as tx:
                tx.update(
                    project,
                    actions=[
                        Project.member_ids.set([m for m in members if m != user_id]),
                        Project.updated_at.set(now_iso()),
                    ],
                )
                tx.delete(ProjectMember(user_id=user_id, project_id=project.id))
        except TransactWriteError as exc:
            if any(failed_conditions(exc)):
                continue
            raise
        _stop_live_events(project.id, user_id, actor=principal.user_id)
        return _members_changed(principal, project_id)
    raise Conflict("The project is being changed concurrently; try again.")


def _members_changed(
    principal: Principal, project_id: str, *, joined: str | None = None
) -> ProjectOut:
    """The project after a membership change; open consoles hear of it (the newcomer's
    scope-all connections get the project, its subscribers the new member list)."""
    out = project_out(Project.get(project_id))
    data = out.to_json()
    if joined is not None:
        _live(lambda ws: ws.grant_project(joined, data, change="joined", actor=principal.user_id))
    _live(
        lambda ws: ws.publish_project_change(
            "updated", project_id, actor=principal.user_id, project=data
        )
    )
    return out


def _stop_live_events(project_id: str, user_id: str, *, actor: str) -> None:
    """A former member's sockets stop receiving the project's events (its topic and its tasks')
    and their scope-all connections hear that they left."""
    from chalicelib.logic import websocket  # lazily: REST cold start does not need it otherwise

    websocket.revoke_project(user_id, project_id, actor=actor)


def _live(tell: Callable[[ModuleType], object]) -> None:
    """Tell open consoles: ``tell(chalicelib.logic.websocket)``. Best effort: the change is
    written already, and a console that misses the message catches up when it reconnects."""
    from chalicelib.logic import websocket  # lazily, as above

    try:
        tell(websocket)
    except Exception:
        log.exception("live project message failed")


def _is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
