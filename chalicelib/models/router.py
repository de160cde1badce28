"""The router's API shapes: explain a would-be task, and the catalogue of routes and modules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.models.base import ApiModel, RequestModel

ModuleName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")
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
            ]
        }
    )

    instruction: Annotated[str, StringConstraints(max_length=20_000)] = ""
    input: Any = None
    params: dict[str, Any] = Field(default_factory=dict)
    module: ModuleName | None = None


class AlternativeOut(ApiModel):
    module: str
    score: float


class RouteDecisionOut(ApiModel):
    """DESIGN.md's route decision, plus how it was reached (``stage``, ``evidence``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "target": "executor",
                    "module": "text.summarize",
                    "params": {"sentences": 3},
                    "confidence": 0.91,
                    "reason": "the instruction asks for a summary and the input is text",
                    "alternatives": [
                        {"module": "text.stats", "score": 0.05},
                        {"module": "llm.generate", "score": 0.02},
                    ],
                    "decidedBy": "classifier",
                    "micros": 388,
                    "stage": "classifier",
                    "evidence": {"classifier": {"text.summarize": 0.91}},
                    "inlineInput": None,
                }
            ]
        }
    )

    target: Literal["executor", "llm", "review"]
    module: str
    params: dict[str, Any]
    confidence: float
    reason: str
    alternatives: list[AlternativeOut]
    decided_by: Literal["pinned", "rule", "classifier", "fallback"]
    micros: int
    stage: Literal["pinned", "rules", "classifier", "capability", "health", "threshold", "fallback"]
    evidence: dict[str, Any]
    inline_input: str | None = None


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
