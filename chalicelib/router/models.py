"""The router's value types: what it is asked, what it knows about route health, and the
decision it returns (DESIGN.md's route decision plus ``stage``, ``evidence``, ``inlineInput``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Target = Literal["executor", "llm", "review"]
DecidedBy = Literal["pinned", "rule", "classifier", "fallback"]
Stage = Literal["pinned", "rules", "classifier", "capability", "health", "threshold", "fallback"]


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


class Alternative(BaseModel):
    module: str
    score: float


class RouteDecision(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    target: Target
    module: str
    params: dict[str, Any] = Field(default_factory=dict)
    confidence: float
    reason: str
    alternatives: list[Alternative] = Field(default_factory=list)
    decided_by: DecidedBy
    micros: int = 0
    stage: Stage
    evidence: dict[str, Any] = Field(default_factory=dict)
    # Data the instruction carried when the task had no input ("sha256 of 'abc'" -> "abc").
    inline_input: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape stored on the task and returned by the API (camelCase)."""
        return self.model_dump(by_alias=True, mode="json")
