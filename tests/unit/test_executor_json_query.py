"""data.json_query on hostile expressions and documents: refused as invalid input within a
work budget proportional to the input, never an unbounded computation or a crash."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from executor_container.modules import data_json_query
from executor_container.registry import InvalidInput
from tests.unit.test_executor_modules import BytesInput, Progress

DOC = json.dumps(
    {"items": [{"n": f"name{i}", "v": i % 7, "tags": ["a", "b"]} for i in range(2000)]}
)


def query(expression: str, document: str = DOC) -> object:
    params = data_json_query.Params(expression=expression)
    return data_json_query.run(BytesInput(document.encode()), params, Progress())["result"]


def test_ordinary_queries_fit_their_budget() -> None:
    assert query("length(items[?v > `2`])") == sum(1 for i in range(2000) if i % 7 > 2)
    names = query("sort_by(items, &n)[*].{a: n, b: v, c: tags}")
    assert len(names) == 2000
    assert names[0] == {"a": "name0", "b": 0, "c": ["a", "b"]}
    assert query("items[].tags[]") == ["a", "b"] * 2000
    assert query("to_string(items[0])") == json.dumps(
        {"n": "name0", "v": 0, "tags": ["a", "b"]}, separators=(",", ":")
    )
    assert query("items[?contains(tags, 'b')] | length(@)") == 2000


@pytest.mark.parametrize(
    "expression",
    [
        # Each stage doubles a structure of shared references: 2**40 leaves if encoded.
        " | ".join(["[@,@]"] * 40),
        # to_string of it would build the expansion in memory.
        "to_string(" + " | ".join(["[@,@]"] * 30) + ")",
        # Flattening materialises the copies (2000 items * 8**6).
        "items | " + " | ".join(["[@,@,@,@,@,@,@,@][]"] * 6),
        # Deep equality of two distinct expanded structures.
        "(" + " | ".join(["[@,@]"] * 25) + ") == (" + " | ".join(["[@,@]"] * 25) + ")",
        # Each string doubles: escaping grows it further.
        "join('', [" + ",".join(["to_string(@)"] * 40) + "])",
    ],
)
def test_an_expression_that_multiplies_its_data_is_refused(expression: str) -> None:
    with pytest.raises(InvalidInput, match="evaluation steps"):
        query(expression)


def test_the_budget_grows_with_the_input() -> None:
    small = json.dumps([1] * 10)
    large = json.dumps([1] * 600_000)
    expression = "[@,@,@,@][][@,@][]"  # 8 copies of the document
    with pytest.raises(InvalidInput, match="evaluation steps"):
        query(expression, large)
    assert query(expression, small) == [1] * 80


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"x": NaN}', "NaN is not a JSON value"),
        ('{"x": Infinity}', "Infinity is not a JSON value"),
        ('{"x": 1e999}', "out of range"),
        ('{"x": ' + "9" * 5000 + "}", "not valid JSON"),
        ("{not json", "not valid JSON"),
    ],
)
def test_hostile_documents_are_invalid_input(document: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        query("x", document)


def test_a_deeply_nested_expression_is_an_invalid_param() -> None:
    with pytest.raises(ValidationError, match=r"not a valid JMESPath expression|too deeply"):
        data_json_query.Params(expression="(" * 990 + "a" + ")" * 990)
