"""data.json_query: a JMESPath expression over a JSON document.

The expression is untrusted, and JMESPath can do far more work than its input suggests:
``[@,@] | [@,@] | ...`` doubles at every pipe (shared references that encoding would expand),
``to_string`` and ``==`` walk whole structures, ``[]`` materialises lists. Evaluation runs
under a work budget proportional to the input (``WORK_PER_INPUT_BYTE`` steps per byte plus
``BASE_WORK``): every step is charged 1 plus the size of what it produced, deep operations
are charged the size of what they walk before they walk it, and the result is charged its
full size before it is encoded. A query over its budget is refused as invalid input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, ClassVar

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.functions import Functions
from jmespath.visitor import TreeInterpreter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from executor_container.registry import InvalidInput, MiB, ModuleContext, ModuleInput, ModuleSpec

WORK_PER_INPUT_BYTE = 2
BASE_WORK = 1_000_000
# Functions whose work is not bounded by the sizes they are charged for by default.
_DEEP_FUNCTIONS = frozenset({"to_string", "contains"})
_SORTING_FUNCTIONS = frozenset({"sort", "sort_by", "min_by", "max_by"})


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
        except RecursionError as exc:
            raise ValueError("the JMESPath expression is nested too deeply") from exc
        return value


class QueryTooCostly(InvalidInput):
    def __init__(self, budget: int) -> None:
        super().__init__(
            f"the expression needs more than {budget} evaluation steps, the limit for an "
            "input of this size (it multiplies or walks its data too many times)"
        )


_SIZED = frozenset({list, dict, str})


def _shallow_size(value: Any) -> int:
    return len(value) if isinstance(value, list | dict | str) else 0


class BudgetedInterpreter(TreeInterpreter):
    """JMESPath's tree interpreter, charging each step against a work budget."""

    # TreeInterpreter's own members used here, which its type stubs leave out.
    _method_cache: dict[str, Callable[[Any, Any], Any]]
    _EQUALITY_OPS: ClassVar[list[str]]
    _functions: Functions

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget = budget
        self.left = budget

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise QueryTooCostly(self.budget)

    def deep_size(self, value: Any) -> int:
        """Nodes and characters under ``value`` (shared parts counted each time, as JSON
        encoding or deep comparison would), charged as it walks: stops at the budget."""
        left = self.left
        total = 0
        stack = [value]
        while stack:
            item = stack.pop()
            size = 1
            if isinstance(item, dict):
                size += len(item)
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str):
                size += len(item)
            total += size
            left -= size
            if left < 0:
                self.left = left
                raise QueryTooCostly(self.budget)
        self.left = left
        return total

    def visit(self, node: Any, value: Any) -> Any:
        # Visitor.visit, inlined with the charge: this runs once per step.
        method = self._method_cache.get(node["type"])
        if method is None:
            method = self._method_cache[node["type"]] = getattr(
                self, f"visit_{node['type']}", self.default_visit
            )
        result = method(node, value)
        self.left -= 1 + len(result) if type(result) in _SIZED else 1
        if self.left < 0:
            raise QueryTooCostly(self.budget)
        return result

    def visit_comparator(self, node: Any, value: Any) -> Any:
        if node["value"] in self._EQUALITY_OPS:
            left = self.visit(node["children"][0], value)
            right = self.visit(node["children"][1], value)
            if isinstance(left, list | dict) and isinstance(right, list | dict):
                self.deep_size(left)  # == compares them element by element
            return self.COMPARATOR_FUNC[node["value"]](left, right)
        return super().visit_comparator(node, value)

    def visit_function_expression(self, node: Any, value: Any) -> Any:
        args = [self.visit(child, value) for child in node["children"]]
        name = node["value"]
        if name in _DEEP_FUNCTIONS:
            for arg in args:
                self.deep_size(arg)
        elif name in _SORTING_FUNCTIONS and args and isinstance(args[0], list):
            count = len(args[0])
            self.charge(count * max(1, math.ceil(math.log2(count or 1))))
        else:
            self.charge(sum(_shallow_size(arg) for arg in args))
        return self._functions.call_function(name, args)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidInput(f"input has a number out of range: {text[:40]}")
    return number


def _no_constant(name: str) -> Any:
    raise InvalidInput(f"input is not valid JSON: {name} is not a JSON value")


def _parse(text: str) -> Any:
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"input is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise InvalidInput("input JSON is nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise InvalidInput(f"input is not valid JSON: {exc}") from exc


def query(expression: str, document: Any, budget: int) -> Any:
    interpreter = BudgetedInterpreter(budget)
    try:
        result = interpreter.visit(jmespath.compile(expression).parsed, document)
    except JMESPathError as exc:
        raise InvalidInput(f"JMESPath evaluation failed: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput("JMESPath evaluation went too deep") from exc
    interpreter.deep_size(result)  # what encoding the result will walk
    return result


def run(source: ModuleInput, params: Params, ctx: ModuleContext) -> dict[str, Any]:
    text = source.text()
    document = _parse(text)
    ctx.progress(0.5, "parsed JSON")
    budget = BASE_WORK + WORK_PER_INPUT_BYTE * len(text)
    return {"result": query(params.expression, document, budget)}


MODULE = ModuleSpec(
    name="data.json_query",
    description="Evaluates a JMESPath expression over a JSON input.",
    run=run,
    params=Params,
    max_input_bytes=16 * MiB,
    timeout_seconds=30.0,
    cpu_seconds=30.0,
)
