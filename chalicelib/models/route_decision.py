"""The route decision: stored on the task, returned by ``POST /router/explain``, one model from
the router to the API. Its own module, so the router loads it without the other API shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from chalicelib.models.base import ApiModel

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
    """``module`` is what the request asks for, whether or not it can run now; ``target`` is how it
    runs (``review``: a person decides, and ``reason_code`` says why). ``stage`` and
    ``evidence`` explain how it was reached; ``inline_input`` is data the instruction carried
    when the task had no input ("sha256 of 'abc'" -> "abc").
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "target": "review",
                    "module": "text.summarize",
                    "params": {"sentences": 2},
                    "confidence": 0.93,
                    "reason": "text.summarize needs text to work on and the task carries none",
                    "reasonCode": "input_missing",
                    "alternatives": [
                        {"module": "text.stats", "score": 0.03},
                        {"module": "llm.generate", "score": 0.02},
                    ],
                    "decidedBy": "rule",
                    "micros": 41,
                    "stage": "capability",
                    "evidence": {"rule": "summarize"},
                    "inlineInput": None,
                }
            ]
        },
    )

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
