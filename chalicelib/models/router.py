"""The router's shapes: the route decision, explain a would-be task, the catalogue of routes and
modules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from chalicelib.models.base import ApiModel, RequestModel

ModuleName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")
]


class ExplainRequest(RequestModel):
    instruction: Annotated[str, StringConstraints(max_length=20_000)] = ""
    input: Any = None
    params: dict[str, Any] = Field(default_factory=dict)
    module: ModuleName | None = None


Target = Literal["executor", "llm", "review"]
# Why a decision waits for a person (None unless the target is "review").
ReasonCode = Literal["input_missing", "input_mismatch", "route_unavailable", "low_confidence"]
DecidedBy = Literal["pinned", "rule", "classifier", "fallback", "person"]
# How the decision was reached: "health" = the module's route is down or not configured now.
Stage = Literal["pinned", "rules", "classifier", "capability", "health", "threshold", "fallback"]


class Alternative(ApiModel):
    module: str
    score: float


class RouteDecision(ApiModel):
    """The route decision: stored on the task, returned by ``POST /router/explain``.

    ``module`` is what the request asks for, whether or not it can run now; ``target`` is how it
    runs (``review``: a person decides, and ``reason_code`` says why). ``stage`` and
    ``evidence`` explain how it was reached; ``inline_input`` is data the instruction carried
    when the task had no input ("sha256 of 'abc'" -> "abc").
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    target: Target
    module: str
    params: dict[str, Any] = Field(default_factory=dict)
    confidence: float
    reason: str
    reason_code: ReasonCode | None = None
    alternatives: list[Alternative] = Field(default_factory=list)
    decided_by: DecidedBy
    micros: int = 0
    stage: Stage
    evidence: dict[str, Any] = Field(default_factory=dict)
    inline_input: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape stored on the task and returned by the API (camelCase)."""
        return self.model_dump(by_alias=True, mode="json")


# The name the API's route table gives the explain response.
RouteDecisionOut = RouteDecision


class RouteOut(ApiModel):
    name: Literal["executor", "llm"]
    available: bool
    state: Literal["closed", "open", "half_open"]
    configured: bool
    failures: int
    retry_at: float | None = None
    provider: str | None = None
    detail: str | None = None


class ModuleOut(ApiModel):
    name: str
    description: str
    route: Literal["executor", "llm"]
    available: bool
    params_schema: dict[str, Any] | None = None
    max_input_bytes: int | None = None
    version: str | None = None


class CatalogOut(ApiModel):
    routes: list[RouteOut]
    modules: list[ModuleOut]
    source: Literal["executor", "static"]
