"""The shared arithmetic grammar (``chalicelib.shared.arithmetic``), checked against an
independent oracle: Python's own parser and arithmetic (``eval`` of the same text, in this test
only) on generated expressions, and ``fractions.Fraction`` for exact rational values. The guards
on every argument that scales work are exercised with hostile expressions."""

from __future__ import annotations

import ast
import math
import operator
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.shared import arithmetic
from chalicelib.shared.arithmetic import (
    MAX_DEPTH,
    MAX_EXPRESSION_CHARS,
    MAX_INT_BITS,
    ExpressionRefused,
    evaluate,
)

# What Python's eval may use: the grammar's functions as Python has them (round and factorial
# without the guards), its constants, and nothing else.
_PYTHON_NAMESPACE = {
    **{name: getattr(math, name, None) for name in arithmetic.FUNCTIONS},
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "factorial": math.factorial,
    **arithmetic.CONSTANTS,
}


_PYTHON_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class _Exceeded(Exception):
    """An intermediate value went past the grammar's limits (the oracle then expects refusal)."""


def _python(text: str) -> object:
    """Python's value of ``text``, or the exception type it raises."""
    try:
        return eval(text.strip().replace("^", "**"), {"__builtins__": {}}, dict(_PYTHON_NAMESPACE))  # noqa: S307
    except (ArithmeticError, ValueError, TypeError) as exc:
        return type(exc)


# --- generated expression trees: rendered as text, computed as Python would ------------------

_INT = st.integers(min_value=0, max_value=10_000).map(str)
_FLOAT = st.sampled_from(["0.5", "2.25", ".75", "3.", "1e3", "2.5e-3", "10.0", "0.1", "7.125"])
_LEAF = st.one_of(_INT, _INT, _FLOAT, st.sampled_from(["pi", "e", "tau", "00", "0"]))
_BINARY_OPS = ["+", "-", "*", "/", "//", "%", "**"]


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(_BINARY_OPS), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    # Without brackets too: precedence and associativity must then match Python's.
    bare = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "%"]), children).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}"
    )
    unary = st.tuples(st.sampled_from(["-", "+", "--"]), children).map(lambda t: t[0] + t[1])
    call = st.one_of(
        children.map(lambda a: f"abs({a})"),
        children.map(lambda a: f"floor({a})"),
        children.map(lambda a: f"sqrt({a})"),
        st.tuples(children, children).map(lambda t: f"max({t[0]}, {t[1]})"),
        st.tuples(children, children).map(lambda t: f"min({t[0]},{t[1]})"),
        st.tuples(children, st.integers(-4, 4)).map(lambda t: f"round({t[0]}, {t[1]})"),
        st.tuples(children, children).map(lambda t: f"hypot({t[0]}, {t[1]})"),
    )
    return st.one_of(binary, binary, bare, unary, call)


EXPRESSIONS = st.recursive(_LEAF, _combine, max_leaves=12)


def _within_limits(text: str) -> bool:
    """True when computing ``text`` the Python way keeps every integer within the limit.

    Python's own arithmetic on the same tree, with big intermediate values caught: the grammar
    refuses those, Python computes them, so such cases are compared separately below.
    """
    try:
        _walk_checked(text)
    except _Exceeded:
        return False
    return True


