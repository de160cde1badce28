"""Turn arithmetic written in words ("12.5% of 80", "7 times 8", "square root of 81") into an
expression the executor's ``math.evaluate`` accepts, and check it without ``eval``.

The expression uses Python's operator syntax (``+ - * / ** %`` and parentheses), which is what
safe evaluators accept. ``evaluate`` here is a small AST walker used to validate candidates and
to show the value in explanations; the executor computes the real result.
"""

from __future__ import annotations

import ast
import math
import operator
import re

_NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
}
_NUM = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
_NUM_RE = re.compile(_NUM)
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")

# (triggers, pattern, replacement): phrase -> expression rewrites, applied in order on lower-case
# text. A rewrite runs only when one of its triggers (text every match contains) occurs, which
# keeps ordinary prose cheap.
_PERCENT = ("%", "percent")
_REWRITES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = tuple(
    ((trigger,) if isinstance(trigger, str) else trigger, re.compile(pattern), repl)
    for trigger, pattern, repl in (
        (_PERCENT, rf"({_NUM})\s*(?:%|percent)\s+off\s+({_NUM})", r"(\2 * (1 - \1 / 100))"),
        (_PERCENT, rf"({_NUM})\s*(?:%|percent)\s+(?:of|on)\s+({_NUM})", r"(\1 / 100 * \2)"),
        (_PERCENT, rf"({_NUM})\s*(?:%|percent)\s+\w+\s+on\s+({_NUM})", r"(\1 / 100 * \2)"),
        ("root", rf"square\s+root\s+of\s+({_NUM})", r"(\1 ** 0.5)"),
        ("sqrt", rf"sqrt\s*\(?\s*({_NUM})\s*\)?", r"(\1 ** 0.5)"),
        ("squared", rf"({_NUM})\s+squared", r"(\1 ** 2)"),
        ("cubed", rf"({_NUM})\s+cubed", r"(\1 ** 3)"),
        ("half", rf"half\s+of\s+({_NUM})", r"(\1 / 2)"),
        ("double", rf"double\s+({_NUM})", r"(\1 * 2)"),
        ("add", rf"add\s+({_NUM})\s+(?:and|to)\s+({_NUM})", r"(\1 + \2)"),
        ("subtract", rf"subtract\s+({_NUM})\s+from\s+({_NUM})", r"(\2 - \1)"),
        ("multiply", rf"multiply\s+({_NUM})\s+(?:by|and|with)\s+({_NUM})", r"(\1 * \2)"),
        ("divide", rf"divide\s+({_NUM})\s+by\s+({_NUM})", r"(\1 / \2)"),
        ("power", r"\bto\s+the\s+power\s+of\b", "**"),
        ("multiplied", r"\bmultiplied\s+by\b", "*"),
        ("divided", r"\bdivided\s+by\b", "/"),
        ("plus", r"\bplus\b", "+"),
        ("minus", r"\bminus\b", "-"),
        ("times", r"\btimes\b", "*"),
        ("over", r"\bover\b", "/"),
        ("x", rf"(?<=\d)\s*x\s*(?={_NUM})", " * "),
        ("\u00d7", "\u00d7", " * "),
        ("\u00f7", "\u00f7", "/"),
        ("^", r"\^", "**"),
    )
)
_OPERATOR = re.compile(r"\d\s*(?:[-+*/%]|\*\*)\s*[-(\d.]")
_SCALE = re.compile(r"\b(\d+) (100|1000)\b")  # "5 100" from "five hundred"
_AVERAGE = re.compile(rf"(?:average|mean)\s+of\s+((?:{_NUM}\s*(?:,|and|&)?\s*)+)")
_FACTORIAL = re.compile(r"\b(\d{1,2})\s*(?:!|factorial)")
_DIGIT = re.compile(r"\d")
_BLANKS = re.compile(r"\s+")
_SPAN = re.compile(r"(?:[-+*/%()\s]|\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)+")

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
MAX_EXPRESSION = 200


