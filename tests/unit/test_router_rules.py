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


def test_bare_hash_hits_with_the_algorithm_it_read() -> None:
    named = RuleHit("crypto.hash", "hash_request", "a bare hashing request (sha256)")
    plain = RuleHit("crypto.hash", "hash_request", "a bare hashing request")
    assert rules.bare_hash("sha256 this") == named
    assert rules.bare_hash("SHA256 this") == named
    assert rules.bare_hash("hash this please") == plain
    # What follows a colon is the data, not the request.
    assert rules.bare_hash("checksum: hello world") == plain
    assert rules.bare_hash(" ".join(["hash"] * 16)) == plain  # sixteen words at most
    assert rules.bare_hash(" ".join(["hash"] * 17)) is None
    assert rules.bare_hash("hash the poem") is None  # other words: not a bare request
    assert rules.bare_hash("") is None
    assert rules.bare_hash("sha256 this", ["a"] * 17) is None  # the caller's words are read


def test_an_empty_instruction_profiles_csv_and_nothing_else() -> None:
    csv = describe_input("a,b\n1,2\n")
    hit = RuleHit(
        "data.csv_profile",
        "csv_without_instruction",
        "no instruction and the input is CSV: profile it",
    )
    assert rules.empty_instruction("", csv) == hit
    assert rules.empty_instruction("   ", csv) == hit
    assert rules.match("", csv, KNOWN) == hit
    assert rules.empty_instruction("profile", csv) is None
    assert rules.empty_instruction("", describe_input("words here")) is None
    assert rules.empty_instruction("", EMPTY) is None


def test_a_long_instruction_is_read_for_a_module_name_in_its_first_characters_only() -> None:
    named = RuleHit("crypto.hash", "named_module", "the instruction names the module crypto.hash")
    assert rules.match("crypto.hash " + "x" * 400, EMPTY, KNOWN) == named
    assert rules.match("x" * 401 + " crypto.hash", EMPTY, KNOWN) is None
    # At RULE_CHARS the other rules still apply; past it, only a module name does.
    text = "(2 + 3) * 4"
    assert rules.match(text.ljust(rules.RULE_CHARS), EMPTY, KNOWN) is not None
    assert rules.match(text.ljust(rules.RULE_CHARS + 1), EMPTY, KNOWN) is None
