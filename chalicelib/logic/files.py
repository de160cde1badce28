"""Task files: presigned S3 POST (type and exact size enforced by S3), completion, downloads.

The object key is chosen here (``tasks/{task}/{file}``), never from the client's filename, so
uploads cannot overwrite each other or escape their prefix.
"""

from __future__ import annotations

import re

from chalicelib.auth.principal import Principal
from chalicelib.clock import now_iso
from chalicelib.config import get_settings
from chalicelib.dal.models import File
from chalicelib.errors import Conflict
from chalicelib.ids import new_id
from chalicelib.logic.access import get_file_for, get_task_for
from chalicelib.logic.paging import query_page
from chalicelib.models.files import FileCreate, FileList, FileOut, FileUpload, UploadForm

UPLOAD_EXPIRES_S = 900
DOWNLOAD_EXPIRES_S = 300


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
    task = get_task_for(principal, task_id)
    now = now_iso()
    file_id = new_id("fil")
    item = File(
        id=file_id,
        task_id=task.id,
        project_id=task.project_id,
        filename=data.filename,
        content_type=data.content_type,
        size=data.size,
        key=f"tasks/{task.id}/{file_id}",
        status="pending",
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    item.save(condition=File.id.does_not_exist())
    post = _s3().generate_presigned_post(
        Bucket=get_settings().files_bucket,
        Key=item.key,
        Fields={"Content-Type": data.content_type},
        Conditions=[
            {"Content-Type": data.content_type},
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
    if item.status != "pending":
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
    status = "ready" if matches else "rejected"
    if not matches:
        _s3().delete_object(Bucket=bucket, Key=item.key)
    try:
        item.update(
            actions=[File.status.set(status), File.updated_at.set(now_iso())],
            condition=File.status == "pending",
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
    if item.status == "ready":
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
