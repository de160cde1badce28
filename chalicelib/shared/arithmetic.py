"""Safe arithmetic: the one grammar and the one set of limits of ``math.evaluate``.

The router checks every expression it infers with ``evaluate`` before it promises one, and the
executor's ``math.evaluate`` computes with the same ``evaluate``: the router can never promise
an expression the executor refuses. No ``eval``, no ``ast``: a small recursive-descent reader
that computes while it reads. Standard library only (the executor image includes this package).

Grammar (Python's operator syntax and precedence; ``^`` means ``**``, and the multiplication,
division and minus signs U+00D7, U+00F7, U+2212 mean ``*``, ``/``, ``-``)::

    sum     := term (("+" | "-") term)*
    term    := factor (("*" | "/" | "//" | "%") factor)*
    factor  := ("+" | "-") factor | power
    power   := atom ["**" factor]
    atom    := NUMBER | CONSTANT | FUNCTION "(" [sum ("," sum)*] ")" | "(" sum ")"
    NUMBER  := a decimal literal as Python writes it (no underscores; "007" is refused)

Values are Python ints and floats, with Python's results. Every argument that scales the work
is bounded before the work starts: the expression's length and nesting, every integer's size
(also before a power or a product is computed), ``round``'s digits and ``factorial``'s
argument. A float that overflows, or any other non-finite value, is refused at once. There are
no strings, names or attributes: nothing else can be reached.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any

Number = int | float

MAX_EXPRESSION_CHARS = 1000
MAX_DEPTH = 64
MAX_INT_BITS = 10_000
# No integer here has more decimal digits than this, so rounding further changes nothing.
MAX_ROUND_DIGITS = math.ceil(MAX_INT_BITS * math.log10(2)) + 1
MAX_FACTORIAL = 1000
# Free text is searched for an expression in this many leading characters.
MAX_SCAN_CHARS = 64 * 1024


class ExpressionRefused(ValueError):
    """The expression is not safe arithmetic, or its value cannot be computed within limits."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _too_large() -> ExpressionRefused:
    return ExpressionRefused(f"result is too large (more than {MAX_INT_BITS} bits)")


def _overflow() -> ExpressionRefused:
    return ExpressionRefused("result is too large to compute")


def _round(value: Number, digits: Any = None) -> Number:
    if digits is None:
        return round(value)
    if type(digits) is not int:
        raise ExpressionRefused("round(): the number of digits must be a whole number")
    if abs(digits) > MAX_ROUND_DIGITS:
        # round(x, -10**18) would build 10**(10**18) first: refused before any work.
        raise ExpressionRefused(
            f"round(): digits must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}"
        )
    return round(value, digits)


def _factorial(n: Number) -> int:
    if not (0 <= n <= MAX_FACTORIAL) or (type(n) is float and not n.is_integer()):
        raise ExpressionRefused(f"factorial needs a whole number from 0 to {MAX_FACTORIAL}")
    return math.factorial(int(n))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": _round,
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


def _checked(value: Number) -> Number:
    if type(value) is int:
        if value.bit_length() > MAX_INT_BITS:
            raise _too_large()
    elif type(value) is float:
        if not math.isfinite(value):
            raise ExpressionRefused("result is not a finite number")
    else:  # complex, from a fractional power of a negative number
        raise ExpressionRefused("result is a complex number")
    return value


