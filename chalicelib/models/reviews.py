"""The person route: the review queue (``GET /reviews``) and a person's action on a task that
waits in ``needs_review`` (``POST /tasks/{id}/review``).

The action body is one of four shapes told apart by ``action``; each refuses the fields of the
others, so a typo or a mixed-up body is a 400 that names the field, never a silent default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel, StringConstraints, field_validator

from chalicelib.models.base import NOT_BLANK, ApiModel, Cursor, Id, Limit, QueryModel, RequestModel
from chalicelib.models.route_decision import ReasonCode
from chalicelib.models.tasks import ModuleName, TaskOut

Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NOT_BLANK)
]


# What _present refuses, in the document: null, and text that strip() leaves empty (spelled out
# beyond \s, which means fewer characters in JSON Schema's ECMA-262 regexes than in Python).
def _present_schema(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # an omitted value is not a null one
    schema["not"] = {
        "anyOf": [{"type": "null"}, {"type": "string", "pattern": r"^[\s\x1c-\x1f\x85]*$"}]
    }


def _present(value: Any, what: str) -> Any:
    """A value a person gave: not null, not blank text."""
    if value is None:
        raise ValueError(f"{what} may not be null")
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{what} may not be empty")
    return value


class ReviewAnswer(RequestModel):
    """The person's own result: the task completes with it (text or any JSON value)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"action": "answer", "result": "Autumn moonlight—\na worm digs silently"}]
        }
    )

    action: Literal["answer"]
    result: Any = Field(
        description="The result, text or JSON; stored as the task's result",
        json_schema_extra=_present_schema,
    )

    @field_validator("result")
    @classmethod
    def _result(cls, value: Any) -> Any:
        return _present(value, "result")


class ReviewRun(RequestModel):
    """Run the task with this module (pinned: the router does not choose another)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "run",
                    "module": "crypto.hash",
                    "params": {"algorithm": "sha1"},
                    "input": "the quick brown fox",
                }
            ]
        }
    )

    action: Literal["run"]
    module: ModuleName
    params: dict[str, Any] | None = Field(
        default=None,
        description="Checked against the module's params JSON Schema (GET /router/catalog). "
        "Omitted: the task's own params when the module is the one it asked for, else none",
    )
    input: Any = Field(
        default=None,
        description="Replaces the task's input: text, JSON, or the id of a ready file. "
        "Omitted: the task keeps its input",
        json_schema_extra=_present_schema,
    )

    @field_validator("input")
    @classmethod
    def _input(cls, value: Any) -> Any:
        return _present(value, "input")


class ReviewInput(RequestModel):
    """Give the task its input; the router decides its route again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "input",
                    "input": "The meeting moved to Friday. Everyone agreed the plan works.",
                }
            ]
        }
    )

    action: Literal["input"]
    input: Any = Field(
        description="Text, JSON, or the id of a ready file (uploaded to the task with "
        "POST /tasks/{task_id}/files, or to its project with POST /projects/{project_id}/files)",
        json_schema_extra=_present_schema,
    )

    @field_validator("input")
    @classmethod
    def _input(cls, value: Any) -> Any:
        return _present(value, "input")


class ReviewReject(RequestModel):
    """The task fails with ``error.code`` ``rejected`` and the person's reason."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"action": "reject", "reason": "Duplicate of yesterday's request."}]
        }
    )

    action: Literal["reject"]
    reason: Reason


ReviewActionBody = Annotated[
    ReviewAnswer | ReviewRun | ReviewInput | ReviewReject, Field(discriminator="action")
]


class ReviewAction(RootModel[ReviewActionBody]):
    """``POST /tasks/{id}/review``: one of answer, run, input, reject."""


class ReviewListQuery(QueryModel):
    project_id: Id | None = Field(default=None, alias="projectId")
    reason_code: ReasonCode | None = Field(default=None, alias="reasonCode")
    limit: Limit | None = None
    cursor: Cursor | None = None


class ReviewItem(TaskOut):
    """A task in ``needs_review``; ``route`` is the router's decision: the module it asked for,
    ``reasonCode`` and ``reason`` (why it waits), ``alternatives`` and ``params``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "tsk_4b3a2f1e0d9c8b7a6f5e",
                    "projectId": "prj_9a8b7c6d5e4f30211203",
                    "title": "Write a haiku about autumn",
                    "instruction": "Write a haiku about autumn",
                    "input": None,
                    "inputRef": None,
                    "params": {},
                    "module": None,
                    "assigneeId": "usr_5f0c1e2d3b4a59687766",
                    "priority": "normal",
                    "status": "needs_review",
                    "waiting": None,
                    "route": {
                        "target": "review",
                        "module": "llm.generate",
                        "params": {},
                        "confidence": 0.88,
                        "reason": "classified as llm.generate (88%); no LLM route is configured "
                        "or healthy, so a person decides",
                        "reasonCode": "route_unavailable",
                        "alternatives": [{"module": "text.summarize", "score": 0.05}],
                        "decidedBy": "classifier",
                        "micros": 64,
                    },
                    "result": None,
                    "resultRef": None,
                    "error": None,
                    "attempts": 1,
                    "cancelRequested": False,
                    "createdBy": "usr_5f0c1e2d3b4a59687766",
                    "createdAt": "2026-11-03T10:00:00.000Z",
                    "updatedAt": "2026-11-03T10:00:00.420Z",
                    "startedAt": None,
                    "finishedAt": None,
                    "version": 2,
                }
            ]
        }
    )


class ReviewList(ApiModel):
    items: list[ReviewItem] = Field(description="Oldest waiting first")
    next_cursor: str | None
