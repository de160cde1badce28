"""Files: presigned S3 POST (type, exact size and a "pending" tag enforced by S3), completion,
downloads.

A file is uploaded either to an existing task (``tasks/{task}/{file}``) or to a project first
(``uploads/{project}/{file}``, no task yet), so a task can be created with the file as its input
without racing the dispatcher (``chalicelib.logic.tasks.create_task`` attaches it). The key is
chosen here, never from the client's filename, so uploads cannot overwrite each other or escape
their prefix.

Abandoned uploads clean themselves up: the POST policy makes S3 store the object tagged
``aion-state=pending``, and the files bucket expires objects with that tag after a day
(infra/aion_infra/stacks/data.py). Completion re-tags an accepted object ``ready`` and deletes
a rejected one; the File record of a pending upload carries a TTL that completion removes.
"""

from __future__ import annotations

import re
from datetime import timedelta

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_iso
from chalicelib.config import get_settings
from chalicelib.dal.models import File
from chalicelib.errors import Conflict
from chalicelib.ids import new_id
from chalicelib.logic.access import get_file_for, get_project_for, get_task_for
from chalicelib.logic.paging import query_page
from chalicelib.models.files import FileCreate, FileList, FileOut, FileUpload, UploadForm

UPLOAD_EXPIRES_S = 900
DOWNLOAD_EXPIRES_S = 300
# The object tag the bucket's lifecycle rule matches (infra: expire "pending" after 1 day).
STATE_TAG = "aion-state"
PENDING, READY = "pending", "ready"
PENDING_TAGGING = (
    f"<Tagging><TagSet><Tag><Key>{STATE_TAG}</Key><Value>{PENDING}</Value></Tag></TagSet></Tagging>"
)
# A record that never became ready outlives its object (1 day) by a margin, then goes too.
UNFINISHED_RECORD_TTL = timedelta(days=2)


def file_out(item: File, *, download_url: str | None = None) -> FileOut:
    return FileOut(
        id=item.id,
        task_id=item.task_id,
        project_id=item.project_id,
        filename=item.filename,
        content_type=item.content_type,
        size=int(item.size),
        status=item.status,  # type: ignore[arg-type]
        created_by=item.created_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
        download_url=download_url,
    )


def _s3():  # type: ignore[no-untyped-def]
    from chalicelib.aws_clients import client

    return client("s3")


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


def complete_upload(principal: Principal, file_id: str) -> FileOut:
    """HEAD the object: the declared size and type make it ready, anything else rejects it."""
    from botocore.exceptions import ClientError

    item = get_file_for(principal, file_id)
    if item.status != PENDING:
        return file_out(item)
    bucket = get_settings().files_bucket
    try:
        head = _s3().head_object(Bucket=bucket, Key=item.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise Conflict(
                "Nothing was uploaded for this file yet.", code="upload_missing"
            ) from exc
        raise
    matches = int(head.get("ContentLength", -1)) == int(item.size) and _same_type(
        head.get("ContentType", ""), item.content_type
    )
    status = READY if matches else "rejected"
    if matches:
        # Tag first: a record marked ready must never point at an object about to expire.
        _s3().put_object_tagging(
            Bucket=bucket,
            Key=item.key,
            Tagging={"TagSet": [{"Key": STATE_TAG, "Value": READY}]},
        )
    else:
        _s3().delete_object(Bucket=bucket, Key=item.key)
    actions = [File.status.set(status), File.updated_at.set(now_iso())]
    if matches:
        actions.append(File.expires_at.remove())
    try:
        item.update(actions=actions, condition=File.status == PENDING)
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
