"""``POST /internal/telemetry``: events pushed by external workers (bridge token holders)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.models.base import Id, RequestModel
from chalicelib.models.tasks import EVENT_KINDS

# The event kinds workers may send: status changes (and routing, reviews) stay with the platform.
WorkerEventKind = Literal["progress", "log", "update"]
if not set(get_args(WorkerEventKind)) <= set(EVENT_KINDS):
    raise RuntimeError("WorkerEventKind must be a subset of chalicelib.models.tasks.EventKind")


class TelemetryIn(RequestModel):
    """One event for a queued or running task. Status changes stay with dispatch."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "taskId": "tsk_1d2c3b4a5f6e7d8c9b0a",
                    "kind": "progress",
                    "message": "rendered page 3 of 6",
                    "progress": 0.5,
                    "actor": "pdf-worker",
                }
            ]
        }
    )

    task_id: Id
    kind: WorkerEventKind
    message: Annotated[str, StringConstraints(max_length=2000)] = ""
    progress: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    actor: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "worker"
    data: Any = None
