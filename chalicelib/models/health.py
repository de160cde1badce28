"""Liveness and dependency checks."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from chalicelib.models.base import ApiModel

CheckState = Literal["ok", "error", "unconfigured"]


class HealthOut(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "checks": {"dynamodb": "ok", "executor": "ok", "queue": "ok"},
                    "version": "0.1.0",
                }
            ]
        }
    )

    status: Literal["ok", "degraded"]
    checks: dict[str, CheckState]
    version: str
