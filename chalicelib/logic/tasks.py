"""Tasks: create-and-dispatch, lists on GSIs, optimistic-locking edits, cancel and retry.

Status writes are conditional and reserve activity seqs in the same UpdateItem
(``chalicelib.logic.telemetry.transition``), so REST, dispatch and the sweeper never race on a
status or share a seq. Creation writes the task, its first event (seq 1) and the idempotency
record in one transaction, then sends ``{taskId, attempt}`` to the dispatch queue. When the input
is the id of a ready project upload (``POST /projects/{id}/files``), the same transaction attaches
that file to the new task, so the task never runs before its file is in place and a file is the
input of one task only. A PATCH of ``input`` to such a file attaches it the same way (released
again if the edit fails).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_iso
from chalicelib.config import get_settings
from chalicelib.dal.models import Activity, File, IdempotencyRecord, Project, ProjectMember, Task
from chalicelib.dal.transactions import failed_tables, transact_write
from chalicelib.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.ids import new_id
from chalicelib.logic.access import can_see_project, get_project_for, get_task_for
from chalicelib.logic.paging import query_page
from chalicelib.models.tasks import (
    ActivityList,
    TaskCreate,
    TaskList,
    TaskListQuery,
    TaskOut,
    TaskUpdate,
)

log = logging.getLogger(__name__)

IDEMPOTENCY_TTL_S = 24 * 3600
CANCELABLE_NOW = ("queued", "needs_review")
RETRYABLE = ("failed", "canceled")
# Content fields cannot change once a run picked them up (running) or produced a result.
CONTENT_EDITABLE = ("queued", "needs_review", "failed", "canceled")
CONTENT_FIELDS = ("instruction", "input", "params", "module")
_TRANSITION_RETRIES = 3
# What chalicelib.ids.new_id("fil") makes; anything else is plain text input.
_FILE_ID = re.compile(r"^fil_[0-9a-f]{20}$")


class InvalidState(Conflict):
    code = "invalid_state"


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        id=task.id,
        project_id=task.project_id,
        title=task.title,
        instruction=task.instruction or "",
        input=task.input,
        params=task.params or {},
        module=task.module,
        assignee_id=task.assignee_id,
        priority=task.priority,  # type: ignore[arg-type]
        status=task.status,  # type: ignore[arg-type]
        route=task.route,
        result=task.result,
        result_ref=task.result_ref,
        error=task.error,
        attempts=int(task.attempts or 1),
        cancel_requested=bool(task.cancel_requested),
        created_by=task.created_by,
        created_at=task.created_at,
        updated_at=task.updated_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        version=task.version or 0,
    )


# ------------------------------------------------------------------------------------ create


def _request_hash(data: TaskCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_assignee(project: Project, assignee_id: str | None) -> None:
    if assignee_id is not None and assignee_id not in (project.member_ids or []):
        raise ValidationFailed(
            "Invalid body field 'assigneeId': not a member of the project",
            details=[{"field": "assigneeId", "location": "body", "message": "not a member"}],
        )


def create_task(
    principal: Principal, data: TaskCreate, *, idempotency_key: str | None = None
) -> tuple[TaskOut, bool]:
    """Write and dispatch a task; returns (task, created). A replayed key returns the original."""
    queue_url = get_settings().dispatch_queue_url
    if not queue_url:
        raise ServiceUnavailable("Task dispatch is not configured.", code="dispatch_unconfigured")
    project = get_project_for(principal, data.project_id)
    # Default assignee: the creator, when they belong to the project (an admin may not).
    members = project.member_ids or []
    assignee = data.assignee_id or (principal.user_id if principal.user_id in members else None)
    _check_assignee(project, assignee)
    input_file = _input_file(principal, project.id, data.input)
    now = now_iso()
    task = Task(
        id=new_id("tsk"),
        project_id=project.id,
        project_status=f"{project.id}#queued",
        title=data.title or _title_from(data.instruction),
        instruction=data.instruction,
        input=data.input,
        params=data.params,
        module=data.module,
        assignee_id=assignee,
        priority=data.priority,
        status="queued",
        attempts=1,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        last_seq=1,
        cancel_requested=False,
    )
    first = Activity(
        task_id=task.id,
        seq=1,
        project_id=project.id,
        kind="status",
        status="queued",
        message="Task queued",
        at=now,
        actor=principal.user_id,
    )
    record = None
    if idempotency_key:
        record = IdempotencyRecord(
            key=f"{principal.user_id}#{idempotency_key}",
            request_hash=_request_hash(data),
            task_id=task.id,
            created_at=now,
            expires_at=timedelta(seconds=IDEMPOTENCY_TTL_S),
        )
    tx = transact_write()
    try:
        with tx:
            if record is not None:
                # An expired record (TTL deletion lags) no longer reserves the key.
                tx.save(
                    record,
                    condition=IdempotencyRecord.key.does_not_exist()
                    | (IdempotencyRecord.expires_at < datetime.now(UTC)),
                )
            # Not into a project deleted since the read: its purge would never see the task.
            tx.condition_check(Project, project.id, condition=Project.id.exists())
            tx.save(task)
            tx.save(first, condition=Activity.seq.does_not_exist())
            if input_file is not None:
                # Taken by this task only if still ready, unattached and in this project.
                tx.update(
                    input_file,
                    actions=[File.task_id.set(task.id), File.updated_at.set(now)],
                    condition=(File.status == "ready")
                    & File.task_id.does_not_exist()
                    & (File.project_id == project.id),
                )
    except TransactWriteError as exc:
        failed = failed_tables(tx, exc)
        if record is not None and IdempotencyRecord.Meta.table_name in failed:
            # A replay: the original request already took the file (if any).
            return _replay(principal, record), False
        if Project.Meta.table_name in failed:
            raise NotFound("Project not found.", code="project_not_found") from exc
        if input_file is not None:
            _refuse_file(input_file.id, exc)
        raise
    _publish([_event_of(first)], first=True)
    _enqueue(task.id, 1)
    return task_out(task), True  # the transaction set version 1 on our copy


class FileUnavailable(Conflict):
    code = "file_unavailable"


def _input_file(principal: Principal, project_id: str, value: Any) -> File | None:
    """The project upload ``value`` names, if the caller can see it; ``None`` = plain input.

    A string that looks like a file id but names no file the caller can see stays plain text,
    exactly as before, so the answer never tells whether others' files exist. The file's state
    (ready, unattached) is checked by the transaction's condition, not here.
    """
    if not isinstance(value, str) or not _FILE_ID.match(value.strip()):
        return None
    try:
        item = File.get(value.strip(), consistent_read=True)  # just completed: read it as is
    except File.DoesNotExist:
        return None
    if item.project_id != project_id:
        if principal.is_admin or _sees_project_of(principal, item):
            raise ValidationFailed(
                "Invalid body field 'input': that file belongs to another project; upload it "
                "to this project.",
                details=[{"field": "input", "location": "body", "message": "other project"}],
                code="file_in_other_project",
            )
        return None
    return item


def _sees_project_of(principal: Principal, item: File) -> bool:
    try:
        return can_see_project(principal, Project.get(item.project_id))
    except Project.DoesNotExist:
        return False


def _refuse_file(file_id: str, exc: TransactWriteError) -> None:
    """Say why the transaction could not take the file (raises when it is the file's fault)."""
    refusal = _file_refusal(file_id)
    if refusal is not None:
        raise refusal from exc
    reasons = {r.code for r in (exc.cancellation_reasons or []) if r is not None}
    if "TransactionConflict" in reasons:
        raise FileUnavailable(
            f"Another request is using the input file {file_id} right now; try again.",
            code="file_busy",
        ) from exc


def _file_refusal(file_id: str, *, task_id: str | None = None) -> FileUnavailable | None:
    """Why the file cannot become the input of a (new, or ``task_id``) task; None if it can."""
    try:
        item = File.get(file_id, consistent_read=True)
    except File.DoesNotExist:
        return FileUnavailable(
            "The input file no longer exists; upload it again.", code="file_not_found"
        )
    if item.task_id is not None and item.task_id != task_id:
        return FileUnavailable(
            f"The input file {item.id} is already the input of task {item.task_id}; a file is "
            "the input of one task. Upload it again for another task.",
            code="file_already_attached",
            details={"fileId": item.id, "taskId": item.task_id},
        )
    if item.status == "pending":
        return FileUnavailable(
            f"The input file {item.id} is not ready: finish its upload "
            f"(POST /files/{item.id}/complete) before a task takes it as its input.",
            code="file_not_ready",
            details={"fileId": item.id, "status": item.status},
        )
    if item.status != "ready":
        return FileUnavailable(
            f"The input file {item.id} was rejected (it did not match its declared size or "
            "type); upload it again.",
            code="file_rejected",
            details={"fileId": item.id, "status": item.status},
        )
    return None


def _claim_file(item: File, task_id: str) -> bool:
    """Attach a project upload to an existing task (PATCH of its input). True if this call
    attached it (so a failed edit must release it), False if it was the task's already."""
    if item.task_id == task_id:
        refusal = _file_refusal(item.id, task_id=task_id)
        if refusal is not None:
            raise refusal
        return False
    try:
        item.update(
            actions=[File.task_id.set(task_id), File.updated_at.set(now_iso())],
            condition=(File.status == "ready") & File.task_id.does_not_exist(),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        refusal = _file_refusal(item.id, task_id=task_id)
        raise refusal or FileUnavailable("The input file changed; try again.") from exc
    return True


def _release_file(file_id: str, task_id: str) -> None:
    """Undo ``_claim_file`` when the edit that claimed the file did not happen."""
    try:
        File(id=file_id).update(
            actions=[File.task_id.remove(), File.updated_at.set(now_iso())],
            condition=File.task_id == task_id,
        )
    except UpdateError:
        log.warning("could not release input file", extra={"file_id": file_id})


def _title_from(instruction: str) -> str:
    line = instruction.strip().splitlines()[0] if instruction.strip() else "Task"
    return line[:80]


def _replay(principal: Principal, record: IdempotencyRecord) -> TaskOut:
    stored = IdempotencyRecord.get(record.key, consistent_read=True)
    if stored.request_hash != record.request_hash:
        raise Conflict(
            "This Idempotency-Key was used with a different request body.",
            code="idempotency_key_reused",
        )
    return task_out(get_task_for(principal, stored.task_id))


def _enqueue(task_id: str, attempt: int) -> None:
    """Send the dispatch message. If SQS refuses, the task stays queued (and the caller still
    gets it): the sweeper re-sends the message of a task queued for too long."""
    from chalicelib.aws_clients import client

    try:
        client("sqs").send_message(
            QueueUrl=get_settings().dispatch_queue_url,
            MessageBody=json.dumps({"taskId": task_id, "attempt": attempt}),
        )
    except Exception:
        log.exception(
            "dispatch enqueue failed; the task stays queued for the sweeper",
            extra={"task_id": task_id, "attempt": attempt},
        )


def _event_of(item: Activity) -> dict[str, Any]:
    from chalicelib.logic.telemetry import activity_to_event

    return activity_to_event(item)


def _publish(events: list[dict[str, Any]], *, first: bool = False) -> None:
    """Live fan-out is best effort: the activity log is the source of truth.

    ``first``: the event of a task just created (only its project's subscribers can watch it).
    """
    from chalicelib.logic import telemetry

    for event in events:
        try:
            if first:
                telemetry.publish_first(event)
            else:
                telemetry.publish(event)
        except Exception:
            log.warning("telemetry publish failed", exc_info=True)


# ------------------------------------------------------------------------------------ read


def get_task(principal: Principal, task_id: str) -> TaskOut:
    return task_out(get_task_for(principal, task_id))


def list_tasks(principal: Principal, query: TaskListQuery) -> TaskList:
    status, assignee = query.status, query.assignee_id
    if query.project_id:
        project = get_project_for(principal, query.project_id)
        condition = Task.assignee_id == assignee if assignee else None
        if status:
            hash_key, index = f"{project.id}#{status}", Task.by_project_status
        else:
            hash_key, index = project.id, Task.by_project
        scope = f"tasks:p:{project.id}:{status or ''}:{assignee or ''}"
        items, cursor = query_page(
            lambda **kw: index.query(
                hash_key, filter_condition=condition, scan_index_forward=False, **kw
            ),
            scope=scope,
            limit=query.limit,
            cursor=query.cursor,
        )
        return TaskList(items=[task_out(t) for t in items], next_cursor=cursor)

    assignee = assignee or principal.user_id
    if assignee != principal.user_id and not principal.is_admin:
        raise Forbidden("Filter by projectId to list tasks assigned to others.")
    condition = Task.status == status if status else None
    items, cursor = query_page(
        lambda **kw: Task.by_assignee.query(
            assignee, filter_condition=condition, scan_index_forward=False, **kw
        ),
        scope=f"tasks:a:{assignee}:{status or ''}",
        limit=query.limit,
        cursor=query.cursor,
    )
    if not principal.is_admin:
        # Assigned tasks of projects the caller has since left stay hidden.
        mine = {m.project_id for m in ProjectMember.query(principal.user_id)}
        items = [t for t in items if t.project_id in mine]
    return TaskList(items=[task_out(t) for t in items], next_cursor=cursor)


# ------------------------------------------------------------------------------------ update


def update_task(principal: Principal, task_id: str, data: TaskUpdate, *, version: int) -> TaskOut:
    from chalicelib.logic import telemetry

    task = get_task_for(principal, task_id)
    if task.version != version:
        raise PreconditionFailed(
            "The task changed since you read it.", details={"version": task.version}
        )
    fields = [f for f in data.model_fields_set if f in TaskUpdate.model_fields]
    content = [f for f in fields if f in CONTENT_FIELDS]
    if content and task.status not in CONTENT_EDITABLE:
        raise InvalidState(f"{', '.join(content)} cannot change while the task is {task.status}.")
    now = now_iso()
    actions: list[Any] = [Task.updated_at.set(now), Task.version.add(1)]
    for name in fields:
        value = getattr(data, name)
        if name == "assignee_id" and value is not None:
            _check_assignee(Project.get(task.project_id), value)
        attr = getattr(Task, name)
        if value is None and name in ("module", "assignee_id", "input"):
            actions.append(attr.remove())
        elif value is None:
            raise ValidationFailed(
                f"Invalid body field '{name}': may not be null",
                details=[{"field": name, "location": "body", "message": "may not be null"}],
            )
        else:
            actions.append(attr.set(value))
    condition = Task.version == version
    if content:
        condition &= Task.status.is_in(*CONTENT_EDITABLE)
    # A project upload as the new input is attached first (one task per file), and released
    # again if the edit does not happen; the dispatcher reads only files of the task.
    claimed = None
    if "input" in fields:
        item = _input_file(principal, task.project_id, data.input)
        if item is not None and _claim_file(item, task.id):
            claimed = item.id
    try:
        events, updated = telemetry.transition(
            task.id,
            task.project_id,
            actions=actions,
            condition=condition,
            events=[
                {
                    "kind": "update",
                    "status": task.status,
                    "message": "Updated " + ", ".join(sorted(fields)) if fields else "Touched",
                    "actor": principal.user_id,
                    "data": {"fields": sorted(fields)},
                }
            ],
            return_task=True,
        )
    except telemetry.ConditionFailed:
        if claimed is not None:
            _release_file(claimed, task.id)
        current = Task.get(task.id, consistent_read=True)
        if current.version != version:
            raise PreconditionFailed("The task changed since you read it.") from None
        raise InvalidState(f"The task is {current.status} now.") from None
    except Exception:
        if claimed is not None:
            _release_file(claimed, task.id)
        raise
    _publish(events)
    return task_out(updated)


def delete_task(principal: Principal, task_id: str) -> None:
    task = get_task_for(principal, task_id)
    if task.status == "running":
        raise InvalidState("Cancel the running task before deleting it.")
    try:
        task.delete(condition=Task.status != "running", add_version_condition=False)
    except Exception as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise InvalidState("The task started running; cancel it first.") from exc
        raise
    delete_task_children(task)


class RemovedWithTask(NamedTuple):
    """What ``delete_task_children`` removed besides the activity log."""

    files: int
    subscriptions: int


def delete_task_children(task: Task) -> RemovedWithTask:
    """The task's events, files (rows and objects), large results and live subscriptions.

    Idempotent: run after the task row is gone (DELETE /tasks/{id}) or just before it goes
    (a project purge, so a crash in between leaves the row to find again).
    """
    from chalicelib.aws_clients import client
    from chalicelib.dal.realtime_models import Subscription, task_topic

    with Activity.batch_write() as batch:
        for item in Activity.query(task.id, attributes_to_get=["task_id", "seq"]):
            batch.delete(item)
    s3 = client("s3")
    bucket = get_settings().files_bucket
    files = list(File.by_task.query(task.id))
    for item in files:
        try:
            s3.delete_object(Bucket=bucket, Key=item.key)
        except Exception:
            log.warning("could not delete file object", extra={"file_id": item.id})
        item.delete()
    _delete_results(s3, bucket, task)
    subscriptions = list(
        Subscription.query(task_topic(task.id), attributes_to_get=["topic", "connection_id"])
    )
    with Subscription.batch_write() as batch:
        for sub in subscriptions:
            batch.delete(sub)
    return RemovedWithTask(files=len(files), subscriptions=len(subscriptions))


def _delete_results(s3: Any, bucket: str, task: Task) -> None:
    """Results over the inline limit live at ``results/<task>/<attempt>.json`` (dispatch); the
    keys of every attempt are known, so no listing (and no s3:ListBucket) is needed."""
    keys = {f"results/{task.id}/{n}.json" for n in range(1, int(task.attempts or 1) + 1)}
    if task.result_ref and task.result_ref.startswith(f"results/{task.id}/"):
        keys.add(task.result_ref)
    try:
        s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": k} for k in sorted(keys)], "Quiet": True},
        )
    except Exception:
        log.warning("could not delete result objects", extra={"task_id": task.id})


# ------------------------------------------------------------------------------------ lifecycle


def cancel_task(principal: Principal, task_id: str) -> TaskOut:
    task = get_task_for(principal, task_id)
    updated = stop_task(task, actor=principal.user_id)
    if updated is None:
        raise Conflict("The task is changing state; try again.")
    return task_out(updated)


def stop_task(task: Task, *, actor: str) -> Task | None:
    """Cancel ``task`` as ``POST /tasks/{id}/cancel`` does: queued or in review -> canceled at
    once; running -> ``cancel_requested`` (the dispatcher's heartbeat sees it, stops the gRPC
    call and writes ``canceled``; the sweeper does when the run died). Returns the task after
    the write, or None when it no longer exists. Raises ``InvalidState`` for a task that is
    (or meanwhile became) terminal, ``Conflict`` when it kept changing state."""
    from chalicelib.logic import telemetry

    for _ in range(_TRANSITION_RETRIES):
        now = now_iso()
        if task.status in CANCELABLE_NOW:
            actions = [
                Task.status.set("canceled"),
                Task.project_status.set(f"{task.project_id}#canceled"),
                Task.finished_at.set(now),
            ]
            event = {"kind": "status", "status": "canceled", "message": "Canceled"}
        elif task.status == "running":
            if task.cancel_requested:
                return task
            actions = [Task.cancel_requested.set(True)]
            event = {"kind": "log", "status": "running", "message": "Cancel requested"}
        else:
            raise InvalidState(f"A {task.status} task cannot be canceled.")
        actions += [Task.updated_at.set(now), Task.version.add(1)]
        try:
            events, updated = telemetry.transition(
                task.id,
                task.project_id,
                actions=actions,
                condition=Task.status == task.status,
                events=[{**event, "actor": actor}],
                return_task=True,
            )
        except telemetry.ConditionFailed:
            try:
                task = Task.get(task.id, consistent_read=True)
            except Task.DoesNotExist:
                return None
            continue
        _publish(events)
        return updated
    raise Conflict("The task is changing state; try again.")


def retry_task(principal: Principal, task_id: str) -> TaskOut:
    from chalicelib.logic import telemetry

    if not get_settings().dispatch_queue_url:
        raise ServiceUnavailable("Task dispatch is not configured.", code="dispatch_unconfigured")
    task = get_task_for(principal, task_id)
    if task.status not in RETRYABLE:
        raise InvalidState(
            f"Only failed or canceled tasks can be retried (this one is {task.status})."
        )
    attempt = int(task.attempts or 1) + 1
    now = now_iso()
    try:
        events, updated = telemetry.transition(
            task.id,
            task.project_id,
            actions=[
                Task.status.set("queued"),
                Task.project_status.set(f"{task.project_id}#queued"),
                Task.attempts.set(attempt),
                Task.cancel_requested.set(False),
                Task.result.remove(),
                Task.result_ref.remove(),
                Task.error.remove(),
                Task.route.remove(),
                Task.started_at.remove(),
                Task.finished_at.remove(),
                Task.lease_owner.remove(),
                Task.lease_expires_at.remove(),
                Task.updated_at.set(now),
                Task.version.add(1),
            ],
            condition=(Task.status == task.status) & (Task.attempts == task.attempts),
            events=[
                {
                    "kind": "status",
                    "status": "queued",
                    "message": f"Retry: attempt {attempt}",
                    "actor": principal.user_id,
                    "data": {"attempt": attempt},
                }
            ],
            return_task=True,
        )
    except telemetry.ConditionFailed:
        raise InvalidState("The task changed state; reload it and try again.") from None
    _publish(events)
    _enqueue(task.id, attempt)
    return task_out(updated)


def activity(
    principal: Principal, task_id: str, *, after: int | None, limit: int | None
) -> ActivityList:
    """Events oldest first after ``after`` (default: from the start); ``nextCursor`` = last seq."""
    from chalicelib.http.cursor import clamp_limit
    from chalicelib.logic.telemetry import activity_to_event

    task = get_task_for(principal, task_id)
    size = clamp_limit(limit)
    start = after or 0
    items = list(Activity.query(task.id, Activity.seq > start, limit=size, page_size=size))
    events = [activity_to_event(i) for i in items]
    next_cursor = str(events[-1]["seq"]) if len(events) >= size else None
    return ActivityList.model_validate({"items": events, "nextCursor": next_cursor})
