"""Tasks: create-and-dispatch, lists on GSIs, optimistic-locking edits, cancel and retry.

Every status change and every event of a task is one ``chalicelib.logic.lifecycle`` transition:
a conditional write that takes the events' seqs, so REST, dispatch and the sweeper never race on
a status or share a seq. Creation writes the task, its first event (seq 1) and the idempotency
record in one transaction, then sends the dispatch message. A ready project upload named as the
input is attached in the same transaction (``chalicelib.logic.task_inputs``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_iso
from chalicelib.config import get_settings
from chalicelib.dal.item_size import ItemTooLarge, check_size, is_validation_error
from chalicelib.dal.models import (
    Activity,
    File,
    IdempotencyRecord,
    Project,
    Task,
    project_status_key,
)
from chalicelib.dal.task_updates import activity_item, event_of
from chalicelib.dal.transactions import failed_tables, transact_write
from chalicelib.errors import (
    Conflict,
    InvalidState,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.ids import new_id
from chalicelib.logic import fanout, input_store, lifecycle, task_children
from chalicelib.logic.access import get_project_for, get_task_for
from chalicelib.logic.lifecycle import (
    CONTENT_EDITABLE,
    INITIAL,
    QUEUED,
    RETRYABLE,
    RUNNING,
    ConditionFailed,
)
from chalicelib.logic.paging import clamp_limit
from chalicelib.logic.task_inputs import (
    claim_file,
    input_file,
    refuse_file,
    release_file,
)
from chalicelib.models.tasks import (
    ActivityList,
    EventDraft,
    TaskCreate,
    TaskOut,
    TaskUpdate,
    TaskWaiting,
    TelemetryEvent,
)

log = logging.getLogger(__name__)

IDEMPOTENCY_TTL_S = 24 * 3600
# What a task's item may weigh when written: the rest of DynamoDB's 400 KB is left for what
# its runs add (the route decision, an inline result of at most 32 KiB, an error).
CREATE_ITEM_MAX_BYTES = 240 * 1024
CONTENT_FIELDS = ("instruction", "input", "params", "module")


def task_out(task: Task, *, full_input: bool = True) -> TaskOut:
    """The task as the API shows it. An input stored in S3 is read back for one task
    (``full_input``); lists carry only its ``inputRef``."""
    value = task.input
    if full_input and task.input_ref:
        value = input_store.load_input(task.input_ref)
    return TaskOut(
        id=task.id,
        project_id=task.project_id,
        title=task.title,
        instruction=task.instruction or "",
        input=value,
        input_ref=task.input_ref,
        params=task.params or {},
        module=task.module,
        assignee_id=task.assignee_id,
        # String attributes, written from the Priority and Status literals.
        priority=task.priority,  # type: ignore[arg-type]
        status=task.status,  # type: ignore[arg-type]
        # Kept until the claim or a new attempt clears it: shown only while still queued
        # (a waiting task canceled meanwhile waits no more).
        waiting=(
            TaskWaiting.model_validate(task.waiting)
            if task.waiting and task.status == QUEUED
            else None
        ),
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
    if data.module:
        _check_module(data.module)
    attached = input_file(principal, project.id, data.input)
    input_store.check_params(data.params)
    now = now_iso()
    task_id = new_id("tsk")
    # A large input goes to S3 before the item is written (the item keeps its key).
    inline_input, input_ref = input_store.placed(task_id, data.input)
    task = Task(
        id=task_id,
        project_id=project.id,
        project_status=project_status_key(project.id, INITIAL),
        title=data.title or _title_from(data.instruction),
        instruction=data.instruction,
        input=inline_input,
        input_ref=input_ref,
        params=data.params,
        module=data.module,
        assignee_id=assignee,
        priority=data.priority,
        status=INITIAL,
        attempts=1,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        last_seq=1,
        cancel_requested=False,
    )
    try:
        check_size(task.serialize(), limit=CREATE_ITEM_MAX_BYTES)
    except ItemTooLarge:
        input_store.delete_input(input_ref)
        raise
    first = TelemetryEvent(
        task_id=task.id,
        project_id=project.id,
        seq=1,
        kind="status",
        status=INITIAL,
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
            tx.save(activity_item(first), condition=Activity.seq.does_not_exist())
            if attached is not None:
                # Taken by this task only if still ready, unattached and in this project.
                tx.update(
                    attached,
                    actions=[File.task_id.set(task.id), File.updated_at.set(now)],
                    condition=(File.status == "ready")
                    & File.task_id.does_not_exist()
                    & (File.project_id == project.id),
                )
    except TransactWriteError as exc:
        input_store.delete_input(input_ref)  # the task that would name it was not written
        failed = failed_tables(tx, exc)
        if record is not None and IdempotencyRecord.Meta.table_name in failed:
            # A replay: the original request already took the file (if any).
            return _replay(principal, record), False
        if Project.Meta.table_name in failed:
            raise NotFound("Project not found.", code="project_not_found") from exc
        if attached is not None:
            refuse_file(attached.id, exc)
        raise
    try:
        fanout.publish_first(first)
    except Exception:  # live fan-out is best effort: the activity log is the source of truth
        log.warning("telemetry publish failed", exc_info=True)
    enqueue(task.id, 1)
    out = task_out(task, full_input=False)  # the transaction set version 1 on our copy
    return out.model_copy(update={"input": data.input}), True


def _check_module(module: str) -> None:
    # Deferred: the router's catalogue, paid only by requests that pin a module.
    from chalicelib.logic.routing import require_known_module

    require_known_module(module)


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


def enqueue(task_id: str, attempt: int) -> None:
    """Send the dispatch message. If SQS refuses, the task stays queued (and the caller still
    gets it): the sweeper re-sends the message of a task queued for too long."""
    try:
        lifecycle.enqueue(task_id, attempt)
    except Exception:
        log.exception(
            "dispatch enqueue failed; the task stays queued for the sweeper",
            extra={"task_id": task_id, "attempt": attempt},
        )


# ------------------------------------------------------------------------------------ read


def get_task(principal: Principal, task_id: str) -> TaskOut:
    return task_out(get_task_for(principal, task_id))


# ------------------------------------------------------------------------------------ update


def update_task(principal: Principal, task_id: str, data: TaskUpdate, *, version: int) -> TaskOut:
    task = get_task_for(principal, task_id)
    if task.version != version:
        raise PreconditionFailed(
            "The task changed since you read it.", details={"version": task.version}
        )
    fields = [f for f in data.model_fields_set if f in TaskUpdate.model_fields]
    content = [f for f in fields if f in CONTENT_FIELDS]
    if content and task.status not in CONTENT_EDITABLE:
        raise InvalidState(f"{', '.join(content)} cannot change while the task is {task.status}.")
    if "module" in fields and data.module is not None:
        _check_module(data.module)
    if "params" in fields:
        input_store.check_params(data.params)
    actions: list[Any] = lifecycle.touch_actions()
    stored_input = None  # the S3 key of a new input too large to inline
    for name in fields:
        value = getattr(data, name)
        if name == "assignee_id" and value is not None:
            _check_assignee(Project.get(task.project_id), value)
        attr = getattr(Task, name)
        if name == "input":
            inline, stored_input = input_store.placed(task.id, value)
            actions.append(
                Task.input_ref.set(stored_input) if stored_input else Task.input_ref.remove()
            )
            actions.append(Task.input.remove() if inline is None else Task.input.set(inline))
        elif value is None and name in ("module", "assignee_id"):
            actions.append(attr.remove())
        elif value is None:
            raise ValidationFailed(
                f"Invalid body field '{name}': may not be null",
                details=[{"field": name, "location": "body", "message": "may not be null"}],
            )
        else:
            actions.append(attr.set(value))
    # A project upload as the new input is attached first (one task per file), and released
    # again if the edit does not happen; the dispatcher reads only files of the task.
    claimed = None
    if "input" in fields:
        item = input_file(principal, task.project_id, data.input)
        if item is not None and claim_file(item, task.id):
            claimed = item.id
    try:
        # The version pins the status too: every status change takes a new version. An item
        # stored too large to change is given room (its input moved to S3) unless this edit
        # sets the input itself.
        event = EventDraft(
            "update",
            "Updated " + ", ".join(sorted(fields)) if fields else "Touched",
            principal.user_id,
            data={"fields": sorted(fields)},
        )
        written = lifecycle.with_room(
            task,
            lambda room: lifecycle.transition(
                task,
                # A string attribute, written from the Status literal.
                task.status,  # type: ignore[arg-type]
                None,
                guard=lifecycle.version_is(version),
                actions=[*actions, *room],
                events=[event],
                return_task=True,
            ),
            move_input="input" not in fields,
        )
    except ConditionFailed:
        input_store.delete_input(stored_input)
        if claimed is not None:
            release_file(claimed, task.id)
        current = Task.get(task.id, consistent_read=True)
        if current.version != version:
            raise PreconditionFailed("The task changed since you read it.") from None
        raise InvalidState(f"The task is {current.status} now.") from None
    except Exception as exc:
        input_store.delete_input(stored_input)
        if claimed is not None:
            release_file(claimed, task.id)
        _raise_if_too_large(exc)
        raise
    if "input" in fields and task.input_ref != stored_input:
        input_store.delete_input(task.input_ref)  # the input this edit replaced
    assert written.task is not None
    return task_out(written.task)


def delete_task(principal: Principal, task_id: str) -> None:
    task = get_task_for(principal, task_id)
    if task.status == RUNNING:
        raise InvalidState("Cancel the running task before deleting it.")
    try:
        # Never under a run: a running task is canceled first.
        task.delete(condition=~lifecycle.status_is(RUNNING), add_version_condition=False)
    except Exception as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise InvalidState("The task started running; cancel it first.") from exc
        raise
    # Open boards drop the card; before its children go (the task's subscriptions with them).
    try:
        from chalicelib.logic import websocket  # lazily: only deletes need it

        websocket.publish_task_change("deleted", task.id, task.project_id, actor=principal.user_id)
    except Exception:  # best effort: the task is gone either way; a refetch agrees
        log.warning("live task deletion message failed", exc_info=True)
    task_children.delete_task_children(task)


# ------------------------------------------------------------------------------------ lifecycle


def _raise_if_too_large(exc: Exception) -> None:
    """DynamoDB refused a write of the task for its size: a 413, not a fault of ours."""
    if is_validation_error(exc) and not isinstance(exc, ItemTooLarge):
        raise PayloadTooLarge(
            "The task is too large to store with this change.", code="item_too_large"
        ) from exc


def cancel_task(principal: Principal, task_id: str) -> TaskOut:
    task = get_task_for(principal, task_id)
    try:
        updated = lifecycle.cancel(task, actor=principal.user_id)
    except Exception as exc:
        _raise_if_too_large(exc)
        raise
    if updated is None:
        raise Conflict("The task is changing state; try again.")
    return task_out(updated)


def retry(principal: Principal, task: Task) -> TaskOut:
    """A new attempt of a failed or canceled task the caller may see (``review.retry_task`` is
    ``POST /tasks/{id}/retry``: it routes a task waiting for review again instead)."""
    if task.status not in RETRYABLE:
        raise InvalidState(
            "Only failed, canceled or waiting-for-review tasks can be retried "
            f"(this one is {task.status})."
        )
    attempt = int(task.attempts or 1) + 1
    try:
        written = lifecycle.transition(
            task,
            task.status,
            QUEUED,
            guard=lifecycle.attempt_is(int(task.attempts or 1)),
            actions=lifecycle.new_attempt_actions(attempt),
            events=[
                EventDraft(
                    "status",
                    f"Retry: attempt {attempt}",
                    principal.user_id,
                    data={"attempt": attempt},
                )
            ],
            return_task=True,
        )
    except ConditionFailed:
        raise InvalidState("The task changed state; reload it and try again.") from None
    enqueue(task.id, attempt)
    assert written.task is not None
    return task_out(written.task)


def activity(
    principal: Principal, task_id: str, *, after: int | None, limit: int | None
) -> ActivityList:
    """Events oldest first after ``after`` (default: from the start); ``nextCursor`` = last seq."""
    task = get_task_for(principal, task_id)
    size = clamp_limit(limit)
    start = after or 0
    items = list(Activity.query(task.id, Activity.seq > start, limit=size, page_size=size))
    events = [event_of(i) for i in items]
    next_cursor = str(events[-1].seq) if len(events) >= size else None
    return ActivityList(items=events, next_cursor=next_cursor)
