"""Input files of tasks: a ready project upload (``POST /projects/{id}/files``) named as a task's
``input`` becomes that task's input file, and a file is the input of one task only.

``POST /tasks`` attaches the file in the transaction that writes the task (``input_file`` finds
it, ``refuse_file`` explains a refusal), so the task never runs before its file is in place. A
PATCH of ``input`` claims the file first (``claim_file``) and releases it again
(``release_file``) if the edit does not happen. The dispatcher reads only files of the task.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_iso
from chalicelib.dal.models import File, Project
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.logic.access import can_see_project

log = logging.getLogger(__name__)

# What chalicelib.ids.new_id("fil") makes; anything else is plain text input.
_FILE_ID = re.compile(r"^fil_[0-9a-f]{20}$")


class FileUnavailable(Conflict):
    code = "file_unavailable"


def input_file(principal: Principal, project_id: str, value: Any) -> File | None:
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


def refuse_file(file_id: str, exc: TransactWriteError) -> None:
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


def claim_file(item: File, task_id: str) -> bool:
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


def release_file(file_id: str, task_id: str) -> None:
    """Undo ``claim_file`` when the edit that claimed the file did not happen."""
    try:
        File(id=file_id).update(
            actions=[File.task_id.remove(), File.updated_at.set(now_iso())],
            condition=File.task_id == task_id,
        )
    except UpdateError:
        log.warning("could not release input file", extra={"file_id": file_id})
