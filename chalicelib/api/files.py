"""Files: presigned uploads to a task or a project, metadata, completion.

Logic imports are deferred (inside handlers) for the cold start: see ``chalicelib.api``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.api.rest import ApiBlueprint, Call, M, link

if TYPE_CHECKING:
    from chalicelib.models.files import FileList, FileOut, FileUpload

bp = ApiBlueprint(__name__)

# After registering a file: upload to the form, complete it, read it (OpenAPI links).
_NEW_FILE = {"path.file_id": "$response.body#/file/id"}
UPLOAD_LINKS = (link("getFile", _NEW_FILE), link("completeFile", _NEW_FILE))


@bp.endpoint(
    "POST",
    "/tasks/{task_id}/files",
    name="createTaskFile",
    summary="Register a file and get a presigned S3 POST for it",
    tags=("files",),
    body=M("files:FileCreate"),
    response=M("files:FileUpload"),
    status=201,
    links=UPLOAD_LINKS,
)
def create_file(call: Call) -> FileUpload:
    from chalicelib.logic import files  # deferred: cold start (see chalicelib.api)

    return files.create_upload(call.user, call.path("task_id"), call.body)


@bp.endpoint(
    "POST",
    "/projects/{project_id}/files",
    name="createProjectFile",
    summary="Upload a file to a project first, then create a task with input = its id",
    description="Same shape as POST /tasks/{task_id}/files. The file has no task until "
    "POST /tasks takes it as its input (it must be ready: POST /files/{file_id}/complete "
    "after the upload); that task is written and the file attached in one transaction, so "
    "the task never runs before its file is in place. A file is the input of one task.",
    tags=("files",),
    body=M("files:FileCreate"),
    response=M("files:FileUpload"),
    status=201,
    links=(*UPLOAD_LINKS, link("createTask", input="$response.body#/file/id")),
)
def create_project_file(call: Call) -> FileUpload:
    from chalicelib.logic import files  # deferred: cold start (see chalicelib.api)

    return files.create_project_upload(call.user, call.path("project_id"), call.body)


@bp.endpoint(
    "GET",
    "/tasks/{task_id}/files",
    name="listTaskFiles",
    summary="A task's files",
    tags=("files",),
    query=M("base:ListQuery"),
    response=M("files:FileList"),
)
def list_files(call: Call) -> FileList:
    from chalicelib.logic import files  # deferred: cold start (see chalicelib.api)

    return files.list_files(
        call.user, call.path("task_id"), limit=call.query.limit, cursor=call.query.cursor
    )


@bp.endpoint(
    "GET",
    "/files/{file_id}",
    name="getFile",
    summary="File metadata; a short-lived downloadUrl once it is ready",
    tags=("files",),
    response=M("files:FileOut"),
)
def get_file(call: Call) -> FileOut:
    from chalicelib.logic import files  # deferred: cold start (see chalicelib.api)

    return files.get_file(call.user, call.path("file_id"))


@bp.endpoint(
    "POST",
    "/files/{file_id}/complete",
    name="completeFile",
    summary="Check the uploaded object and mark the file ready or rejected",
    description="A ready file's checked object is copied to a key no upload form can write, "
    "so posting the form again changes nothing. 409 upload_missing: nothing uploaded yet; "
    "409 upload_changed: the upload was replaced during completion (complete it again).",
    tags=("files",),
    response=M("files:FileOut"),
    errors=(409,),
)
def complete_file(call: Call) -> FileOut:
    from chalicelib.logic import files  # deferred: cold start (see chalicelib.api)

    return files.complete_upload(call.user, call.path("file_id"))