def evaluate(expression: str) -> float | int | None:
    """The value of a plain arithmetic expression, or None if it is not one (or is unsafe)."""
    if len(expression) > MAX_EXPRESSION:
        return None
    try:
        # Most candidates are simple (decimal numbers, + - * / % **, brackets, spaces): read
        # those directly; anything else goes to Python's own parser, which defines the result.
        # (A leading space is an indentation error to Python: that case goes to ``ast`` too.)
        if expression[:1] != " " and _SIMPLE_CHARS.fullmatch(expression):
            tokens = _SIMPLE_TOKEN.findall(expression)
            # Every character but the spaces must belong to a token (findall skips the rest).
            if "".join(tokens) == expression.replace(" ", ""):
                try:
                    return _Simple(tokens).value()
                except _NotSimple:
                    pass
        tree = ast.parse(expression, mode="eval")
        return _eval(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None


# A simple expression: ASCII decimal numbers without exponent, + - * / % ** and brackets,
# separated by plain spaces. ``_Simple`` follows Python's grammar for exactly this subset
# (``expr: term (+|- term)*``, ``term: factor (*|/|% factor)*``, ``factor: (+|-) factor |
# power``, ``power: atom [** factor]``, ``atom: number | ( expr )``) and computes with the same
# operations as ``_eval``; whatever it cannot read ("//", "1e5", "3.", "007", "2(3)") raises
# ``_NotSimple`` and takes the ``ast`` route.
_SIMPLE_TOKEN = re.compile(r" *([0-9]+(?:\.[0-9]+)?|\.[0-9]+|\*\*|[-+*/%()])")
_SIMPLE_CHARS = re.compile(r"[0-9.+\-*/%() ]+")


class _NotSimple(Exception):
    pass


class _Simple:
    __slots__ = ("pos", "tokens")

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def value(self) -> float | int:
        result = self._expr()
        if self.pos != len(self.tokens):
            raise _NotSimple  # e.g. "1 2" or "2(3)": Python decides what that is
        return result

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _expr(self) -> float | int:
        result = self._term()
        while (op := self._peek()) in ("+", "-"):
            self.pos += 1
            right = self._term()
            result = result + right if op == "+" else result - right
        return result

    def _term(self) -> float | int:
        result = self._factor()
        while (op := self._peek()) in ("*", "/", "%"):
            self.pos += 1
            right = self._factor()
            if op == "*":
                result = result * right
            elif op == "/":
                result = result / right
            else:
                result = result % right
        return result

    def _factor(self) -> float | int:
        op = self._peek()
        if op == "-" or op == "+":
            self.pos += 1
            operand = self._factor()
            return -operand if op == "-" else +operand
        left = self._atom()
        if self._peek() == "**":
            self.pos += 1
            right = self._factor()
            if abs(right) > 64 or abs(left) > 1e6:
                raise ValueError("exponent too large")
            return left**right
        return left

    def _atom(self) -> float | int:
        item = self._peek()
        self.pos += 1
        if item == "(":
            inner = self._expr()
            if self._peek() != ")":
                raise _NotSimple
            self.pos += 1
            return inner
        if item[:1].isdigit() or item[:1] == ".":
            if "." in item:
                return float(item)
            if len(item) > 1 and item[0] == "0":
                raise _NotSimple  # "007" is not a Python number (but "00" is)
            return int(item)
        raise _NotSimple


def _eval(node: ast.AST) -> float | int:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ValueError("exponent too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    raise ValueError("not arithmetic")


def _has_operator(span: str) -> bool:
    return bool(_OPERATOR.search(span))


def normalise(text: str) -> str:
    """Lower-case, number words as digits, thousands separators dropped, phrases as operators."""
    out = _THOUSANDS.sub("", text.lower())
    out = _WORD_NUMBER.sub(lambda m: str(_NUMBER_WORDS[m.group(1)]), out)
    out = _SCALE.sub(lambda m: str(int(m.group(1)) * int(m.group(2))), out)
    # Each pattern runs only when the words it needs occur (plain substring tests are cheap).
    if ("average" in out or "mean" in out) and (m := _AVERAGE.search(out)):
        nums = _NUM_RE.findall(m.group(1))
        if len(nums) >= 2:
            out = out[: m.start()] + f"(({' + '.join(nums)}) / {len(nums)})" + out[m.end() :]
    if ("!" in out or "factorial" in out) and (m := _FACTORIAL.search(out)):
        n = int(m.group(1))
        if 1 <= n <= 20:
            product = " * ".join(str(i) for i in range(1, n + 1))
            out = out[: m.start()] + f"({product})" + out[m.end() :]
    for triggers, pattern, repl in _REWRITES:
        for trigger in triggers:
            if trigger in out:
                out = pattern.sub(repl, out)
                break
    return out


def find_expression(text: str) -> str | None:
    """The longest arithmetic expression in ``text`` (after rewriting words), if any."""
    found = find_expression_value(text)
    return found[0] if found else None


def find_expression_value(text: str) -> tuple[str, float | int] | None:
    """(expression, its value) for the longest arithmetic expression in ``text``, if any."""
    if not text:
        return None
    normalised = normalise(text[: MAX_EXPRESSION * 2])
    # A candidate needs a digit and either an operator between numbers or an opening bracket.
    if not _DIGIT.search(normalised) or (
        "(" not in normalised and not _OPERATOR.search(normalised)
    ):
        return None
    best: str | None = None
    best_value: float | int | None = None
    for match in _SPAN.finditer(normalised):
        span = match.group(0)
        if not _DIGIT.search(span):  # blanks and lone signs between words: never a number
            continue
        span = _balance(span.strip().rstrip("=").strip())
        if not span or (not _has_operator(span) and not span.startswith("(")):
            continue
        if best is not None and len(span) <= len(best):
            continue  # only a longer expression could replace the best one
        value = evaluate(span)
        if value is None:
            continue
        best, best_value = span, value
    if best is None or best_value is None:
        return None
    return _BLANKS.sub(" ", best), best_value


def _balance(span: str) -> str:
    """Trim unmatched parentheses at the ends of a span (prose often wraps an expression)."""
    while span.startswith("(") and span.count("(") > span.count(")"):
        span = span[1:].strip()
    while span.endswith(")") and span.count(")") > span.count("("):
        span = span[:-1].strip()
    return span


# Words that may appear in an expression written out ("7 times 8", "2 to the power of 10").
EXPRESSION_WORDS = frozenset(_NUMBER_WORDS) | {
    "plus",
    "minus",
    "times",
    "x",
    "over",
    "divided",
    "multiplied",
    "by",
    "to",
    "the",
    "power",
    "of",
    "squared",
    "cubed",
    "percent",
    "e",
    "square",
    "root",
    "sqrt",
    "half",
    "double",
    "and",
    "add",
    "subtract",
    "from",
    "multiply",
    "divide",
    "off",
    "on",
    "with",
}
_ALNUM = re.compile(r"[a-z]+|\d+")


def is_pure_expression(text: str) -> bool:
    """True when ``text`` is nothing but arithmetic (e.g. ``(3 + 4) * 5`` or ``2^10 =``)."""
    stripped = text.strip().rstrip("?=").strip()
    if not stripped or len(stripped) > MAX_EXPRESSION:
        return False
    # Cheap rejection first: any word outside arithmetic vocabulary means prose.
    for match in _ALNUM.finditer(stripped.lower()):
        tok = match.group(0)
        if not tok.isdigit() and tok not in EXPRESSION_WORDS:
            return False
    candidate = normalise(stripped)
    return (
        bool(_SPAN.fullmatch(candidate))
        and _has_operator(candidate)
        and (evaluate(candidate) is not None)
    )


def is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
