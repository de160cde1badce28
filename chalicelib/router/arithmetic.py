"""Arithmetic written in words -> an expression ``math.evaluate`` computes.

"12.5% of 80", "37 is what percentage of 250?", "Sales grew from 3.4k to 4.1k, by what
percent?", "18% gratuity on a $54.20 bill", "average of 4, 8 and 12", "seven times eight". The
expression uses the shared grammar (``chalicelib.shared.arithmetic``), and every candidate is
checked with its ``evaluate``, the executor's own: the router never promises an expression the
executor refuses.
"""

from __future__ import annotations

import math
import re

from chalicelib.shared.arithmetic import FUNCTIONS, value_or_none

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
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SCALE = re.compile(r"\b(\d+) (100|1000)\b")  # "5 100" from "five hundred"
# Money: the symbol goes, the amount stays. A suffix scales the number before it: k, M, B, bn
# (and m/b after a currency symbol, where they cannot be metres or bytes), or the word.
_SUFFIX = re.compile(
    r"(?<![\w.])([$€£¥]\s?)?(\d+(?:\.\d+)?)\s?"
    r"(k|K|M|B|bn|Bn|BN|mn|m|b|thousand|million|billion)(?![A-Za-z])"
)
_SUFFIX_ZEROS = {
    "k": 3,
    "thousand": 3,
    "m": 6,
    "mn": 6,
    "million": 6,
    "b": 9,
    "bn": 9,
    "billion": 9,
}
_CURRENCY = re.compile(r"[$€£¥]")

