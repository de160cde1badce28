"""Files: presigned uploads (to a task, or to a project before the task exists), completion,
downloads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from chalicelib.models.base import ApiModel, RequestModel

MAX_FILE_BYTES = 50 * 1024 * 1024
FileStatus = Literal["pending", "ready", "rejected"]
Filename = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f]+$")
]
ContentType = Annotated[
    str,
    StringConstraints(
        min_length=3, max_length=127, pattern=r"^[a-zA-Z0-9!#$&^_.+-]+/[a-zA-Z0-9!#$&^_.+-]+$"
    ),
]


class FileOut(ApiModel):
    id: str
    task_id: str | None = Field(
        description="The task the file belongs to; null for a project upload no task took yet"
    )
    project_id: str
    filename: str
    content_type: str
    size: int
    status: FileStatus
    created_by: str
    created_at: str
    updated_at: str
    download_url: str | None = None


class FileList(ApiModel):
    items: list[FileOut]
    next_cursor: str | None


class FileCreate(RequestModel):
    filename: Filename
    content_type: ContentType
    size: int = Field(ge=1, le=MAX_FILE_BYTES)


class UploadForm(ApiModel):
    url: str
    fields: dict[str, str]
    expires_in: int


class FileUpload(ApiModel):
    file: FileOut
    upload: UploadForm
