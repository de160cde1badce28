"""The router's API shapes: explain a would-be task (answered with the route decision), and the
catalogue of routes and modules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from chalicelib.models.base import ApiModel, RequestModel
from chalicelib.models.route_decision import RouteDecision

ModuleName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")
]


class ExplainRequest(RequestModel):
    instruction: Annotated[str, StringConstraints(max_length=20_000)] = ""
    input: Any = None
    params: dict[str, Any] = Field(default_factory=dict)
    module: ModuleName | None = None


# The route decision is the explain response (its own module: the router loads only that).
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
