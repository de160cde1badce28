"""data.json_query: a JMESPath expression over a JSON document."""

from __future__ import annotations

import json
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from executor_container.registry import InvalidInput, MiB, ModuleContext, ModuleInput, ModuleSpec


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(min_length=1, max_length=2000, description="JMESPath expression")

    @field_validator("expression")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            jmespath.compile(value)
        except JMESPathError as exc:
            raise ValueError(f"not a valid JMESPath expression: {exc}") from exc
        return value


def run(source: ModuleInput, params: Params, ctx: ModuleContext) -> dict[str, Any]:
    try:
        document = json.loads(source.text())
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"input is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    ctx.progress(0.5, "parsed JSON")
    try:
        result = jmespath.search(params.expression, document)
    except JMESPathError as exc:
        raise InvalidInput(f"JMESPath evaluation failed: {exc}") from exc
    return {"result": result}


MODULE = ModuleSpec(
    name="data.json_query",
    description="Evaluates a JMESPath expression over a JSON input.",
    run=run,
    params=Params,
    max_input_bytes=16 * MiB,
    timeout_seconds=30.0,
    cpu_seconds=30.0,
)
