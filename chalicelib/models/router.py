"""The router's API shapes: explain a would-be task (answered with the route decision), and the
catalogue of routes and modules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.models.base import MODULE_FORMAT, ApiModel, RequestModel
from chalicelib.models.route_decision import RouteDecision

ModuleName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$"),
    Field(json_schema_extra={"format": MODULE_FORMAT}),
]


class ExplainRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "instruction": "Summarize this article",
                    "input": "AION routes each task to a module. The router reads the instruction. "
                    "It picks the executor when it can.",
                }
            ],
            # Something to route: an instruction with a non-space character, or an input that
            # is not empty (400 otherwise).
            "anyOf": [
                {"required": ["instruction"], "properties": {"instruction": {"pattern": r"\S"}}},
                {
                    "required": ["input"],
                    "properties": {"input": {"not": {"enum": [None, "", {}, []]}}},
                },
            ],
        }
    )

    instruction: Annotated[str, StringConstraints(max_length=20_000)] = ""
    input: Any = None
    params: dict[str, Any] = Field(default_factory=dict)
    module: ModuleName | None = None


# The route decision is the explain response (its own module: the router loads only that).
RouteDecisionOut = RouteDecision


class RouteOut(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "executor",
                    "available": True,
                    "state": "closed",
                    "configured": True,
                    "failures": 0,
                }
            ]
        }
    )

    name: Literal["executor", "llm"]
    available: bool
    state: Literal["closed", "open", "half_open"]
    configured: bool
    failures: int
    retry_at: float | None = None
    provider: str | None = None
    detail: str | None = None


class ModuleOut(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "text.stats",
                    "description": "Counts characters, words, lines and sentences",
                    "route": "executor",
                    "available": True,
                    "paramsSchema": {"type": "object", "properties": {}},
                    "maxInputBytes": 1048576,
                    "version": "1.0.0",
                }
            ]
        }
    )

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

    def to_json(self) -> dict[str, Any]:
        # What is not known (retryAt of a closed route, a module the executor did not
        # describe) is left out rather than sent as null.
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