_PERCENT = ("%", "percent")
# Phrase -> operator rewrites, applied in order on lower-case text. A rewrite runs only when one
# of its triggers (text every match contains) occurs, which keeps ordinary prose cheap.
_REWRITES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = tuple(
    ((trigger,) if isinstance(trigger, str) else trigger, re.compile(pattern), repl)
    for trigger, pattern, repl in (
        # Fallbacks for percentages inside longer arithmetic (``percentage`` reads the rest).
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
_OPERATOR = re.compile(r"[\d)]\s*(?:[-+*/%]|\*\*)\s*[-(\d.a-z]|[a-z]\(")
_LIST = rf"((?:{_NUM}\s*(?:,|and|&|\+)?\s*)+)"
_AVERAGE = re.compile(rf"\b(?:average|mean)\s+of\s+(?:the\s+numbers\s+)?{_LIST}")
_TOTAL = re.compile(rf"\b(?:sum|total)\s+of\s+(?:the\s+numbers\s+)?{_LIST}|\badd\s+up\s+{_LIST}")
_FACTORIAL = re.compile(r"\b(\d{1,2})\s*(?:!|factorial)")
_DIGIT = re.compile(r"\d")
_BLANKS = re.compile(r"\s+")
# A run of expression tokens, the grammar's functions included (so "round(2**9999, -10**18)" is
# read, and refused, whole rather than as the "2**9999" inside it).
_FUNCTION_NAMES = "|".join(sorted([*FUNCTIONS, "pi", "tau"], key=len, reverse=True))
_SPAN = re.compile(
    rf"(?:[-+*/%()\s]|\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+|\b(?:{_FUNCTION_NAMES})\b|,(?=[^()]*\)))+"
)
# Longest span tried as an expression: prose is read in a bounded prefix.
MAX_EXPRESSION = 200


def _times_power_of_ten(number: str, zeros: int) -> str:
    """``number`` (digits, maybe a point) times 10**zeros, exactly, as plain digits:
    ("3.4", 3) -> "3400", ("1.25", 6) -> "1250000", ("0.0005", 3) -> "0.5"."""
    whole, _, fraction = number.partition(".")
    digits = whole + fraction
    if zeros >= len(fraction):
        return str(int(digits + "0" * (zeros - len(fraction))))
    cut = len(digits) - (len(fraction) - zeros)
    rest = digits[cut:].rstrip("0")
    return str(int(digits[:cut] or "0")) + ("." + rest if rest else "")


def _scaled(match: re.Match[str]) -> str:
    symbol, number, suffix = match.group(1), match.group(2), match.group(3)
    if suffix in ("m", "b") and not symbol:
        return match.group(0)  # "5m" alone may be metres or minutes
    return _times_power_of_ten(number, _SUFFIX_ZEROS[suffix.lower()])


def _numbers_only(text: str) -> str:
    """Money symbols, thousands separators and k/M/B suffixes resolved to plain numbers."""
    out = _SUFFIX.sub(_scaled, text)
    if _CURRENCY.search(out):
        out = _CURRENCY.sub("", out)
    if "," in out:
        out = _THOUSANDS.sub("", out)
    return out.lower()


def plain_numbers(text: str) -> str:
    """Lower-case, with plain numbers: money, separators, suffixes and number words resolved."""
    out = _numbers_only(text)
    if _WORD_NUMBER.search(out):
        out = _WORD_NUMBER.sub(lambda m: str(_NUMBER_WORDS[m.group(1)]), out)
        out = _SCALE.sub(lambda m: str(int(m.group(1)) * int(m.group(2))), out)
    return out


def normalise(text: str) -> str:
    """``plain_numbers``, then lists summed or averaged and phrases written as operators."""
    return _operators(plain_numbers(text))


def _operators(plain: str) -> str:
    out = plain
    if expression := _list_expression(out):
        out = out.replace(expression[1], expression[0], 1)
    # Each pattern runs only when the words it needs occur (plain substring tests are cheap).
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


def _list_expression(out: str) -> tuple[str, str] | None:
    """(expression, the words it replaces) for "average of 4, 8 and 12" -> ((4 + 8 + 12) / 3)
    and "sum of ..."/"total of ..."/"add up ..." -> (4 + 8 + 12)."""
    if ("average" in out or "mean" in out) and (m := _AVERAGE.search(out)):
        nums = _NUM_RE.findall(m.group(1))
        if len(nums) >= 2:
            return f"(({' + '.join(nums)}) / {len(nums)})", m.group(0).rstrip()
    if ("sum" in out or "total" in out or "add" in out) and (m := _TOTAL.search(out)):
        nums = _NUM_RE.findall(next(g for g in m.groups() if g is not None))
        if len(nums) >= 2:
            return f"({' + '.join(nums)})", m.group(0).rstrip()
    return None


# --- percentages ---------------------------------------------------------------------------

_PERCENT_WORD = re.compile(r"%|\bper\s?cent(?:age)?s?\b|\bpct\b")
# A percentage: "7% of", "18 percent"; "7 % 3" is the remainder operator, not 7 percent.
_PERCENT_OF_NUMBER = re.compile(rf"({_NUM})\s*(?:%(?!\s*[-+\d(.])|per\s?cent\b|pct\b)")
_FROM_TO = re.compile(rf"\b(?:from|between)\s+({_NUM})\s+(?:to|and)\s+({_NUM})")
_DOWN = re.compile(
    r"\b(?:decrease[sd]?|decreasing|drop(?:ped|s)?|fall(?:en|s)?|fell|declined?|declines|"
    r"lost|lose|loss|down|shr[ai]nk|shrunk|reduc\w*|cut|lower(?:ed)?)\b"
)
_WHAT_PERCENT = r"what\s+(?:percent|percentage|%)"
# (pattern, group of the part, group of the whole): "X is what percent of Y", "what percent of
# Y is X", "what percent is X of Y", "X as a percentage of Y", "X out of Y".
_RATIOS = tuple(
    (re.compile(pattern), part, whole)
    for pattern, part, whole in (
        (rf"({_NUM})\s+(?:is|are|was)\s+{_WHAT_PERCENT}\s+of\s+({_NUM})", 1, 2),
        (rf"{_WHAT_PERCENT}\s+of\s+({_NUM})\s+(?:is|are|was)\s+({_NUM})", 2, 1),
        (rf"{_WHAT_PERCENT}\s+(?:is|are|was)\s+({_NUM})\s+(?:out\s+)?of\s+({_NUM})", 1, 2),
        (rf"({_NUM})\s+as\s+an?\s+(?:percent|percentage)\s+of\s+({_NUM})", 1, 2),
        (rf"({_NUM})\s+out\s+of\s+({_NUM})", 1, 2),
    )
)
# With one percentage X and one amount Y, what is asked: Y lowered by X% ("40% off 120", "price
# after a 10% discount"), Y raised by X% ("add 7% tax to 350", "total with an 18% tip"), or X% of
# Y ("18% gratuity on a 54.20 bill", "30% discount on a 250 jacket": the amount itself).
_LOWERED = re.compile(r"\b(?:off|less|minus|decrease[sd]?|reduce[sd]?|reduction|cut|lower)\b")
_DISCOUNT = re.compile(r"\bdiscount(?:ed|s)?\b")
_FINAL = re.compile(r"\b(?:after|final|pay|paying|new|sale|net|end\s+up|left)\b")
_RAISED = re.compile(
    r"\b(?:add|added|adding|plus|including|incl|total|altogether|increase[sd]?|raise[sd]?|"
    r"grow[sn]?|grew|growth|rise[sn]?|rose|more|after|with)\b"
)
_MARKUP = re.compile(r"\bmark-?up\b")
_MARKUP_APPLIED = re.compile(r"\b(?:apply|applied|add|adding|price|sell|selling)\b")


def percentage(text: str) -> str | None:
    """The expression of a percentage word problem (``plain_numbers`` text), or None.

    Exactly two numbers: a percentage and an amount, or, when the question asks for the
    percentage, a part and a whole or the two ends of a change.
    """
    if not _PERCENT_WORD.search(text):
        return None
    numbers = list(_NUM_RE.finditer(text))
    if len(numbers) != 2:
        return None
    percent = _PERCENT_OF_NUMBER.search(text)
    if percent is None:
        if m := _FROM_TO.search(text):
            a, b = m.group(1), m.group(2)
            if _DOWN.search(text):
                return f"(({a} - {b}) / {a} * 100)"
            return f"(({b} - {a}) / {a} * 100)"
        for pattern, part, whole in _RATIOS:
            if m := pattern.search(text):
                return f"({m.group(part)} / {m.group(whole)} * 100)"
        return None
    x = percent.group(1)
    y = next(n.group(0) for n in numbers if n.start() != percent.start(1))
    if _LOWERED.search(text) or (_DISCOUNT.search(text) and _FINAL.search(text)):
        return f"({y} * (1 - {x} / 100))"
    if _MARKUP.search(text):
        applied = _MARKUP_APPLIED.search(text)
        return f"({y} * (1 + {x} / 100))" if applied else f"({x} / 100 * {y})"
    if not _DISCOUNT.search(text) and _RAISED.search(text):
        return f"({y} * (1 + {x} / 100))"
    return f"({x} / 100 * {y})"


# --- finding the expression ----------------------------------------------------------------


def word_problem(text: str) -> tuple[str, float | int] | None:
    """(expression, value) when ``text`` is a percentage or list word problem."""
    if not text:
        return None
    return _word_problem(plain_numbers(text[: MAX_EXPRESSION * 2]))


def _word_problem(plain: str) -> tuple[str, float | int] | None:
    if not _DIGIT.search(plain):
        return None
    expression = percentage(plain)
    if expression is None and (listed := _list_expression(plain)):
        expression = listed[0]
    if expression is None:
        return None
    value = value_or_none(expression)
    if value is None or not is_finite_number(value):
        return None
    return expression, value


def find_expression(text: str) -> str | None:
    """The arithmetic expression ``text`` asks for, if any."""
    found = find_expression_value(text)
    return found[0] if found else None


def find_expression_value(text: str) -> tuple[str, float | int] | None:
    """(expression, its value): a word problem's, else the longest arithmetic span in ``text``
    after rewriting words as operators."""
    if not text:
        return None
    plain = plain_numbers(text[: MAX_EXPRESSION * 2])
    if not _DIGIT.search(plain):
        return None
    if found := _word_problem(plain):
        return found
    normalised = _operators(plain)
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
        if not span or (not _OPERATOR.search(span) and not span.startswith("(")):
            continue
        if best is not None and len(span) <= len(best):
            continue  # only a longer expression could replace the best one
        if len(span) > MAX_EXPRESSION or (value := value_or_none(span)) is None:
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
    "k",
    "m",
    "b",
    "bn",
    "mn",
    "million",
    "billion",
}
_ALNUM = re.compile(r"[a-z]+|\d+")
_SUFFIXED = re.compile(r"\d+(?:k|m|b|bn|mn)")
_LOOSE_OPERATOR = re.compile(
    r"[-+*/%^\u00d7\u00f7]|\b(?:plus|minus|times|over|divided|multiplied|power|squared|cubed|"
    r"root|sqrt|half|double|percent)\b|\bx\b"
)


def is_expression_word(token: str) -> bool:
    """A word an expression written out may contain (a number, "times", "3k", ...)."""
    return token.isdigit() or token in EXPRESSION_WORDS or bool(_SUFFIXED.fullmatch(token))


def looks_like_expression(text: str) -> bool:
    """Cheaply: only arithmetic words and symbols, with a digit and an operator (``12 * 3``,
    ``15% of 80``). Not evaluated: what reads as arithmetic is data, valid or not."""
    stripped = text.strip().rstrip("?=").strip()
    if not stripped or len(stripped) > MAX_EXPRESSION or not _DIGIT.search(stripped):
        return False
    for match in _ALNUM.finditer(stripped.lower()):
        if not is_expression_word(match.group(0)):
            return False
    return bool(_LOOSE_OPERATOR.search(stripped.lower()))


def is_pure_expression(text: str) -> bool:
    """True when ``text`` is nothing but arithmetic (e.g. ``(3 + 4) * 5`` or ``2^10 =``)."""
    stripped = text.strip().rstrip("?=").strip()
    if not stripped or len(stripped) > MAX_EXPRESSION:
        return False
    # Cheap rejection first: any word outside arithmetic vocabulary means prose.
    for match in _ALNUM.finditer(stripped.lower()):
        if not is_expression_word(match.group(0)):
            return False
    candidate = normalise(stripped)
    return (
        bool(_SPAN.fullmatch(candidate))
        and bool(_OPERATOR.search(candidate))
        and value_or_none(candidate) is not None
    )


def is_finite_number(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def display(value: float | int) -> str:
    """A value as a person reads it in an explanation (a huge integer by its size)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {len(str(abs(value)))} digits"
    return f"{value:g}"
