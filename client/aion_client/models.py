"""Typed shapes of the API's answers (camelCase on the wire, snake_case here).

Tolerant by design: unknown fields are kept (``model_extra``) and most fields have defaults, so
a newer server never breaks an older client. ``to_api()`` gives the JSON the API sent back.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

TERMINAL_STATUSES = frozenset({"completed", "failed", "canceled"})
# Where a watch ends: the task will not move again without someone acting on it.
END_STATUSES = TERMINAL_STATUSES | {"needs_review"}


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def to_api(self) -> dict[str, Any]:
        """The object as the API's JSON (camelCase; fields the answer did not carry left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class User(ApiModel):
    id: str
    email: str = ""
    name: str = ""
    role: str = "member"
    created_at: str | None = None
    updated_at: str | None = None
    version: int | None = None


class TokenPair(ApiModel):
    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int = 0
    user: User | None = None


class Project(ApiModel):
    id: str
    name: str
    description: str = ""
    owner_id: str | None = None
    member_ids: list[str] = Field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None
    version: int | None = None


class Alternative(ApiModel):
    module: str
    score: float = 0.0


class RouteDecision(ApiModel):
    """How the router placed a task: ``target`` (executor, llm, review) and ``module``."""

    target: str = ""
    module: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    confidence: float | None = None
    reason: str = ""
    reason_code: str | None = None
    alternatives: list[Alternative] = Field(default_factory=list)
    decided_by: str | None = None
    micros: int | None = None


class Task(ApiModel):
    id: str
    project_id: str = ""
    title: str = ""
    instruction: str = ""
    input: Any = None
    params: dict[str, Any] = Field(default_factory=dict)
    module: str | None = None
    assignee_id: str | None = None
    priority: str = "normal"
    status: str = "queued"
    route: RouteDecision | None = None
    result: Any = None
    result_ref: str | None = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    cancel_requested: bool = False
    created_by: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    version: int | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_finished(self) -> bool:
        """Terminal, or waiting for a person (``needs_review``)."""
        return self.status in END_STATUSES


# A review queue item is a task in needs_review (its route says why: ``route.reason_code``).
ReviewItem = Task


class TelemetryEvent(ApiModel):
    """One step of a task, as streamed over the WebSocket and kept in its activity log."""

    type: str = "telemetry"
    task_id: str
    project_id: str = ""
    seq: int
    kind: str
    status: str = ""
    progress: float | None = None
    message: str = ""
    at: str = ""
    actor: str = ""
    data: Any = None

    @property
    def ends_watch(self) -> bool:
        """A status event into a terminal state or needs_review: nothing more will come."""
        return self.kind == "status" and self.status in END_STATUSES


class File(ApiModel):
    id: str
    task_id: str | None = None
    project_id: str = ""
    filename: str = ""
    content_type: str = ""
    size: int = 0
    status: str = "pending"
    created_by: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    download_url: str | None = Field(default=None, repr=False)


class UploadForm(ApiModel):
    url: str
    fields: dict[str, str] = Field(default_factory=dict, repr=False)
    expires_in: int | None = None


class FileUpload(ApiModel):
    file: File
    upload: UploadForm


class RouteInfo(ApiModel):
    name: str
    available: bool = False
    state: str | None = None
    configured: bool | None = None
    failures: int | None = None
    retry_at: float | None = None
    provider: str | None = None
    detail: str | None = None


class ModuleInfo(ApiModel):
    name: str
    description: str = ""
    route: str = ""
    available: bool = False
    params_schema: dict[str, Any] | None = None
    max_input_bytes: int | None = None
    version: str | None = None


class Catalog(ApiModel):
    routes: list[RouteInfo] = Field(default_factory=list)
    modules: list[ModuleInfo] = Field(default_factory=list)
    source: str | None = None


class ApiKey(ApiModel):
    id: str
    name: str = ""
    prefix: str = ""
    created_at: str | None = None
    expires_at: str | None = None
    last_used_at: str | None = None


class CreatedApiKey(ApiKey):
    """The answer to creating a key: ``key`` is shown this once and never again."""

    key: str = Field(repr=False)


class WsTicket(ApiModel):
    ticket: str = Field(repr=False)
    expires_in: int | None = None


ItemT = TypeVar("ItemT", bound=ApiModel)


class Page(ApiModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None
