"""Files: presigned uploads (to a task, or to a project before the task exists), completion,
downloads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "fil_7e6d5c4b3a2f1e0d9c8b",
                    "taskId": "tsk_1d2c3b4a5f6e7d8c9b0a",
                    "projectId": "prj_9a8b7c6d5e4f30211203",
                    "filename": "q3.csv",
                    "contentType": "text/csv",
                    "size": 18230,
                    "status": "ready",
                    "createdBy": "usr_5f0c1e2d3b4a59687766",
                    "createdAt": "2026-11-03T09:58:12.004Z",
                    "updatedAt": "2026-11-03T09:58:14.771Z",
                    "downloadUrl": None,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"filename": "q3.csv", "contentType": "text/csv", "size": 18230}]
        }
    )

    filename: Filename
    content_type: ContentType
    size: int = Field(ge=1, le=MAX_FILE_BYTES)


class UploadForm(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://aion-dev-files.s3.amazonaws.com/",
                    "fields": {
                        "key": "tasks/tsk_1d2c3b4a5f6e7d8c9b0a/fil_7e6d5c4b3a2f1e0d9c8b",
                        "Content-Type": "text/csv",
                        "tagging": "<Tagging><TagSet><Tag><Key>aion-state</Key>"
                        "<Value>pending</Value></Tag></TagSet></Tagging>",
                        "policy": "eyJleHBpcmF0aW9uIjogIjIwMjYtMTEtMDNUMTA6MDg6MTJaIn0=",
                        "x-amz-algorithm": "AWS4-HMAC-SHA256",
                        "x-amz-credential": "ASIAEXAMPLE/20261103/us-east-1/s3/aws4_request",
                        "x-amz-date": "20261103T095812Z",
                        "x-amz-signature": "9f0e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"
                        "4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e",
                    },
                    "expiresIn": 600,
                }
            ]
        }
    )

    url: str
    fields: dict[str, str]
    expires_in: int


class FileUpload(ApiModel):
    file: FileOut
    upload: UploadForm
