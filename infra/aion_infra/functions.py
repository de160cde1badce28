"""The Lambda functions Chalice creates from app.py, and what each one may touch.

Each function gets its own IAM role built from this table (least privilege): the DynamoDB
tables it reads or writes (by short name, see ``tables.py``), the queue, the files bucket,
the secrets, the WebSocket management API, the network. ``ALL_TABLES`` is for the REST
handler, which serves every resource of the API, so a table added later is covered there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ALL_TABLES = "*"

# Tables of the realtime path, shared by everything that publishes telemetry: appending an
# event bumps the task's seq and writes the activity item; fan-out reads subscriptions and
# deletes the connection (and its subscriptions) on a 410.
_PUBLISH_RW = ("tasks", "activity", "ws-connections", "ws-subscriptions")
# Authorising a subscription (chalicelib/logic/access.py): the task or project, the caller's
# membership; the reply carries recent activity.
_AUTHZ_RO = ("projects", "project-members", "tasks", "files", "activity")
# Uploads (chalicelib/logic/files.py): presigned POST with a tag, HEAD and copy source, delete.
_UPLOAD_ACTIONS = ("s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:DeleteObject")
# Completed files (files/): completion copies the checked upload there tagged ready (CopyObject
# needs PutObject + PutObjectTagging on the destination), downloads are presigned GETs, and
# deleting a task deletes its files. No upload form is ever issued for this prefix.
FINAL_FILES_PREFIX = "files/"
_FINAL_ACTIONS = ("s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:DeleteObject")


@dataclass(frozen=True)
class S3Grant:
    actions: tuple[str, ...]
    prefix: str  # object key prefix in the files bucket (see chalicelib/logic/files.py)


@dataclass(frozen=True)
class FunctionSpec:
    handler: str  # the Chalice handler's function name in app.py
    logical_id: str  # the resource id `chalice package` gives it
    kind: Literal["rest", "websocket", "sqs", "schedule"]
    tables_rw: tuple[str, ...] | str = ()
    tables_ro: tuple[str, ...] = ()
    in_vpc: bool = False  # reaches the executor over private service discovery
    sends_to_queue: bool = False
    consumes_queue: bool = False
    manages_connections: bool = False  # execute-api:ManageConnections on the WebSocket API
    jwt_secret: bool = False
    bridge_token: bool = False
    files: tuple[S3Grant, ...] = ()
    llm: bool = False  # runs the LLM route: Bedrock (model id) or an endpoint's API key secret
    memory_mb: int = 512
    timeout_s: int = 29


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        handler="api_handler",
        logical_id="APIHandler",
        kind="rest",
        tables_rw=ALL_TABLES,
        in_vpc=True,  # GET /health and the router catalogue ask the executor
        sends_to_queue=True,  # POST /tasks and retry
        manages_connections=True,  # first event of a task, /internal/telemetry, close on revoke
        jwt_secret=True,
        bridge_token=True,  # POST /internal/telemetry
        # Presigned POST/GET carry this role's permissions: the POST stores the object tagged
        # pending (which needs PutObjectTagging too); completion copies it to files/ (ready)
        # and deletes the upload. tasks/: uploads to a task; uploads/: uploads to a project.
        files=(
            S3Grant(_UPLOAD_ACTIONS, "tasks/"),
            S3Grant(_UPLOAD_ACTIONS, "uploads/"),
            S3Grant(_FINAL_ACTIONS, FINAL_FILES_PREFIX),
            # Large results: read by GET /tasks/{id}; deleted with their task or project.
            S3Grant(("s3:GetObject", "s3:DeleteObject"), "results/"),
            # Inputs too large for the task item (chalicelib/logic/input_store.py): written by
            # POST /tasks and PATCH, read by GET /tasks/{id}, deleted when replaced or deleted.
            S3Grant(("s3:PutObject", "s3:GetObject", "s3:DeleteObject"), "inputs/"),
        ),
        memory_mb=1024,  # argon2id needs memory; more memory is also more CPU on Lambda
        timeout_s=29,  # API Gateway's integration limit
    ),
    FunctionSpec(
        handler="ws_connect",
        logical_id="WebsocketConnect",
        kind="websocket",
        tables_rw=("ws-tickets", "ws-connections", "ws-subscriptions"),
        # users: the token's user as they are now (current role; a disabled user is refused).
        tables_ro=(*_AUTHZ_RO, "users"),
        jwt_secret=True,
        memory_mb=512,
        timeout_s=10,
    ),
    FunctionSpec(
        handler="ws_message",
        logical_id="WebsocketMessage",
        kind="websocket",
        tables_rw=("ws-connections", "ws-subscriptions"),
        tables_ro=_AUTHZ_RO,
        manages_connections=True,  # replies (subscribed, pong, error) to the caller
        memory_mb=512,
        timeout_s=10,
    ),
    FunctionSpec(
        handler="ws_disconnect",
        logical_id="WebsocketDisconnect",
        kind="websocket",
        tables_rw=("ws-connections", "ws-subscriptions"),
        memory_mb=256,
        timeout_s=10,
    ),
    FunctionSpec(
        handler="dispatch",
        logical_id="Dispatch",
        kind="sqs",
        # The routes' circuit breakers; the places of fair dispatch (chalicelib/logic/admission.py).
        tables_rw=(*_PUBLISH_RW, "route-health", "slots"),
        tables_ro=("files",),
        in_vpc=True,
        consumes_queue=True,
        sends_to_queue=True,  # a task waiting for a place is sent again, delayed
        manages_connections=True,
        bridge_token=True,  # the executor authenticates its callers with it
        files=(
            # Task inputs by reference (LLM route): only ready files, never an upload key.
            S3Grant(("s3:GetObject",), FINAL_FILES_PREFIX),
            S3Grant(("s3:PutObject",), "results/"),  # results over the inline limit
            # Large inputs are read back; one is moved out of an item too large to end.
            S3Grant(("s3:GetObject", "s3:PutObject"), "inputs/"),
        ),
        llm=True,
        memory_mb=1024,
        # The executor call gets min(AION_EXECUTOR_TIMEOUT_SECONDS=120, remaining - 10).
        timeout_s=180,
    ),
    FunctionSpec(
        handler="sweep",
        logical_id="Sweep",
        kind="schedule",
        # Purging deleted projects (chalicelib/logic/purge.py): the markers, the memberships a
        # delete had no room for, the tasks' files; tasks, activity, subscriptions as above.
        tables_rw=(*_PUBLISH_RW, "project-purges", "project-members", "files"),
        sends_to_queue=True,  # re-queues tasks whose lease expired
        manages_connections=True,
        # Purging deleted projects: the objects of their files (every key a file record can
        # name) and their tasks' large results. Delete only, by key: no listing.
        files=(
            *(
                S3Grant(("s3:DeleteObject",), prefix)
                for prefix in ("tasks/", "uploads/", FINAL_FILES_PREFIX, "results/")
            ),
            # Deleted with their project; one is moved out of an item too large to end.
            S3Grant(("s3:DeleteObject", "s3:PutObject"), "inputs/"),
        ),
        memory_mb=256,
        timeout_s=60,
    ),
)


def by_logical_id() -> dict[str, FunctionSpec]:
    return {f.logical_id: f for f in FUNCTIONS}


def specs_for(logical_ids: list[str]) -> dict[str, FunctionSpec]:
    """The specs of the functions `chalice package` produced; an unknown one is an error, so a
    new handler never ships with a role nobody reviewed."""
    known = by_logical_id()
    unknown = sorted(set(logical_ids) - set(known))
    if unknown:
        raise ValueError(
            f"app.py defines functions infra does not know: {', '.join(unknown)}; add them to "
            "infra/aion_infra/functions.py with the permissions they need"
        )
    return {logical_id: known[logical_id] for logical_id in logical_ids}


def app_functions(app: Any) -> dict[str, str]:
    """The Lambda functions a Chalice app object defines, as ``{handler name: kind}``.

    Read from what the app registered (its routes, WebSocket handlers and event sources), the
    same registrations ``chalice package`` turns into functions: never from app.py's source.
    """
    from chalice.app import ScheduledEventConfig, SQSEventConfig

    found: dict[str, str] = {}
    if app.routes:
        found["api_handler"] = "rest"  # Chalice serves every REST route from one function
    for config in app.websocket_handlers.values():
        found[config.name] = "websocket"
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig):
            found[source.name] = "sqs"
        elif isinstance(source, ScheduledEventConfig):
            found[source.name] = "schedule"
        else:
            raise ValueError(f"app defines a {type(source).__name__} ({source.name}) infra lacks")
    return found
