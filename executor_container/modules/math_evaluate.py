"""math.evaluate: safe arithmetic. Walks a whitelisted AST itself; never calls ``eval``.

Bounded: expression length, nesting depth, integer size (so ``9**9**9`` is refused at
once instead of eating the CPU), factorial argument.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from executor_container.registry import InvalidInput, ModuleContext, ModuleInput, ModuleSpec

MAX_EXPRESSION_CHARS = 1000
MAX_DEPTH = 64
MAX_INT_BITS = 10_000
MAX_FACTORIAL = 1000

CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _factorial(n: float) -> int:
    if not float(n).is_integer() or not 0 <= n <= MAX_FACTORIAL:
        raise InvalidInput(f"factorial needs a whole number from 0 to {MAX_FACTORIAL}")
    return math.factorial(int(n))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "floor": math.floor,
    "ceil": math.ceil,
    "degrees": math.degrees,
    "radians": math.radians,
    "hypot": math.hypot,
    "factorial": _factorial,
}
_NAMES = "|".join(sorted([*FUNCTIONS, *CONSTANTS], key=len, reverse=True))
# Longest run of math tokens in free text ("What is 2^10 + 3?" -> "2^10 + 3").
_RUN_RE = re.compile(
    rf"(?:(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+|\b(?:{_NAMES})\b|[-+*/%^\u00d7\u00f7(),])[ \t]*)+"
)
_OPERATOR_RE = re.compile(r"[-+*/%^\u00d7\u00f7]|\w\(")


def _check_int(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise InvalidInput(f"result is too large (more than {MAX_INT_BITS} bits)")
    return value


def _power(base: Any, exponent: Any) -> Any:
    both_int = isinstance(base, int) and isinstance(exponent, int)
    if both_int and exponent > 0:
        if max(abs(base).bit_length() - 1, 0) * exponent > MAX_INT_BITS:
            raise InvalidInput(f"result is too large (more than {MAX_INT_BITS} bits)")
    elif abs(exponent) > MAX_INT_BITS and abs(base) not in (0, 1):
        raise InvalidInput(f"exponent {exponent} is too large")
    result = operator.pow(base, exponent)
    if isinstance(result, complex):
        raise InvalidInput("result is a complex number")
    return result


BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _eval(node: ast.AST, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"expression is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.Expression):
        return _eval(node.body, depth + 1)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _check_int(node.value)
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _eval(node.left, depth + 1), _eval(node.right, depth + 1)
        both_int = isinstance(left, int) and isinstance(right, int)
        too_big = both_int and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1
        if isinstance(node.op, ast.Mult) and too_big:
            raise InvalidInput(f"result is too large (more than {MAX_INT_BITS} bits)")
        return _check_int(BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_eval(node.operand, depth + 1))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
    ):
        args = [_eval(arg, depth + 1) for arg in node.args]
        try:
            return _check_int(FUNCTIONS[node.func.id](*args))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{node.func.id}(): {exc}") from exc
    if isinstance(node, ast.Name):
        raise InvalidInput(f"unknown name {node.id!r}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        raise InvalidInput(f"unknown function {node.func.id!r} (or keyword arguments)")
    raise InvalidInput(f"unsupported syntax: {type(node).__name__}")


def find_expression(text: str) -> str:
    """The expression itself, or the longest math-looking run inside free text."""
    text = text.strip()
    candidates = [m.group().strip(" \t,") for m in _RUN_RE.finditer(text)]
    candidates = [c for c in candidates if any(ch.isdigit() for ch in c)]
    if not candidates:
        return text
    with_operator = [c for c in candidates if _OPERATOR_RE.search(c)] or candidates
    return max(with_operator, key=len)


def evaluate(expression: str) -> int | float:
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise InvalidInput(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    source = expression.replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidInput(f"invalid expression: {exc.msg} (column {exc.offset})") from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise InvalidInput("invalid expression: too complex") from exc
    try:
        value = _eval(tree)
    except ZeroDivisionError as exc:
        raise InvalidInput("division by zero") from exc
    except OverflowError as exc:
        raise InvalidInput("result is too large") from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput("result is not a finite number")
    return value


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str | None = Field(
        default=None, max_length=MAX_EXPRESSION_CHARS, description="else taken from the input"
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
