"""Dashboard numbers."""

from __future__ import annotations

from pydantic import Field

from chalicelib.models.base import ApiModel, Id, QueryModel


class StatsQuery(QueryModel):
    project_id: Id = Field(alias="projectId")


class Duration(ApiModel):
    task_id: str
    status: str
    finished_at: str
    seconds: float


class StatsOut(ApiModel):
    project_id: str
    counts: dict[str, int]
    total: int
    recent_durations: list[Duration]
    median_seconds: float | None
