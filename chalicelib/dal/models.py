"""The core tables. Every list the API serves is a Query on a key or one of these GSIs.

Timestamps are ISO 8601 strings (``chalicelib.clock``), so they sort as range keys.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.dal.base import TableMeta, table_name
from chalicelib.dal.json_attribute import Utf8JSONAttribute

# A constant partition for "all of a kind" indexes (admin lists). Small by nature.
KIND_USER = "user"
KIND_PROJECT = "project"


class UsersByCreated(GlobalSecondaryIndex["User"]):
    class Meta:
        index_name = "by-kind-created"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class User(Model):
    class Meta(TableMeta):
        table_name = table_name("users")

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=KIND_USER)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()  # admin | member
    password_hash = UnicodeAttribute()
    # A disabled user cannot log in, refresh, or use access tokens, API keys or tickets.
    disabled = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_created = UsersByCreated()


class UserEmail(Model):
    """Uniqueness of email, enforced by a conditional put in the same transaction as the user."""

    class Meta(TableMeta):
        table_name = table_name("user-emails")

    email = UnicodeAttribute(hash_key=True)  # normalised: stripped, lower-case
    user_id = UnicodeAttribute()


class ProjectsByCreated(GlobalSecondaryIndex["Project"]):
    class Meta:
        index_name = "by-kind-created"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Project(Model):
    class Meta(TableMeta):
        table_name = table_name("projects")

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=KIND_PROJECT)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    owner_id = UnicodeAttribute()
    # The elements are str; pynamodb types ``of`` as the element type (true only of maps).
    member_ids = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_created = ProjectsByCreated()


class ProjectMember(Model):
    """Projects by member: Query on ``user_id``, then BatchGet the projects."""

    class Meta(TableMeta):
        table_name = table_name("project-members")

    user_id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute(range_key=True)
    created_at = UnicodeAttribute()


class TasksByProject(GlobalSecondaryIndex["Task"]):
    class Meta:
        index_name = "by-project"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class TasksByProjectStatus(GlobalSecondaryIndex["Task"]):
    class Meta:
        index_name = "by-project-status"
        projection = AllProjection()

    project_status = UnicodeAttribute(hash_key=True)  # project_status_key(project, status)
    created_at = UnicodeAttribute(range_key=True)


def project_status_key(project_id: str, status: str) -> str:
    """A task's partition key in the by-project-status index (and its ``project_status``)."""
    return f"{project_id}#{status}"


class TasksByProjectStatusUpdated(GlobalSecondaryIndex["Task"]):
    """A board column sorted by last change (``GET /tasks?sort=updated``)."""

    class Meta:
        index_name = "by-project-status-updated"
        projection = AllProjection()

    project_status = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class TasksByProjectStatusDuration(GlobalSecondaryIndex["Task"]):
    """A column of finished tasks sorted by run time (``GET /tasks?sort=duration``). Sparse:
    only tasks in a terminal status carry ``duration_ms`` (``chalicelib.logic.lifecycle``)."""

    class Meta:
        index_name = "by-project-status-duration"
        projection = AllProjection()

    project_status = UnicodeAttribute(hash_key=True)
    duration_ms = NumberAttribute(range_key=True)


