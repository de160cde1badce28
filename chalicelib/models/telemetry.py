"""``POST /internal/telemetry``: events pushed by external workers (bridge token holders)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib.models.base import Id, RequestModel


class TelemetryIn(RequestModel):
    """One event for a queued or running task. Status changes stay with dispatch."""

    task_id: Id
    kind: Literal["progress", "log", "update"]
    message: Annotated[str, StringConstraints(max_length=2000)] = ""
    progress: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    actor: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "worker"
    data: Any = None
