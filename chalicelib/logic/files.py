"""Files: presigned S3 POST (type, exact size and a "pending" tag enforced by S3), completion,
downloads.

A file is uploaded either to an existing task (``tasks/{task}/{file}``) or to a project first
(``uploads/{project}/{file}``, no task yet), so a task can be created with the file as its input
without racing the dispatcher (``chalicelib.logic.tasks.create_task`` attaches it). The key is
chosen here, never from the client's filename, so uploads cannot overwrite each other or escape
their prefix.

Checked content is immutable: the upload form stays valid for 15 minutes, so the uploader could
POST again after completion. Completion therefore copies the object it checked (server-side,
``CopySourceIfMatch`` on the ETag its HEAD saw, ``IfNoneMatch: *`` on the destination) to
``files/{project}/{file}``, a prefix no upload form can write, and the File record then points
there; dispatch and downloads only ever read that key.

Abandoned uploads clean themselves up: the POST policy makes S3 store the object tagged
``aion-state=pending``, and the files bucket expires objects with that tag after a day
(infra/aion_infra/stacks/data.py). The final copy is tagged ``ready``; the upload object is
deleted (a late re-POST leaves a pending one that expires). The File record of a pending
upload carries a TTL that completion removes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws_clients
from chalicelib.auth.principal import Principal
from chalicelib.clock import now_iso
from chalicelib.config import get_settings
from chalicelib.dal.models import File
from chalicelib.errors import Conflict
from chalicelib.ids import new_id
from chalicelib.logic.access import get_file_for, get_project_for, get_task_for
from chalicelib.logic.paging import query_page
from chalicelib.models.files import (
    MAX_FILE_BYTES,
    FileCreate,
    FileList,
    FileOut,
    FileUpload,
    UploadForm,
)

UPLOAD_EXPIRES_S = 900
DOWNLOAD_EXPIRES_S = 300
# The object tag the bucket's lifecycle rule matches (infra: expire "pending" after 1 day).
STATE_TAG = "aion-state"
PENDING, READY = "pending", "ready"
PENDING_TAGGING = (
    f"<Tagging><TagSet><Tag><Key>{STATE_TAG}</Key><Value>{PENDING}</Value></Tag></TagSet></Tagging>"
)
READY_TAGGING = f"{STATE_TAG}={READY}"
# A record that never became ready outlives its object (1 day) by a margin, then goes too.
UNFINISHED_RECORD_TTL = timedelta(days=2)
# Where completed files live. No presigned POST is ever issued for this prefix, so once a file
# is ready nobody but completion (a conditional copy that never overwrites) writes its object.
FINAL_PREFIX = "files/"
# CopyObject copies at most 5 GB in one request; bigger objects would need a multipart copy.
COPY_OBJECT_MAX_BYTES = 5 * 1024**3
if MAX_FILE_BYTES > COPY_OBJECT_MAX_BYTES:
    raise RuntimeError("MAX_FILE_BYTES exceeds what one CopyObject can copy at completion")


class UploadChanged(Conflict):
    code = "upload_changed"


def file_out(item: File, *, download_url: str | None = None) -> FileOut:
    return FileOut(
        id=item.id,
        task_id=item.task_id,
        project_id=item.project_id,
        filename=item.filename,
        content_type=item.content_type,
        size=int(item.size),
        # A string attribute, written from the FileStatus literal.
        status=item.status,  # type: ignore[arg-type]
        created_by=item.created_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
        download_url=download_url,
    )


def _s3() -> Any:

    return aws_clients.client("s3")


def create_upload(principal: Principal, task_id: str, data: FileCreate) -> FileUpload:
    """A file of an existing task (``POST /tasks/{id}/files``)."""
    task = get_task_for(principal, task_id)
    file_id = new_id("fil")
    return _register(
        principal,
        data,
        file_id=file_id,
        project_id=task.project_id,
        task_id=task.id,
        key=f"tasks/{task.id}/{file_id}",
    )


def create_project_upload(principal: Principal, project_id: str, data: FileCreate) -> FileUpload:
    """A file of a project, no task yet (``POST /projects/{id}/files``): once ready, a new task
    takes it as its input (``POST /tasks`` with ``input`` = the file id)."""
    project = get_project_for(principal, project_id)
    file_id = new_id("fil")
    return _register(
        principal,
        data,
        file_id=file_id,
        project_id=project.id,
        task_id=None,
        key=f"uploads/{project.id}/{file_id}",
    )


def _register(
    principal: Principal,
    data: FileCreate,
    *,
    file_id: str,
    project_id: str,
    task_id: str | None,
    key: str,
) -> FileUpload:
    now = now_iso()
    item = File(
        id=file_id,
        task_id=task_id,
        project_id=project_id,
        filename=data.filename,
        content_type=data.content_type,
        size=data.size,
        key=key,
        status=PENDING,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        expires_at=UNFINISHED_RECORD_TTL,
    )
    item.save(condition=File.id.does_not_exist())
    # Every form field must appear in the policy, so the client can change none of them: the
    # type, the exact size and the tag the lifecycle rule matches are enforced by S3 itself.
    post = _s3().generate_presigned_post(
        Bucket=get_settings().files_bucket,
        Key=item.key,
        Fields={"Content-Type": data.content_type, "tagging": PENDING_TAGGING},
        Conditions=[
            {"Content-Type": data.content_type},
            {"tagging": PENDING_TAGGING},
            ["content-length-range", data.size, data.size],
        ],
        ExpiresIn=UPLOAD_EXPIRES_S,
    )
    return FileUpload(
        file=file_out(item),
        upload=UploadForm(url=post["url"], fields=post["fields"], expires_in=UPLOAD_EXPIRES_S),
    )


def final_key(item: File) -> str:
    """The key a ready file lives under (see the module docstring)."""
    return f"{FINAL_PREFIX}{item.project_id}/{item.id}"


def complete_upload(principal: Principal, file_id: str) -> FileOut:
    """HEAD the upload: the declared size and type make it ready, anything else rejects it.

    A ready upload is copied to its final key before the record says ready, in an order that
    is safe to retry at any step: copy (conditional on the ETag the HEAD saw, never
    overwriting), then the record (conditional on still pending), then delete the upload.
    """
    item = get_file_for(principal, file_id)
    if item.status != PENDING:
        return file_out(item)
    if item.key.startswith(FINAL_PREFIX):
        raise RuntimeError(f"pending file {item.id} already points at its final key")
    s3, bucket = _s3(), get_settings().files_bucket
    head = _head(s3, bucket, item.key)
    if head is None:
        raise Conflict("Nothing was uploaded for this file yet.", code="upload_missing")
    if not _matches(head, item):
        s3.delete_object(Bucket=bucket, Key=item.key)
        return _settle(item, [File.status.set("rejected")])
    upload_key, target = item.key, final_key(item)
    if not _copy_checked(s3, bucket, item, upload_key, target, etag=str(head["ETag"])):
        item.refresh(consistent_read=True)
        if item.status != PENDING:
            return file_out(item)
        raise Conflict("Nothing was uploaded for this file yet.", code="upload_missing")
    done = _settle(item, [File.status.set(READY), File.key.set(target), File.expires_at.remove()])
    # Bytes posted to the upload key from now on (the form is still valid) are never read;
    # if this delete is lost or a late POST lands, the object is tagged pending and expires.
    s3.delete_object(Bucket=bucket, Key=upload_key)
    return done


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:

    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _matches(head: dict[str, Any], item: File) -> bool:
    return int(head.get("ContentLength", -1)) == int(item.size) and _same_type(
        head.get("ContentType", ""), item.content_type
    )


def _copy_checked(
    s3: Any, bucket: str, item: File, upload_key: str, target: str, *, etag: str
) -> bool:
    """Server-side copy of exactly the object the HEAD checked, tagged ready.

    ``CopySourceIfMatch`` fails the copy if the upload was replaced after the HEAD (409
    upload_changed, nothing written). ``IfNoneMatch: *`` makes the final object write-once:
    when it already exists, an earlier attempt (crashed before the record) or a concurrent
    completion of the same file copied a checked upload there, and that copy is the file.
    False when the upload is gone: a concurrent completion finished and deleted it.
    """

    if int(item.size) > COPY_OBJECT_MAX_BYTES:
        raise RuntimeError("file too large for a single CopyObject")
    try:
        s3.copy_object(
            Bucket=bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": upload_key},
            CopySourceIfMatch=etag,
            IfNoneMatch="*",
            MetadataDirective="COPY",
            TaggingDirective="REPLACE",
            Tagging=READY_TAGGING,
        )
        return True
    except ClientError as exc:
        code = _error_code(exc)
        if code not in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
            if code in ("404", "NoSuchKey", "NotFound"):
                return False  # a concurrent completion finished and deleted the upload
            raise
        failure = exc
    existing = _head(s3, bucket, target)
    if existing is not None and _matches(existing, item):
        return True  # the write-once final object is already in place
    if existing is not None:
        raise RuntimeError(f"final object of {item.id} does not match its record")
    raise UploadChanged(
        "The uploaded object changed while it was being completed; complete it again.",
        details={"fileId": item.id},
    ) from failure


def _settle(item: File, actions: list[Any]) -> FileOut:
    """Leave pending with ``actions`` unless another completion got there first."""
    try:
        item.update(
            actions=[*actions, File.updated_at.set(now_iso())],
            condition=File.status == PENDING,
        )
    except Exception as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        item.refresh(consistent_read=True)
    return file_out(item)


def _same_type(actual: str, declared: str) -> bool:
    return actual.split(";")[0].strip().lower() == declared.split(";")[0].strip().lower()


def get_file(principal: Principal, file_id: str) -> FileOut:
    item = get_file_for(principal, file_id)
    url = None
    if item.status == READY:
        url = _s3().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": get_settings().files_bucket,
                "Key": item.key,
                "ResponseContentType": item.content_type,
                "ResponseContentDisposition": f'attachment; filename="{_safe(item.filename)}"',
            },
            ExpiresIn=DOWNLOAD_EXPIRES_S,
        )
    return file_out(item, download_url=url)


def _safe(filename: str) -> str:
    return re.sub(r"[^A-Za-z0-9._ -]", "_", filename)[:200] or "file"


def list_files(
    principal: Principal, task_id: str, *, limit: int | None, cursor: str | None
) -> FileList:
    task = get_task_for(principal, task_id)
    items, next_cursor = query_page(
        lambda **kw: File.by_task.query(task.id, **kw),
        scope=f"files:{task.id}",
        limit=limit,
        cursor=cursor,
    )
    return FileList(items=[file_out(i) for i in items], next_cursor=next_cursor)
