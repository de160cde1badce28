"""High-precision rules that settle a module before the classifier: a module named outright, an
instruction that is nothing but arithmetic, a percentage or list word problem, a bare hashing
request, an input with no instruction. Anything less certain is left to the classifier.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from chalicelib.router import arithmetic
from chalicelib.router.params import hash_algorithm
from chalicelib.router.shapes import KIND_CSV, KIND_EMPTY, KIND_TEXT, InputShape

_MODULE_NAME = re.compile(r"\b([a-z]+\.[a-z_]+)\b")
_MATH_LEAD = re.compile(
    r"^(?:please\s+)?(?:what\s+is|what's|whats|how\s+much\s+is|calculate|calc|compute|evaluate|"
    r"solve|work\s+out)\s*:?\s*",
    re.I,
)
_WORD = re.compile(r"[a-z0-9]+")
_DIGIT = re.compile(r"\d")
_MATH_LEAD_WORDS = {
    "please",
    "what",
    "is",
    "s",
    "whats",
    "how",
    "much",
    "calculate",
    "calc",
    "compute",
    "evaluate",
    "solve",
    "work",
    "out",
}
_LETTERS = re.compile(r"[a-df-z]{2,}", re.I)  # words (an "e" alone may be an exponent)
_HASH_WORDS = {"hash", "hashes", "hashing", "checksum", "digest", "hexdigest", "fingerprint"}
# Words that may surround a bare hashing request without changing its meaning.
_HASH_FILLER = _HASH_WORDS | {
    "of",
    "the",
    "this",
    "that",
    "it",
    "text",
    "input",
    "file",
    "please",
    "pls",
    "compute",
    "calculate",
    "give",
    "me",
    "get",
    "a",
    "an",
    "for",
    "data",
    "content",
    "what",
    "is",
    "s",
    "whats",
    "value",
    "generate",
    "create",
    "make",
    "with",
    "using",
    "algorithm",
    "message",
    "document",
    "upload",
    "uploaded",
    "string",
    "sum",
    "its",
    "hex",
    "and",
    "return",
    "show",
    "below",
    "following",
    "above",
    "in",
    "to",
    "produce",
    "my",
}


_ALGORITHM_PARTS = {"sha", "md", "sha3", "blake2b", "blake2s", "blake2", "blake"}


@dataclass(frozen=True)
class RuleHit:
    module: str
    rule: str
    reason: str
    # What the rule already read (a word problem's expression and value), so it is not read
    # twice.
    found: tuple[str, float | int] | None = None


def explicit_module(instruction: str, known: AbstractSet[str]) -> RuleHit | None:
    for name in _MODULE_NAME.findall(instruction.lower()):
        if name in known:
            return RuleHit(name, "named_module", f"the instruction names the module {name}")
    return None


def pure_arithmetic(
    instruction: str, shape: InputShape, words: list[str] | None = None
) -> RuleHit | None:
    # Cheap gate: one word outside arithmetic and lead-in vocabulary means prose.
    for tok in _WORD.findall(instruction.lower()) if words is None else words:
        if tok not in _MATH_LEAD_WORDS and not arithmetic.is_expression_word(tok):
            return None
    body = _MATH_LEAD.sub("", instruction.strip()).strip()
    if body and arithmetic.is_pure_expression(body):
        return RuleHit("math.evaluate", "arithmetic", "the instruction is an arithmetic expression")
    return None


def arithmetic_input(
    instruction: str, shape: InputShape, words: list[str] | None = None
) -> RuleHit | None:
    """A short instruction over an input that is nothing but arithmetic ("do the math")."""
    if shape.kind != KIND_TEXT or shape.size > 200 or _LETTERS.search(shape.text):
        return None
    if len(_WORD.findall(instruction.lower()) if words is None else words) > 6:
        return None
    if arithmetic.is_pure_expression(shape.text):
        return RuleHit("math.evaluate", "arithmetic_input", "the input is an arithmetic expression")
    return None


# Words of another module's work: a percentage inside such a request is not the request.
_OTHER_WORK = re.compile(
    r"summar|extract|sentiment|hash|checksum|digest|profile|csv|json|translat|write|draft|"
    r"explain|story|poem|essay|letter|email|report|article"
)
_WORD_PROBLEM_MAX_WORDS = 30
# Words every percentage or list word problem has (a cheap first test).
_WORD_PROBLEM_HINT = re.compile(r"%|percent|pct|average|mean|sum|total|add\s+up")


def word_problem(
    instruction: str, shape: InputShape, words: list[str] | None = None
) -> RuleHit | None:
    """A percentage or list word problem with its numbers in the instruction ("37 is what
    percentage of 250?", "18% gratuity on a $54.20 bill", "sum of 14, 27 and 39")."""
    if shape.kind != KIND_EMPTY or not _DIGIT.search(instruction):
        return None
    lowered = instruction.lower()
    if not _WORD_PROBLEM_HINT.search(lowered) or _OTHER_WORK.search(lowered):
        return None
    if len(_WORD.findall(lowered) if words is None else words) > _WORD_PROBLEM_MAX_WORDS:
        return None
    found = arithmetic.word_problem(instruction)
    if found is None:
        return None
    return RuleHit("math.evaluate", "word_problem", "the instruction is a word problem", found)


_QUOTED_OR_AFTER_COLON = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`|:.*\Z", re.S)


# A word that is a hashing word or starts like an algorithm name (one regex scan, not a loop).
_HASH_HINT = re.compile(
    r"(?<![a-z0-9])(?:sha|md|blake|(?:"
    + "|".join(sorted(_HASH_WORDS, key=len, reverse=True))
    + r")(?![a-z0-9]))"
)


def bare_hash(instruction: str, words: list[str] | None = None) -> RuleHit | None:
    lowered = instruction.lower()
    if words is None:
        words = _WORD.findall(lowered)
    if not words or len(words) > 16:
        return None
    # Cheap gate first: most requests never mention hashing at all.
    if not _HASH_HINT.search(lowered):
        return None
    # Inline data ("md5 of 'hello world'", "sha256: some text") is data, not request words.
    text = _QUOTED_OR_AFTER_COLON.sub(" ", lowered)
    words = _WORD.findall(text)
    algorithm = hash_algorithm(text)
    if algorithm is None and not _HASH_WORDS.intersection(words):
        return None
    for w in words:
        if w in _HASH_FILLER or w.isdigit() or w in _ALGORITHM_PARTS:
            continue
        if hash_algorithm(w) is None:
            return None
    why = f"a bare hashing request ({algorithm})" if algorithm else "a bare hashing request"
    return RuleHit("crypto.hash", "hash_request", why)


def empty_instruction(instruction: str, shape: InputShape) -> RuleHit | None:
    if instruction.strip() or shape.kind == KIND_EMPTY:
        return None
    if shape.kind == KIND_CSV:
        return RuleHit(
            "data.csv_profile",
            "csv_without_instruction",
            "no instruction and the input is CSV: profile it",
        )
    return None


# Rules read the start of an instruction: an expression or a bare hashing request is short, and
# a long text must not make every decision scan it.
RULE_CHARS = 400


def match(instruction: str, shape: InputShape, known: AbstractSet[str]) -> RuleHit | None:
    if len(instruction) > RULE_CHARS:
        return explicit_module(instruction[:RULE_CHARS], known)
    words = _WORD.findall(instruction.lower())  # tokenised once for the rules below
    return (
        explicit_module(instruction, known)
        or empty_instruction(instruction, shape)
        or pure_arithmetic(instruction, shape, words)
        or word_problem(instruction, shape, words)
        or bare_hash(instruction, words)
        or arithmetic_input(instruction, shape, words)
    )