def _walk_checked(text: str) -> None:
    def walk(node: ast.AST) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return _PYTHON_NAMESPACE[node.id]
        if isinstance(node, ast.UnaryOp):
            return -walk(node.operand) if isinstance(node.op, ast.USub) else walk(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            huge_power = (
                isinstance(node.op, ast.Pow)
                and isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and right * (abs(left).bit_length() - 1) > 60_000
            )
            if huge_power:
                raise _Exceeded  # too slow to compute here: certainly past the limit
            value = _PYTHON_OPERATORS[type(node.op)](left, right)
        elif isinstance(node, ast.Call):
            args = [walk(a) for a in node.args]
            value = _PYTHON_NAMESPACE[node.func.id](*args)  # type: ignore[union-attr]
        else:
            raise AssertionError(ast.dump(node))
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise _Exceeded
        if isinstance(value, float) and not math.isfinite(value):
            raise _Exceeded
        return value

    try:
        walk(ast.parse(text.strip().replace("^", "**"), mode="eval").body)
    except (ArithmeticError, ValueError, TypeError):
        return  # Python refuses too: compared as such


@settings(max_examples=600, deadline=None)
@given(EXPRESSIONS, st.sampled_from(["", " ", "  "]))
def test_values_agree_with_python_on_generated_expressions(text: str, pad: str) -> None:
    text = pad + text.replace(" ", pad or " ") + pad
    assume(len(text) <= MAX_EXPRESSION_CHARS and text.count("(") < MAX_DEPTH // 2)
    if not _within_limits(text):
        with pytest.raises(ExpressionRefused, match=r"too large|finite"):
            evaluate(text)
        return
    expected = _python(text)
    if isinstance(expected, type):  # Python raised: division by zero, domain error, ...
        with pytest.raises(ExpressionRefused):
            evaluate(text)
        return
    if isinstance(expected, complex):
        with pytest.raises(ExpressionRefused, match="complex"):
            evaluate(text)
        return
    got = evaluate(text)
    assert type(got) is type(expected), (text, got, expected)
    assert got == expected or (math.isnan(expected) and math.isnan(got)), (text, got, expected)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-999, 999), min_size=2, max_size=8),
    st.lists(st.sampled_from(["+", "-", "*"]), min_size=7, max_size=7),
)
def test_integer_results_are_exact(numbers: list[int], ops: list[str]) -> None:
    # Fraction is exact: no float rounding can hide a wrong precedence or sign.
    text = str(numbers[0])
    terms, signs = [Fraction(numbers[0])], [1]
    for number, op in zip(numbers[1:], ops, strict=False):
        text += f" {op} ({number})"
        if op == "*":
            terms[-1] *= number
        else:
            terms.append(Fraction(number))
            signs.append(1 if op == "+" else -1)
    expected = sum(s * t for s, t in zip(signs, terms, strict=True))
    assert evaluate(text) == expected
    assert type(evaluate(text)) is int


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 10**6), st.integers(1, 1000))
def test_division_and_percentages_against_fractions(a: int, b: int, pct: int) -> None:
    assert evaluate(f"{a} / {b}") == pytest.approx(float(Fraction(a, b)), rel=1e-15)
    assert evaluate(f"{pct} / 100 * {a}") == pytest.approx(float(Fraction(pct * a, 100)))
    assert evaluate(f"({b} - {a}) / {a} * 100") == pytest.approx(
        float(Fraction(b - a, a) * 100), rel=1e-12
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2 + 3 * 4", 14),
        ("2^10", 1024),
        ("-2 ** 2", -4),
        ("2 ** -1", 0.5),
        ("2 ** 3 ** 2", 512),
        ("-7 // 2", -4),
        ("-7 % 3", 2),
        ("6 \u00d7 7", 42),
        ("84 \u00f7 4", 21.0),
        ("10 \u2212 4", 6),
        ("3.", 3.0),
        (".5 + 00", 0.5),
        ("round(2.675, 2)", 2.67),
        ("round(1234567, -3)", 1235000),
        ("factorial(20)", 2432902008176640000),
        ("max(1, 5, 3) + min(4, 2)", 7),
        ("sqrt(16) + abs(-2)", 6.0),
        ("(1 +\n 2)", 3),
        ("2 ** 9999 // 2 ** 9998", 2),
    ],
)
def test_values(text: str, value: float) -> None:
    got = evaluate(text)
    assert got == value
    assert type(got) is type(value)


# --- refusals: clear messages, and every argument that scales work bounded -------------------

HOSTILE = [
    ("round(2**9999, -10**18)", "round\\(\\): digits"),
    ("round(1, 10**18)", "round\\(\\): digits"),
    ("round(5, 2.5)", "whole number"),
    ("9 ** 9 ** 9", "too large"),
    ("10 ** 10 ** 10", "too large"),
    ("2 ** 2 ** 2 ** 2 ** 2", "too large"),
    ("(2 ** 9999) * (2 ** 9999)", "too large"),
    ("factorial(1000) * factorial(1000)", "too large"),
    ("factorial(10 ** 6)", "factorial"),
    ("factorial(1e300)", "factorial"),
    ("factorial(2.5)", "factorial"),
    ("2 ** 9999 / 3", "too large"),
    ("2.0 ** 100000", "too large"),
    ("exp(10 ** 6)", "too large"),
    ("1e999", "finite"),
    ("1e308 * 10", "finite"),
    ("(-8) ** 0.5", "complex"),
    ("1 / 0", "division by zero"),
    ("5 // 0", "division by zero"),
    ("10 % 0", "division by zero"),
    ("0 ** -1", "division by zero"),
    ("sqrt(-1)", "math domain error"),
    ("max(1)", "max\\(\\)"),
    ("-" * 200 + "1", "nested"),
    ("(" * 100 + "1" + ")" * 100, "nested"),
    ("2" + " ** 2" * 100, "nested"),
    ("1+" * 600 + "1", "longer than"),
    ("9" * (MAX_EXPRESSION_CHARS + 1), "longer than"),
    ("007", "leading zeros"),
    ("x + 1", "unknown name"),
    ("__import__('os')", "unknown function"),
    ("().__class__", "unsupported syntax"),
    ("'a' * 10 ** 9", "unsupported syntax"),
    ("[1] * 10 ** 9", "unsupported syntax"),
    ("1 if 1 else 2", "unknown name"),
    ("2(3)", "invalid expression"),
    ("(1", "invalid expression"),
    ("", "empty"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ExpressionRefused, match=message):
        evaluate(text)
    assert arithmetic.value_or_none(text) is None


def test_the_largest_allowed_integer_and_one_bit_more() -> None:
    assert evaluate(f"2 ** {MAX_INT_BITS - 1}").bit_length() == MAX_INT_BITS
    with pytest.raises(ExpressionRefused, match="too large"):
        evaluate(f"2 ** {MAX_INT_BITS}")


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("What is 2^10 + 3?", "2^10 + 3"),
        ("Compute sqrt(16) * 3, please", "sqrt(16) * 3"),
        ("please add 40 + 2", "40 + 2"),
        ("no digits here", None),
        ("version 3", "3"),
    ],
)
def test_find_expression_in_free_text(text: str, expression: str | None) -> None:
    assert arithmetic.find_expression(text) == expression


def test_find_expression_reads_a_bounded_prefix() -> None:
    text = "x " * arithmetic.MAX_SCAN_CHARS + "1 + 1"
    assert arithmetic.find_expression(text) is None
