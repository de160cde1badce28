"""``POST /internal/telemetry``: events pushed by external workers (bridge token holders)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field, StringConstraints

from chalicelib.models.base import Id, RequestModel
from chalicelib.models.tasks import EVENT_KINDS

# The event kinds workers may send: status changes (and routing, reviews) stay with the platform.
WorkerEventKind = Literal["progress", "log", "update"]
if not set(get_args(WorkerEventKind)) <= set(EVENT_KINDS):
    raise RuntimeError("WorkerEventKind must be a subset of chalicelib.models.tasks.EventKind")


class TelemetryIn(RequestModel):
    """One event for a queued or running task. Status changes stay with dispatch."""

    task_id: Id
    kind: WorkerEventKind
    message: Annotated[str, StringConstraints(max_length=2000)] = ""
    progress: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    actor: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "worker"
    data: Any = None
