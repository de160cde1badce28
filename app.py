"""AION's Lambdas: the REST API (this file's routes), plus WebSocket, SQS and schedule handlers.

Thin by rule: parse, authorize, call ``chalicelib.logic``, shape. Every REST route is declared
with ``@route(...)``, which registers it with Chalice AND with the route table that
``GET /openapi.json`` is generated from. Domain modules and models are imported inside the
handlers / named as strings, so a cold start pays only for Chalice and what a request uses.

Sections: core REST · router · internal telemetry, WebSocket, SQS and schedule handlers.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any

from chalice import Chalice, CORSConfig, Rate, Response
from chalice.app import ConvertToMiddleware

from chalicelib.config import get_settings
from chalicelib.errors import AppError, Forbidden, Unauthorized
from chalicelib.http import observability
from chalicelib.http.call import ApiResponse, Call
from chalicelib.http.routes import (
    AUTH_ADMIN,
    AUTH_BRIDGE,
    AUTH_NONE,
    AUTH_USER,
    RouteSpec,
    RouteTable,
)

# configure_logs=False: Powertools owns logging (Chalice would add a second handler).
app = Chalice(app_name="aion", configure_logs=False)
ROUTES = RouteTable()
_settings = get_settings()
_CORS = CORSConfig(
    allow_origin=_settings.cors_origin,
    allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
    expose_headers=["ETag", "Retry-After"],
    max_age=600,
)
_PATH_PARAM = re.compile(r"{([a-zA-Z_]+)}")
_INTERNAL = {"error": {"code": "internal_error", "message": "Internal server error."}}
_JSON = {"Content-Type": "application/json"}


def M(name: str) -> str:
    """A model of ``chalicelib.models`` by ``"module:Class"``, imported on first use."""
    return f"chalicelib.models.{name}"


# ---------------------------------------------------------------------- observability middleware

# Powertools objects are built on the first request (ConvertToMiddleware applies the
# decorator per invocation), keeping X-Ray's SDK and friends out of the import.
_logger = observability.lazy_logger
app.register_middleware(ConvertToMiddleware(observability.with_logger_context), "http")
app.register_middleware(ConvertToMiddleware(observability.with_tracing), "http")
app.register_middleware(ConvertToMiddleware(observability.with_metrics), "http")


@app.middleware("http")
def _chalice_errors_as_envelope(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice answers 405/415/500 itself ({"Code","Message"}); give them our envelope."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
        message = (
            str(body.get("Message", ""))
            if response.status_code < 500
            else _INTERNAL["error"]["message"]
        )
        response.body = {"error": {"code": code or "error", "message": message}}
        response.headers.setdefault("Content-Type", "application/json")
    return response


# ---------------------------------------------------------------------- the route adapter


def route(
    method: str,
    path: str,
    *,
    name: str,
    summary: str,
    tags: tuple[str, ...] = (),
    auth: str = AUTH_USER,
    body: Any = None,
    query: Any = None,
    response: Any = None,
    status: int = 200,
    if_match: bool = False,
    idempotency_key: bool = False,
    errors: tuple[int, ...] = (),
    description: str = "",
) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """Declare a REST route: Chalice serves it, the route table documents it.

    The handler takes a ``Call`` (principal, parsed body/query, If-Match version) and returns a
    pydantic model (sent with ``status``), an ``ApiResponse``, or None (204).
    """
    spec = ROUTES.add(
        RouteSpec(
            method=method,
            path=path,
            name=name,
            summary=summary,
            tags=tags,
            auth=auth,
            body=body,
            query=query,
            response=response,
            status=status,
            if_match=if_match,
            idempotency_key=idempotency_key,
            errors=errors,
            description=description,
            path_params=tuple(_PATH_PARAM.findall(path)),
        )
    )

    def decorator(handler: Callable[[Call], Any]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def view(**path_params: str) -> Response:
            return _serve(spec, handler, path_params)

        # Only a route with a body cares about its type; others accept whatever a client sends.
        content_types = ["application/json"] if body is not None else ["*/*"]
        app.route(path, methods=[method], cors=_CORS, content_types=content_types)(view)
        return view

    return decorator


def _serve(
    spec: RouteSpec, handler: Callable[[Call], Any], path_params: dict[str, str]
) -> Response:
    try:
        call = _build_call(spec, path_params)
        result = handler(call)
        return _to_response(spec, result)
    except AppError as exc:
        headers = {**_JSON, **exc.headers}
        return Response(body=exc.envelope(), status_code=exc.status, headers=headers)
    except Exception:
        _logger.exception("unhandled error", extra={"route": f"{spec.method} {spec.path}"})
        return Response(body=_INTERNAL, status_code=500, headers=dict(_JSON))


def _build_call(spec: RouteSpec, path_params: dict[str, str]) -> Call:
    from chalicelib.http.request import ApiRequest, parse_body, parse_query, required_version
    from chalicelib.http.routes import resolve_model

    current = app.current_request
    assert current is not None
    query_params = current.query_params or {}
    request = ApiRequest(
        method=current.method,
        path=spec.path,
        headers={k.lower(): v for k, v in (current.headers or {}).items()},
        query={k: query_params[k] for k in query_params},
        path_params=path_params,
        body=current.raw_body or None,
        request_id=str((current.context or {}).get("requestId", "")),
    )
    call = Call(request=request, principal=_authenticate(spec, request))
    if spec.query is not None:
        call.query = parse_query(request, resolve_model(spec.query))  # type: ignore[arg-type]
    elif request.query:
        from chalicelib.errors import ValidationFailed

        raise ValidationFailed(
            f"This endpoint takes no query parameters ({', '.join(request.query)})."
        )
    if spec.body is not None:
        model = resolve_model(spec.body)
        call.body = parse_body(request, model, max_bytes=_settings.max_body_bytes)  # type: ignore[arg-type]
    if spec.if_match:
        call.version = required_version(request)
    return call


def _authenticate(spec: RouteSpec, request: Any) -> Any:
    if spec.auth == AUTH_NONE:
        return None
    if spec.auth == AUTH_BRIDGE:
        from chalicelib.auth.bridge import verify_bridge_token

        if not verify_bridge_token(request.header("x-bridge-token")):
            raise Unauthorized("A valid X-Bridge-Token is required.")
        return None
    from chalicelib.auth.tokens import authenticate_bearer

    principal = authenticate_bearer(request.header("authorization"))
    if spec.auth == AUTH_ADMIN and not principal.is_admin:
        raise Forbidden("This needs the admin role.")
    _logger.append_keys(user_id=principal.user_id)
    return principal


def _to_response(spec: RouteSpec, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    explicit = result if isinstance(result, ApiResponse) else None
    payload = explicit.body if explicit else result
    status = explicit.status if explicit else spec.status
    headers = dict(explicit.headers) if explicit else {}
    if payload is None:
        return Response(body="", status_code=204 if status == 200 else status, headers=headers)
    version = getattr(payload, "version", None)
    if isinstance(version, int):
        headers.setdefault("ETag", f'"{version}"')
    body = payload.to_json() if hasattr(payload, "to_json") else payload
    return Response(body=body, status_code=status, headers={**_JSON, **headers})


# =============================================================================================
# Core REST: health, docs, auth, users, projects, tasks, files, stats
# =============================================================================================


@route(
    "GET",
    "/health",
    name="getHealth",
    summary="Liveness and dependency checks",
    tags=("system",),
    auth=AUTH_NONE,
    response=M("health:HealthOut"),
)
def health(call: Call) -> Any:
    from chalicelib.logic.health import health as check

    return check()


@route(
    "GET",
    "/openapi.json",
    name="getOpenApi",
    summary="This API's OpenAPI 3.1 document",
    tags=("system",),
    auth=AUTH_NONE,
)
def openapi_document(call: Call) -> Any:
    return _openapi()


@functools.lru_cache(maxsize=1)
def _openapi() -> dict[str, Any]:
    from chalicelib.http.openapi import build_document

    return build_document(ROUTES, title="AION API", version=_settings.version)


# --------------------------------------------------------------------------------- auth


@route(
    "POST",
    "/auth/login",
    name="login",
    summary="Exchange email and password for tokens",
    tags=("auth",),
    auth=AUTH_NONE,
    body=M("auth:LoginRequest"),
    response=M("auth:TokenOut"),
    errors=(401, 429),
)
def login(call: Call) -> Any:
    from chalicelib.logic import auth

    return auth.login(call.body.email, call.body.password)


@route(
    "POST",
    "/auth/refresh",
    name="refreshTokens",
    summary="Rotate a refresh token",
    tags=("auth",),
    auth=AUTH_NONE,
    body=M("auth:RefreshRequest"),
    response=M("auth:TokenOut"),
    errors=(401,),
)
def refresh(call: Call) -> Any:
    from chalicelib.logic import auth

    return auth.refresh(call.body.refresh_token)


@route(
    "POST",
    "/auth/logout",
    name="logout",
    summary="Revoke a refresh token (and its family)",
    tags=("auth",),
    auth=AUTH_NONE,
    body=M("auth:RefreshRequest"),
    status=204,
)
def logout(call: Call) -> Any:
    from chalicelib.logic import auth

    auth.logout(call.body.refresh_token)
    return ApiResponse(status=204)


@route(
    "POST",
    "/auth/ws-ticket",
    name="createWsTicket",
    summary="A single-use, 60-second ticket for the WebSocket token parameter",
    tags=("auth",),
    response=M("auth:TicketOut"),
)
def ws_ticket(call: Call) -> Any:
    from chalicelib.logic import auth

    return auth.ws_ticket(call.user)


# --------------------------------------------------------------------------------- users


@route(
    "GET", "/me", name="getMe", summary="The caller", tags=("users",), response=M("users:UserOut")
)
def get_me(call: Call) -> Any:
    from chalicelib.logic import users

    return users.me(call.user)


@route(
    "POST",
    "/users",
    name="createUser",
    summary="Create a user",
    tags=("users",),
    auth=AUTH_ADMIN,
    body=M("users:UserCreate"),
    response=M("users:UserOut"),
    status=201,
    errors=(409,),
)
def create_user(call: Call) -> Any:
    from chalicelib.logic import users

    return users.create_user(call.body)


@route(
    "GET",
    "/users",
    name="listUsers",
    summary="List users, oldest first",
    tags=("users",),
    auth=AUTH_ADMIN,
    query=M("base:ListQuery"),
    response=M("users:UserList"),
)
def list_users(call: Call) -> Any:
    from chalicelib.logic import users

    return users.list_users(limit=call.query.limit, cursor=call.query.cursor)


@route(
    "PATCH",
    "/users/{user_id}",
    name="updateUser",
    summary="Update a user",
    tags=("users",),
    auth=AUTH_ADMIN,
    body=M("users:UserUpdate"),
    response=M("users:UserOut"),
    if_match=True,
    errors=(409,),
)
def update_user(call: Call) -> Any:
    from chalicelib.logic import users

    return users.update_user(call.path("user_id"), call.body, version=call.version)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- projects


@route(
    "POST",
    "/projects",
    name="createProject",
    summary="Create a project (caller owns it)",
    tags=("projects",),
    body=M("projects:ProjectCreate"),
    response=M("projects:ProjectOut"),
    status=201,
)
def create_project(call: Call) -> Any:
    from chalicelib.logic import projects

    return projects.create_project(call.user, call.body)


@route(
    "GET",
    "/projects",
    name="listProjects",
    summary="Projects the caller belongs to (admin: all)",
    tags=("projects",),
    query=M("base:ListQuery"),
    response=M("projects:ProjectList"),
)
def list_projects(call: Call) -> Any:
    from chalicelib.logic import projects

    return projects.list_projects(call.user, limit=call.query.limit, cursor=call.query.cursor)


@route(
    "GET",
    "/projects/{project_id}",
    name="getProject",
    summary="A project",
    tags=("projects",),
    response=M("projects:ProjectOut"),
)
def get_project(call: Call) -> Any:
    from chalicelib.logic import projects

    return projects.get_project(call.user, call.path("project_id"))


@route(
    "PATCH",
    "/projects/{project_id}",
    name="updateProject",
    summary="Rename or describe",
    tags=("projects",),
    body=M("projects:ProjectUpdate"),
    response=M("projects:ProjectOut"),
    if_match=True,
)
def update_project(call: Call) -> Any:
    from chalicelib.logic import projects

    return projects.update_project(
        call.user,
        call.path("project_id"),
        call.body,
        version=call.version,  # type: ignore[arg-type]
    )


@route(
    "DELETE",
    "/projects/{project_id}",
    name="deleteProject",
    summary="Delete (owner, admin)",
    tags=("projects",),
    status=204,
    errors=(403, 409),
)
def delete_project(call: Call) -> Any:
    from chalicelib.logic import projects

    projects.delete_project(call.user, call.path("project_id"))


@route(
    "PUT",
    "/projects/{project_id}/members/{user_id}",
    name="addProjectMember",
    summary="Add a member (owner, admin)",
    tags=("projects",),
    response=M("projects:ProjectOut"),
    errors=(403, 409),
)
def add_member(call: Call) -> Any:
    from chalicelib.logic import projects

    return projects.add_member(call.user, call.path("project_id"), call.path("user_id"))


@route(
    "DELETE",
    "/projects/{project_id}/members/{user_id}",
    name="removeProjectMember",
    summary="Remove a member (owner, admin)",
    tags=("projects",),
    response=M("projects:ProjectOut"),
    errors=(403, 409),
)
def remove_member(call: Call) -> Any:
    from chalicelib.logic import projects

    return projects.remove_member(call.user, call.path("project_id"), call.path("user_id"))


# --------------------------------------------------------------------------------- tasks


def _create_task(call: Call) -> Any:
    from chalicelib.logic import tasks

    observability.count("TaskCreateRequests")
    task, _created = tasks.create_task(call.user, call.body, idempotency_key=_idempotency_key(call))
    return task


def _idempotency_key(call: Call) -> str | None:
    from chalicelib.errors import ValidationFailed

    key = call.request.header("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 128 or not key.isprintable():
        raise ValidationFailed(
            "Invalid header 'Idempotency-Key': 1-128 printable characters",
            details=[{"field": "Idempotency-Key", "location": "header", "message": "1-128 chars"}],
        )
    return key


_TASK_CREATE = {
    "tags": ("tasks",),
    "body": M("tasks:TaskCreate"),
    "response": M("tasks:TaskOut"),
    "status": 202,
    "idempotency_key": True,
    "errors": (404, 409, 503),
    "description": "Writes the task and its first event, then dispatches it. A repeated "
    "Idempotency-Key with the same body returns the same task; with another body, 409. "
    "`input` may name a ready, unattached file uploaded with POST /projects/{project_id}/files: "
    "it is attached to the task in the same transaction (409 file_already_attached, "
    "file_not_ready or file_rejected otherwise; 400 file_in_other_project).",
}
route("POST", "/tasks", name="createTask", summary="Create and dispatch a task", **_TASK_CREATE)(
    _create_task
)
route("POST", "/task", name="createTaskAlias", summary="Alias of POST /tasks", **_TASK_CREATE)(
    _create_task
)


@route(
    "GET",
    "/tasks",
    name="listTasks",
    summary="Tasks of a project (optionally by status/assignee), or assigned to the caller",
    tags=("tasks",),
    query=M("tasks:TaskListQuery"),
    response=M("tasks:TaskList"),
    errors=(403, 404),
)
def list_tasks(call: Call) -> Any:
    from chalicelib.logic import tasks

    return tasks.list_tasks(call.user, call.query)


@route(
    "GET",
    "/tasks/{task_id}",
    name="getTask",
    summary="A task",
    tags=("tasks",),
    response=M("tasks:TaskOut"),
)
def get_task(call: Call) -> Any:
    from chalicelib.logic import tasks

    return tasks.get_task(call.user, call.path("task_id"))


@route(
    "PATCH",
    "/tasks/{task_id}",
    name="updateTask",
    summary="Edit a task",
    tags=("tasks",),
    body=M("tasks:TaskUpdate"),
    response=M("tasks:TaskOut"),
    if_match=True,
    errors=(409,),
)
def update_task(call: Call) -> Any:
    from chalicelib.logic import tasks

    return tasks.update_task(call.user, call.path("task_id"), call.body, version=call.version)  # type: ignore[arg-type]


@route(
    "DELETE",
    "/tasks/{task_id}",
    name="deleteTask",
    summary="Delete a task that is not running",
    tags=("tasks",),
    status=204,
    errors=(409,),
)
def delete_task(call: Call) -> Any:
    from chalicelib.logic import tasks

    tasks.delete_task(call.user, call.path("task_id"))


@route(
    "POST",
    "/tasks/{task_id}/cancel",
    name="cancelTask",
    summary="Cancel (queued: at once; running: requested)",
    tags=("tasks",),
    response=M("tasks:TaskOut"),
    errors=(409,),
)
def cancel_task(call: Call) -> Any:
    from chalicelib.logic import tasks

    return tasks.cancel_task(call.user, call.path("task_id"))


@route(
    "POST",
    "/tasks/{task_id}/retry",
    name="retryTask",
    summary="New attempt of a failed or canceled task",
    tags=("tasks",),
    response=M("tasks:TaskOut"),
    status=202,
    errors=(409, 503),
)
def retry_task(call: Call) -> Any:
    from chalicelib.logic import tasks

    return tasks.retry_task(call.user, call.path("task_id"))


@route(
    "GET",
    "/tasks/{task_id}/activity",
    name="listTaskActivity",
    summary="The task's telemetry events, oldest first (nextCursor: pass as `after`)",
    tags=("tasks",),
    query=M("tasks:ActivityQuery"),
    response=M("tasks:ActivityList"),
)
def task_activity(call: Call) -> Any:
    from chalicelib.logic import tasks

    return tasks.activity(
        call.user, call.path("task_id"), after=call.query.after, limit=call.query.limit
    )


# --------------------------------------------------------------------------------- files


@route(
    "POST",
    "/tasks/{task_id}/files",
    name="createTaskFile",
    summary="Register a file and get a presigned S3 POST for it",
    tags=("files",),
    body=M("files:FileCreate"),
    response=M("files:FileUpload"),
    status=201,
)
def create_file(call: Call) -> Any:
    from chalicelib.logic import files

    return files.create_upload(call.user, call.path("task_id"), call.body)


@route(
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
)
def create_project_file(call: Call) -> Any:
    from chalicelib.logic import files

    return files.create_project_upload(call.user, call.path("project_id"), call.body)


@route(
    "GET",
    "/tasks/{task_id}/files",
    name="listTaskFiles",
    summary="A task's files",
    tags=("files",),
    query=M("base:ListQuery"),
    response=M("files:FileList"),
)
def list_files(call: Call) -> Any:
    from chalicelib.logic import files

    return files.list_files(
        call.user, call.path("task_id"), limit=call.query.limit, cursor=call.query.cursor
    )


@route(
    "GET",
    "/files/{file_id}",
    name="getFile",
    summary="File metadata; a short-lived downloadUrl once it is ready",
    tags=("files",),
    response=M("files:FileOut"),
)
def get_file(call: Call) -> Any:
    from chalicelib.logic import files

    return files.get_file(call.user, call.path("file_id"))


@route(
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
def complete_file(call: Call) -> Any:
    from chalicelib.logic import files

    return files.complete_upload(call.user, call.path("file_id"))


# --------------------------------------------------------------------------------- stats


@route(
    "GET",
    "/stats",
    name="getStats",
    summary="Counts by status and recent durations",
    tags=("stats",),
    query=M("stats:StatsQuery"),
    response=M("stats:StatsOut"),
    errors=(404,),
)
def stats(call: Call) -> Any:
    from chalicelib.logic.stats import project_stats

    return project_stats(call.user, call.query.project_id)


# =============================================================================================
# Router: how tasks are routed (chalicelib/router, chalicelib/logic/routing.py).
# =============================================================================================


@route(
    "POST",
    "/router/explain",
    name="explainRoute",
    summary="The route decision for an instruction and input, without creating a task",
    tags=("router",),
    body=M("router:ExplainRequest"),
    response=M("router:RouteDecisionOut"),
    errors=(400,),
    description=(
        "Runs the router as it would run for a task now (same route health): pinned module, "
        "rules, classifier, capability and health filters, confidence threshold, fallback."
    ),
)
def explain_route(call: Call) -> Any:
    from chalicelib.logic import routing

    body = call.body
    return routing.explain(body.instruction, body.input, body.params, body.module)


@route(
    "GET",
    "/router/catalog",
    name="getRouterCatalog",
    summary="Routes with their health, and the modules they run",
    tags=("router",),
    response=M("router:CatalogOut"),
)
def router_catalog(call: Call) -> Any:
    from chalicelib.logic import routing

    return routing.catalog()


# =============================================================================================
# Internal telemetry, WebSocket, SQS and schedule handlers.
# Handler names are a contract with infra/: ws_connect, ws_message, ws_disconnect, dispatch
# (SQS), sweep (schedule). Logic lives in chalicelib/logic/{telemetry,websocket,dispatch,sweeper}.
# =============================================================================================

# Chalice refuses to package WebSocket handlers without this flag.
app.experimental_feature_flags.update(["WEBSOCKETS"])

# Records of one batch run in parallel (chalicelib.logic.dispatch); keep a batch short enough
# that its slowest task fits the Lambda timeout.
DISPATCH_BATCH_SIZE = 5


@route(
    "POST",
    "/internal/telemetry",
    name="postInternalTelemetry",
    summary="External workers push a progress/log/update event for a queued or running task",
    tags=("internal",),
    auth=AUTH_BRIDGE,
    body=M("telemetry:TelemetryIn"),
    response=M("tasks:ActivityEvent"),
    status=202,
    errors=(404, 409),
)
def internal_telemetry(call: Call) -> Any:
    from chalicelib.logic import telemetry
    from chalicelib.models.tasks import ActivityEvent

    body = call.body
    stored = telemetry.record_external(
        task_id=body.task_id,
        kind=body.kind,
        message=body.message,
        actor=body.actor,
        progress=body.progress,
        data=body.data,
    )
    return ActivityEvent.model_validate(stored)


@app.on_ws_connect()
def ws_connect(event: Any) -> Response:
    """``$connect``: no authorizer in Chalice, so the token is checked here; non-200 refuses."""
    from chalicelib.logic import websocket

    params = event.to_dict().get("queryStringParameters") or {}
    try:
        websocket.connect(event.connection_id, params.get("token"), params.get("taskId") or None)
    except AppError as exc:
        return Response(body=exc.envelope(), status_code=exc.status)
    except Exception:
        _logger.exception("websocket connect failed")
        return Response(body=_INTERNAL, status_code=500)
    return Response(body="", status_code=200)


@app.on_ws_message()
def ws_message(event: Any) -> None:
    """``$default``: subscribe / unsubscribe / ping; the reply is posted to the same socket."""
    from chalicelib.logic import telemetry, websocket

    try:
        reply = websocket.message(event.connection_id, event.to_dict().get("body"))
    except Exception:
        _logger.exception("websocket message failed")
        reply = {"type": "error", "code": "internal_error", "message": "Internal server error."}
    telemetry.send(event.connection_id, reply)


@app.on_ws_disconnect()
def ws_disconnect(event: Any) -> None:
    """``$disconnect`` is best effort on API Gateway; the TTL removes what it misses."""
    from chalicelib.logic import websocket

    websocket.disconnect(event.connection_id)


@app.on_sqs_message(
    queue=os.environ.get("AION_DISPATCH_QUEUE_NAME", "aion-dev-dispatch"),
    batch_size=DISPATCH_BATCH_SIZE,
)
def dispatch(event: Any) -> None:
    """Run the tasks of a batch. Raises (so SQS redelivers with backoff) if any must retry."""
    from chalicelib.logic import dispatch as dispatcher

    context = event.context
    remaining = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):

        def remaining() -> float:
            return context.get_remaining_time_in_millis() / 1000.0

    dispatcher.handle_batch([record.to_dict() for record in event], remaining_seconds=remaining)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep(event: Any) -> None:
    """Re-queue or fail running tasks whose lease expired; re-send stale queued tasks; carry
    on purging deleted projects."""
    from chalicelib.logic import sweeper

    report = sweeper.sweep()
    if report.examined or report.purge.projects:
        _logger.info(
            "sweep",
            extra={
                "requeued": len(report.requeued),
                "failed": len(report.failed),
                "canceled": len(report.canceled),
                "redriven": len(report.redriven),
                "purgeProjects": len(report.purge.projects),
                "purgeFinished": len(report.purge.finished),
                "purgeTasksDeleted": report.purge.tasks_deleted,
                "purgeCancelRequested": len(report.purge.cancel_requested),
                "purgeFilesDeleted": report.purge.files_deleted,
                "purgeSubscriptionsDeleted": report.purge.subscriptions_deleted,
            },
        )