class TasksByAssignee(GlobalSecondaryIndex["Task"]):
    class Meta:
        index_name = "by-assignee"
        projection = AllProjection()

    assignee_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class TasksByStatus(GlobalSecondaryIndex["Task"]):
    """For the sweeper: running tasks, oldest update first."""

    class Meta:
        index_name = "by-status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class Task(Model):
    class Meta(TableMeta):
        table_name = table_name("tasks")

    id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    project_status = UnicodeAttribute()
    title = UnicodeAttribute()
    instruction = UnicodeAttribute(default="")
    input = Utf8JSONAttribute(null=True)  # inline; a large input is in S3 (input_ref)
    input_ref = UnicodeAttribute(null=True)  # S3 key of an input too large to inline
    params = Utf8JSONAttribute(default=dict)
    module = UnicodeAttribute(null=True)
    assignee_id = UnicodeAttribute(null=True)
    priority = UnicodeAttribute(default="normal")  # low | normal | high | urgent
    status = UnicodeAttribute()
    route = Utf8JSONAttribute(null=True)
    result = Utf8JSONAttribute(null=True)
    result_ref = UnicodeAttribute(null=True)  # S3 key when the result is over the inline limit
    error = Utf8JSONAttribute(null=True)
    attempts = NumberAttribute(default=1)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    # finished_at - started_at in ms (0 for a task that never ran), set on entering a terminal
    # status and removed by a retry: the sort key of the by-project-status-duration index.
    duration_ms = NumberAttribute(null=True)
    # Dispatch bookkeeping (not part of the API shape).
    lease_owner = UnicodeAttribute(null=True)
    lease_expires_at = NumberAttribute(null=True)
    cancel_requested = BooleanAttribute(default=False)
    # Why a queued task waits for a place (chalicelib.logic.admission): code, message, since.
    waiting = Utf8JSONAttribute(null=True)
    # Times the sweeper re-sent the dispatch message of this queued attempt (none claimed it).
    redrives = NumberAttribute(null=True)
    last_seq = NumberAttribute(default=0)  # highest activity seq written for this task
    # Id of the last write that reserved seqs (chalicelib.dal.task_updates): a write DynamoDB
    # applied but whose answer was lost (a 5xx, retried) recognises itself by it.
    write_id = UnicodeAttribute(null=True)
    version = VersionAttribute()

    by_project = TasksByProject()
    by_project_status = TasksByProjectStatus()
    by_project_status_updated = TasksByProjectStatusUpdated()
    by_project_status_duration = TasksByProjectStatusDuration()
    by_assignee = TasksByAssignee()
    by_status = TasksByStatus()


class Activity(Model):
    """A task's telemetry events; ``seq`` starts at 1 and strictly increases per task."""

    class Meta(TableMeta):
        table_name = table_name("activity")

    task_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    project_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # chalicelib.models.tasks.EventKind
    status = UnicodeAttribute()
    progress = NumberAttribute(null=True)
    message = UnicodeAttribute(default="")
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    data = Utf8JSONAttribute(null=True)


class FilesByTask(GlobalSecondaryIndex["File"]):
    class Meta:
        index_name = "by-task"
        projection = AllProjection()

    task_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class FilesByProject(GlobalSecondaryIndex["File"]):
    """Every file of a project (uploads to it and to its tasks): purging a deleted project."""

    class Meta:
        index_name = "by-project"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class File(Model):
    """An uploaded object. Uploaded to a task (``task_id`` set at once) or to a project first
    (``task_id`` unset until ``POST /tasks`` takes it as its input; the by-task GSI is sparse)."""

    class Meta(TableMeta):
        table_name = table_name("files")

    id = UnicodeAttribute(hash_key=True)
    task_id = UnicodeAttribute(null=True)
    project_id = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    # S3 object key, chosen by the server: the upload key while pending, the write-once final
    # copy (files/{project}/{file}) once ready (chalicelib/logic/files.py).
    key = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")  # pending | ready | rejected
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Set while pending or rejected, removed when ready: abandoned records go the way their
    # objects go (the bucket expires objects still tagged pending after a day).
    expires_at = TTLAttribute(null=True)

    by_task = FilesByTask()
    by_project = FilesByProject()


# The one partition of ``ProjectPurge``: pending purges are one Query, never a Scan.
PURGE_PARTITION = "purge"


class ProjectPurge(Model):
    """A deleted project whose tasks, files and subscriptions are still being removed.

    Written in the same transaction that deletes the project, deleted when nothing of the
    project is left (``chalicelib.logic.purge``). Few at a time by nature, so one partition.
    """

    class Meta(TableMeta):
        table_name = table_name("project-purges")

    kind = UnicodeAttribute(hash_key=True, default=PURGE_PARTITION)
    project_id = UnicodeAttribute(range_key=True)
    deleted_by = UnicodeAttribute()
    deleted_at = UnicodeAttribute()
    deleted_epoch = NumberAttribute()  # when the project went, in epoch seconds
    # Memberships the deleting transaction had no room for (it holds at most 100 items).
    # The elements are str; pynamodb types ``of`` as the element type (true only of maps).
    member_ids = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]


class IdempotencyRecord(Model):
    """``POST /tasks`` with an ``Idempotency-Key``: written in the same transaction as the task,
    so a retried request finds the task it created (same body) or a conflict (other body)."""

    class Meta(TableMeta):
        table_name = table_name("idempotency")

    key = UnicodeAttribute(hash_key=True)  # "{user_id}#{Idempotency-Key}": scoped per user
    request_hash = UnicodeAttribute()  # sha256 of the canonical request body
    task_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute()
