"""Tasks, their activity (telemetry) events and the dispatch message.

``Status`` is the one list of task statuses; which moves between them are legal lives with the
state machine (``chalicelib.logic.lifecycle``), which checks its table against this list.
``TelemetryEvent`` is the one event model, from the task write to the HTTP/WebSocket edge:
snake_case fields inside, camelCase only in ``to_json`` (REST) and ``to_wire`` (WebSocket).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

from chalicelib.models.base import (
    MODULE_FORMAT,
    NOT_BLANK,
    ApiModel,
    Cursor,
    Id,
    Limit,
    QueryModel,
    RequestModel,
)

Status = Literal["queued", "running", "completed", "failed", "canceled", "needs_review"]
STATUSES: tuple[Status, ...] = get_args(Status)
EventKind = Literal["status", "routed", "progress", "log", "update", "reviewed"]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)
Priority = Literal["low", "normal", "high", "urgent"]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Instruction = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
ModuleName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")
]
# A module pinned on a task: one the router knows (400 unknown_module otherwise).
KnownModule = Annotated[ModuleName, Field(json_schema_extra={"format": MODULE_FORMAT})]
SearchText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NOT_BLANK)
]
TaskSort = Literal["created", "updated", "duration"]
SortOrder = Literal["desc", "asc"]
# Why a queued task waits for a place (fair dispatch, chalicelib.logic.admission).
WaitingCode = Literal["user_limit", "project_limit", "long_lane_full", "llm_lane_full"]


class TaskWaiting(ApiModel):
    """A queued task waits for a place: the cap it met, said for people, and since when."""

    code: WaitingCode
    message: str
    since: str = Field(description="ISO 8601 UTC: when the task began waiting for this reason")


class TaskOut(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "tsk_1d2c3b4a5f6e7d8c9b0a",
                    "projectId": "prj_9a8b7c6d5e4f30211203",
                    "title": "Count the words",
                    "instruction": "Count the words",
                    "input": "a b c",
                    "inputRef": None,
                    "params": {},
                    "module": None,
                    "assigneeId": None,
                    "priority": "normal",
                    "status": "completed",
                    "waiting": None,
                    "route": {
                        "target": "executor",
                        "module": "text.stats",
                        "params": {},
                        "confidence": 0.93,
                        "reason": "the instruction asks for counts",
                        "alternatives": [{"module": "text.summarize", "score": 0.04}],
                        "decidedBy": "classifier",
                        "micros": 412,
                    },
                    "result": {
                        "characters": 5,
                        "words": 3,
                        "lines": 1,
                        "sentences": 1,
                        "readingTimeSeconds": 1,
                        "topWords": [["a", 1], ["b", 1], ["c", 1]],
                    },
                    "resultRef": None,
                    "error": None,
                    "attempts": 1,
                    "cancelRequested": False,
                    "createdBy": "usr_5f0c1e2d3b4a59687766",
                    "createdAt": "2026-11-03T10:00:00.000Z",
                    "updatedAt": "2026-11-03T10:00:01.250Z",
                    "startedAt": "2026-11-03T10:00:00.310Z",
                    "finishedAt": "2026-11-03T10:00:01.250Z",
                    "version": 1,
                }
            ]
        }
    )

    id: str
    project_id: str
    title: str
    instruction: str
    input: Any = None
    input_ref: str | None = Field(
        default=None,
        description="S3 key of an input too large to keep on the task (files bucket); a single "
        "task's responses still carry the input itself, lists only this key",
    )
    params: dict[str, Any]
    module: str | None
    assignee_id: str | None
    priority: Priority
    status: Status
    waiting: TaskWaiting | None = Field(
        default=None,
        description="Why a queued task waits for a place (fair dispatch: per-person, "
        "per-project, long-task and LLM-task caps); null otherwise",
    )
    route: dict[str, Any] | None
    result: Any = None
    result_ref: str | None = Field(
        default=None, description="S3 key of a result too large to inline (files bucket)"
    )
    error: dict[str, Any] | None
    attempts: int
    cancel_requested: bool
    created_by: str
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None
    version: int


class TaskList(ApiModel):
    items: list[TaskOut]
    next_cursor: str | None
    items_read: int | None = Field(
        default=None,
        description="Tasks read to fill this page. A filtered page (module, assignee, text "
        "search, ...) reads at most a fixed number of tasks, so it may hold fewer items than "
        "`limit`, even none, and still have a `nextCursor`: pass it to search further.",
    )


# A task's assignee is a member of its project (400 otherwise): an id the client was given,
# never one made up. The document says so with a format of its own.
MEMBER_ID_FORMAT = "aion-member-id"
AssigneeId = Annotated[
    Id,
    Field(
        description="The id of a member of the task's project (400 otherwise)",
        json_schema_extra={"format": MEMBER_ID_FORMAT},
    ),
]


class TaskCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "projectId": "prj_9a8b7c6d5e4f30211203",
                    "instruction": "Count the words",
                    "input": "a b c",
                    "priority": "normal",
                }
            ]
        }
    )

    project_id: Id
    instruction: Instruction
    title: Title | None = None
    input: Any = None
    params: dict[str, Any] = Field(default_factory=dict)
    module: KnownModule | None = None
    assignee_id: AssigneeId | None = None
    priority: Priority = "normal"


def _no_default(schema: dict[str, Any]) -> None:
    """Leave a field's None default out of its schema (null is not a value it takes)."""
    schema.pop("default", None)


class TaskUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "Word count of the memo", "priority": "high"}]}
    )

    # Omitted: unchanged. Null clears module, assignee and input; the others cannot be null
    # (400), so their schema has no null (and no null default).
    title: Title | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    instruction: Instruction | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    input: Any = None
    params: dict[str, Any] | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    module: KnownModule | None = None
    assignee_id: AssigneeId | None = None
    priority: Priority | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)


class TaskListQuery(QueryModel):
    project_id: Id | None = Field(default=None, alias="projectId")
    status: Status | None = None
    assignee_id: Id | None = Field(default=None, alias="assigneeId")
    module: ModuleName | None = Field(
        default=None, description="The module the task runs (pinned or chosen by the router)"
    )
    q: SearchText | None = Field(
        default=None,
        description="Words that must all appear in the title or instruction (case-insensitive)",
    )
    created_from: AwareDatetime | None = Field(
        default=None, alias="createdFrom", description="Created at or after (ISO 8601 with zone)"
    )
    created_before: AwareDatetime | None = Field(
        default=None, alias="createdBefore", description="Created before (ISO 8601 with zone)"
    )
    sort: TaskSort = Field(
        default="created",
        description="created (any list), updated (needs a status), duration (needs a "
        "terminal status: completed, failed or canceled)",
    )
    order: SortOrder = "desc"
    limit: Limit | None = None
    cursor: Cursor | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> TaskListQuery:
        if self.created_from and self.created_before and self.created_before <= self.created_from:
            raise ValueError("createdBefore must be after createdFrom")
        return self


class ActivityQuery(QueryModel):
    after: int | None = Field(default=None, ge=0, le=10**12, description="Events with seq > after")
    limit: Limit | None = None