def _power(base: Number, exponent: Number) -> Number:
    # An int power has at least (bits(base) - 1) * exponent bits: refused before computing.
    if (
        type(base) is int
        and type(exponent) is int
        and exponent > 0
        and (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS
    ):
        raise _too_large()
    return base**exponent


def _multiply(left: Number, right: Number) -> Number:
    # The product has at least bits(left) + bits(right) - 1 bits.
    if (
        type(left) is int
        and type(right) is int
        and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1
    ):
        raise _too_large()
    return left * right


_BINARY: dict[str, Callable[[Number, Number], Number]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": _multiply,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": _power,
}

# One token: a number, a name, an operator, or any other single character (refused).
_TOKEN = re.compile(
    r"\s*((?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[A-Za-z_]\w*|\*\*|//|[-+*/%(),]|\S)"
)
_SYMBOLS = str.maketrans({"^": "**", "\u00d7": "*", "\u00f7": "/", "\u2212": "-"})
_OPERATORS = frozenset(["**", "//", "+", "-", "*", "/", "%", "(", ")", ","])
_END = ""  # appended after the last token, so reading never runs past the end
_PLAIN = re.compile(r"[\d.+\-*/%()\s]*")


def _tokens(text: str) -> list[str]:
    """The tokens, left to right; the first one outside the grammar (a character, an unknown
    name or function) is refused with what it is."""
    tokens = _TOKEN.findall(text)
    if _PLAIN.fullmatch(text):  # digits, points and operators only: every token is known
        tokens.append(_END)
        return tokens
    for n, token in enumerate(tokens):
        first = token[0]
        if first.isdigit() or token in _OPERATORS or (first == "." and len(token) > 1):
            continue
        if first.isalpha() or first == "_":
            calls = n + 1 < len(tokens) and tokens[n + 1] == "("
            if calls and token not in FUNCTIONS:
                raise ExpressionRefused(f"unknown function {token!r}")
            if not calls and token not in CONSTANTS:
                raise ExpressionRefused(f"unknown name {token!r}")
            continue
        raise ExpressionRefused(f"unsupported syntax: {token!r} is not part of arithmetic")
    tokens.append(_END)
    return tokens


def _number(literal: str) -> Number:
    if "." in literal or "e" in literal or "E" in literal:
        return _checked(float(literal))
    if literal[0] == "0" and literal.strip("0"):
        raise ExpressionRefused(f"invalid expression: leading zeros in {literal!r}")
    # At most MAX_EXPRESSION_CHARS digits: far below Python's own int parsing limit.
    return _checked(int(literal))


class _Reader:
    """Reads and computes one expression (recursive descent over the tokens)."""

    __slots__ = ("pos", "tokens")

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _expect(self, op: str) -> None:
        found = self.tokens[self.pos]
        if found != op:
            raise ExpressionRefused(
                f"invalid expression: expected {op!r}, found {found or 'the end'!r}"
            )
        self.pos += 1

    def read(self) -> Number:
        if len(self.tokens) == 1:
            raise ExpressionRefused("invalid expression: it is empty")
        value = self._sum(0)
        if self.tokens[self.pos] is not _END:
            raise ExpressionRefused(f"invalid expression: unexpected {self.tokens[self.pos]!r}")
        return value

    def _sum(self, depth: int) -> Number:
        value = self._term(depth)
        tokens = self.tokens
        while (op := tokens[self.pos]) == "+" or op == "-":
            self.pos += 1
            value = _apply(op, value, self._term(depth))
        return value

    def _term(self, depth: int) -> Number:
        value = self._factor(depth)
        tokens = self.tokens
        while (op := tokens[self.pos]) in ("*", "/", "//", "%"):
            self.pos += 1
            value = _apply(op, value, self._factor(depth))
        return value

    def _factor(self, depth: int) -> Number:
        if depth > MAX_DEPTH:
            raise ExpressionRefused(f"expression is nested more than {MAX_DEPTH} levels deep")
        op = self.tokens[self.pos]
        if op == "-" or op == "+":
            self.pos += 1
            operand = self._factor(depth + 1)
            return -operand if op == "-" else +operand
        base = self._atom(depth)
        if self.tokens[self.pos] == "**":
            self.pos += 1
            return _apply("**", base, self._factor(depth + 1))
        return base

    def _atom(self, depth: int) -> Number:
        item = self.tokens[self.pos]
        if item is _END:
            raise ExpressionRefused("invalid expression: it ends too early")
        self.pos += 1
        first = item[0]
        if first.isdigit() or first == ".":  # "." alone was refused by _tokens
            return _number(item)
        if first.isalpha() or first == "_":  # known: _tokens checked every name
            if self.tokens[self.pos] == "(":
                return self._call(item, depth)
            return CONSTANTS[item]
        if item == "(":
            value = self._sum(depth + 1)
            self._expect(")")
            return value
        raise ExpressionRefused(f"invalid expression: unexpected {item!r}")

    def _call(self, name: str, depth: int) -> Number:
        function = FUNCTIONS[name]
        self.pos += 1  # "("
        args: list[Number] = []
        if self.tokens[self.pos] != ")":
            args.append(self._sum(depth + 1))
            while self.tokens[self.pos] == ",":
                self.pos += 1
                args.append(self._sum(depth + 1))
        self._expect(")")
        try:
            return _checked(function(*args))
        except ExpressionRefused:
            raise
        except OverflowError as exc:
            raise _overflow() from exc
        except (TypeError, ValueError) as exc:
            raise ExpressionRefused(f"{name}(): {exc}") from exc


def _apply(op: str, left: Number, right: Number) -> Number:
    try:
        return _checked(_BINARY[op](left, right))
    except ZeroDivisionError as exc:
        raise ExpressionRefused("division by zero") from exc
    except OverflowError as exc:
        raise _overflow() from exc


def evaluate(expression: str) -> Number:
    """The value of ``expression``; ``ExpressionRefused`` says why when there is none."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ExpressionRefused(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    return _Reader(_tokens(expression.translate(_SYMBOLS))).read()


def value_or_none(expression: str) -> Number | None:
    """``evaluate``, with None for an expression it refuses (for callers trying candidates)."""
    try:
        return evaluate(expression)
    except ExpressionRefused:
        return None


_NAMES = "|".join(sorted([*FUNCTIONS, *CONSTANTS], key=len, reverse=True))
# A run of expression tokens in free text ("What is 2^10 + 3?" -> "2^10 + 3").
_RUN = re.compile(
    rf"(?:(?:\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+|\b(?:{_NAMES})\b"
    r"|\*\*|//|[-+*/%^\u00d7\u00f7\u2212(),])[ \t]*)+"
)
_HAS_OPERATOR = re.compile(r"[-+*/%^\u00d7\u00f7\u2212]|\w\(")


def find_expression(text: str) -> str | None:
    """The expression in ``text``: the longest run of expression tokens with an operator (or,
    without any, the longest run holding a digit), or None when there is no digit at all."""
    runs = [m.group().strip(" \t,") for m in _RUN.finditer(text, 0, MAX_SCAN_CHARS)]
    runs = [run for run in runs if any(ch.isdigit() for ch in run)]
    if not runs:
        return None
    with_operator = [run for run in runs if _HAS_OPERATOR.search(run)] or runs
    return max(with_operator, key=len)
