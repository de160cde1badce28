"""Liveness and dependency checks."""

from __future__ import annotations

from typing import Literal

from chalicelib.models.base import ApiModel

CheckState = Literal["ok", "error", "unknown", "unconfigured"]


class HealthOut(ApiModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, CheckState]
    version: str