class TelemetryEvent(ApiModel):
    """One event of a task's activity log; its seq starts at 1 and strictly increases per task."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "telemetry",
                    "taskId": "tsk_1d2c3b4a5f6e7d8c9b0a",
                    "projectId": "prj_9a8b7c6d5e4f30211203",
                    "seq": 4,
                    "kind": "progress",
                    "status": "running",
                    "progress": 0.5,
                    "message": "counted 2 of 4 paragraphs",
                    "at": "2026-11-03T10:00:00.820Z",
                    "actor": "executor",
                    "data": None,
                }
            ]
        },
    )

    type: Literal["telemetry"] = "telemetry"
    task_id: str
    project_id: str
    seq: int
    kind: EventKind
    status: Status
    progress: float | None = None
    message: str
    at: str
    actor: str
    data: Any = None

    def to_wire(self) -> dict[str, Any]:
        """The WebSocket shape: camelCase, ``progress`` and ``data`` only when set."""
        return self.model_dump(by_alias=True, exclude_none=True)


# The name the activity routes give the event (REST responses, OpenAPI).
ActivityEvent = TelemetryEvent


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event as its writer describes it; the task write adds the task, project, seq and time,
    and the status the task is in when ``status`` is not given."""

    kind: EventKind
    message: str
    actor: str
    status: Status | None = None
    progress: float | None = None
    data: Any = None

    def __post_init__(self) -> None:
        # Refused before anything is written (a seq taken for a bad event would be a gap).
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"unknown task status {self.status!r}")

    def stored(
        self, *, task_id: str, project_id: str, seq: int, status: Status, at: str
    ) -> TelemetryEvent:
        return TelemetryEvent(
            task_id=task_id,
            project_id=project_id,
            seq=seq,
            kind=self.kind,
            status=self.status or status,
            progress=self.progress,
            message=self.message,
            at=at,
            actor=self.actor,
            data=self.data,
        )


class ActivityList(ApiModel):
    items: list[TelemetryEvent]
    next_cursor: str | None


class DispatchMessage(ApiModel):
    """The SQS message that asks the dispatcher to run one attempt of a task."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True
    )

    task_id: Annotated[str, StringConstraints(min_length=1)]
    attempt: int
    # How many times this attempt already waited for a place (chalicelib.logic.admission).
    deferrals: int = 0

    def body(self) -> str:
        """The message body: ``{"taskId": ..., "attempt": ...}`` (and ``deferrals`` once it
        waited)."""
        return json.dumps(self.model_dump(mode="json", by_alias=True, exclude_defaults=True))

    @classmethod
    def parse(cls, body: str) -> DispatchMessage:
        """The message in ``body``; ``ValueError`` when it is not a dispatch message."""
        return cls.model_validate_json(body)


BulkAction = Literal["cancel", "retry", "delete"]
# What happened to one task of a bulk action. Done: canceled, cancel_requested (running: its
# run stops), retried, deleted. Left alone: already_finished (cancel of a finished task),
# not_retryable (retry of a task that did not fail or was not canceled), running (delete of a
# running task), not_found (no such task, or not yours), conflict (it kept changing), error.
BulkOutcome = Literal[
    "canceled",
    "cancel_requested",
    "retried",
    "deleted",
    "already_finished",
    "not_retryable",
    "running",
    "not_found",
    "conflict",
    "error",
]
BULK_DONE: tuple[BulkOutcome, ...] = ("canceled", "cancel_requested", "retried", "deleted")
MAX_BULK_TASKS = 100


class TaskBulkRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"action": "cancel", "taskIds": ["tsk_1d2c3b4a5f6e7d8c9b0a"]}]
        }
    )

    action: BulkAction
    task_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BULK_TASKS)]


class TaskBulkResult(ApiModel):
    task_id: str
    outcome: BulkOutcome
    status: Status | None = Field(
        default=None, description="The task's status afterwards (none when deleted or not found)"
    )
    message: str


class TaskBulkResponse(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "cancel",
                    "results": [
                        {
                            "taskId": "tsk_1d2c3b4a5f6e7d8c9b0a",
                            "outcome": "canceled",
                            "status": "canceled",
                            "message": "Canceled.",
                        },
                        {
                            "taskId": "tsk_0a9b8c7d6e5f4a3b2c1d",
                            "outcome": "already_finished",
                            "status": None,
                            "message": "A completed task cannot be canceled.",
                        },
                    ],
                    "summary": {"canceled": 1, "already_finished": 1},
                }
            ]
        }
    )

    action: BulkAction
    results: list[TaskBulkResult] = Field(description="One per distinct task id, in order")
    summary: dict[str, int] = Field(description="How many tasks had each outcome")
