"""What the router is asked and what it knows about route health. The decision it returns is
``chalicelib.models.route_decision.RouteDecision`` (one model, from the router to the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.models.route_decision import (
    Alternative,
    DecidedBy,
    ReasonCode,
    RouteDecision,
    Stage,
    Target,
)


@dataclass(frozen=True)
class RouteRequest:
    instruction: str = ""
    input: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    module: str | None = None


@dataclass(frozen=True)
class RouteState:
    """Which routes can take work now. ``executor_modules`` empty = the executor is down."""

    executor_modules: frozenset[str] | set[str] = frozenset()
    llm_available: bool = False


__all__ = [
    "Alternative",
    "DecidedBy",
    "ReasonCode",
    "RouteDecision",
    "RouteRequest",
    "RouteState",
    "Stage",
    "Target",
]
