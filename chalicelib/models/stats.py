"""Dashboard numbers."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from chalicelib.models.base import ApiModel, Id, QueryModel


class StatsQuery(QueryModel):
    project_id: Id = Field(alias="projectId")


class Duration(ApiModel):
    task_id: str
    status: str
    finished_at: str
    seconds: float


class StatsOut(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "projectId": "prj_9a8b7c6d5e4f30211203",
                    "counts": {
                        "queued": 1,
                        "running": 1,
                        "completed": 12,
                        "failed": 1,
                        "canceled": 0,
                        "needs_review": 2,
                    },
                    "total": 17,
                    "recentDurations": [
                        {
                            "taskId": "tsk_1d2c3b4a5f6e7d8c9b0a",
                            "status": "completed",
                            "finishedAt": "2026-11-03T10:00:01.250Z",
                            "seconds": 0.94,
                        }
                    ],
                    "medianSeconds": 0.94,
                }
            ]
        }
    )

    project_id: str
    counts: dict[str, int]
    total: int
    recent_durations: list[Duration]
    median_seconds: float | None
