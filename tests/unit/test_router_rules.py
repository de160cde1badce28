"""The router's rules one by one, called directly: each hit exactly (module, rule, reason, what
it read), and each limit on both sides. Instructions are rules-only inputs, not training rows."""

from __future__ import annotations

import pytest

from chalicelib.router import rules
from chalicelib.router.catalog import MODULE_NAMES
from chalicelib.router.rules import RuleHit
from chalicelib.router.shapes import describe_input

EMPTY = describe_input(None)
KNOWN = frozenset(MODULE_NAMES)


def test_pure_arithmetic_hits_with_its_rule_and_reason() -> None:
    hit = RuleHit("math.evaluate", "arithmetic", "the instruction is an arithmetic expression")
    assert rules.pure_arithmetic("(17 + 4) * 3", EMPTY) == hit
    assert rules.pure_arithmetic("Compute (17 + 4) * 3", EMPTY) == hit
    assert rules.match("(17 + 4) * 3", EMPTY, KNOWN) == hit
    # Words beyond the lead-in are not arithmetic; nor is a lead-in alone.
    assert rules.pure_arithmetic("(17 + 4) * 3 apples", EMPTY) is None
    assert rules.pure_arithmetic("compute", EMPTY) is None
    # The words the caller tokenised are the ones read.
    assert rules.pure_arithmetic("(17 + 4) * 3", EMPTY, ["apples"]) is None


def test_arithmetic_input_hits_within_its_limits() -> None:
    hit = RuleHit("math.evaluate", "arithmetic_input", "the input is an arithmetic expression")
    assert rules.arithmetic_input("do the math", describe_input("12 * (3 + 4)")) == hit
    six = "please do all of the math"  # six words: still short
    assert rules.arithmetic_input(six, describe_input("12 * (3 + 4)")) == hit
    assert rules.arithmetic_input(six + " now", describe_input("12 * (3 + 4)")) is None
    assert rules.arithmetic_input("do it", describe_input("12 * (3 + 4)"), ["a"] * 7) is None
    # 200 characters of arithmetic is short enough; 201 is not.
    long_sum = " + ".join(["1"] * 50)
    at_limit = long_sum + " " * (200 - len(long_sum))
    assert len(at_limit) == 200
    assert rules.arithmetic_input("do the math", describe_input(at_limit)) == hit
    assert rules.arithmetic_input("do the math", describe_input(at_limit + " ")) is None
    assert rules.arithmetic_input("do the math", describe_input("12 * x + 4")) is None
    assert rules.arithmetic_input("do the math", describe_input({"a": 1})) is None


def test_word_problem_hits_with_what_it_read() -> None:
    text = "what is 15% of 80?"
    hit = rules.word_problem(text, EMPTY)
    assert hit is not None
    assert (hit.module, hit.rule, hit.reason) == (
        "math.evaluate",
        "word_problem",
        "the instruction is a word problem",
    )
    assert hit.found is not None
    assert float(hit.found[1]) == pytest.approx(12)
    # Its numbers must be in the instruction, with no input beside it.
    assert rules.word_problem(text, describe_input("some words")) is None
    assert rules.word_problem("what is fifteen percent of eighty?", EMPTY) is None
    # Thirty words at most.
    assert rules.word_problem(text, EMPTY, ["w"] * 30) is not None
    assert rules.word_problem(text, EMPTY, ["w"] * 31) is None
