"""math.evaluate: safe arithmetic, with the grammar and limits the router checks against
(``chalicelib.shared.arithmetic``, included in the executor image). Never calls ``eval``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.shared import arithmetic
from executor_container.registry import InvalidInput, ModuleContext, ModuleInput, ModuleSpec


def evaluate(expression: str) -> int | float:
    try:
        return arithmetic.evaluate(expression)
    except arithmetic.ExpressionRefused as exc:
        raise InvalidInput(exc.message) from exc


def find_expression(text: str) -> str:
    """The expression itself, or the longest math-looking run inside free text."""
    text = text.strip()
    return arithmetic.find_expression(text) or text


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str | None = Field(
        default=None,
        max_length=arithmetic.MAX_EXPRESSION_CHARS,
        description="else taken from the input",
    )


def run(source: ModuleInput, params: Params, ctx: ModuleContext) -> dict[str, Any]:
    expression = params.expression
    if not expression:
        expression = find_expression(source.text()) if source.size else ""
    if not expression.strip():
        raise InvalidInput("no expression given (params.expression or the input)")
    return {"value": evaluate(expression), "expression": expression.strip()}


MODULE = ModuleSpec(
    name="math.evaluate",
    description="Safe arithmetic with + - * / // % ** (or ^), functions and constants.",
    run=run,
    params=Params,
    max_input_bytes=64 * 1024,
    timeout_seconds=10.0,
    cpu_seconds=10.0,
)
