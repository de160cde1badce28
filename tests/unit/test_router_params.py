"""Parameter inference on many phrasings: expressions, hash algorithms, sentence counts,
extraction kinds, JMESPath expressions, and inline data."""

from __future__ import annotations

import jmespath
import pytest

from chalicelib.router import arithmetic
from chalicelib.router.params import (
    classification_view,
    extract_kinds,
    hash_algorithm,
    infer,
    infer_jmespath,
    sentence_count,
    split_inline,
)
from chalicelib.router.shapes import describe_input

USERS = {
    "users": [
        {"name": "ana", "age": 34, "active": True},
        {"name": "ben", "age": 41, "active": False},
    ],
    "total": 2,
}
ITEMS = [
    {"id": 1, "status": "open", "owner": {"login": "kim"}},
    {"id": 2, "status": "closed", "owner": {"login": "lee"}},
]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("what is 12.5% of 80", 10),
        ("2+2", 4),
        ("calculate 17 * 23", 391),
        ("what's 144 divided by 12", 12),
        ("how much is 15% of 240", 36),
        ("evaluate 2^10", 1024),
        ("2 to the power of 16", 65536),
        ("square root of 81", 9),
        ("what is 7 times 8", 56),
        ("add 45 and 67", 112),
        ("subtract 19 from 100", 81),
        ("multiply 123 by 456", 56088),
        ("divide 1000 by 8", 125),
        ("whats 9 plus 10", 19),
        ("what is fifty plus twelve", 62),
        ("twelve times eleven", 132),
        ("compute: 1,250 * 3", 3750),
        ("5 cubed?", 125),
        ("what's 3 squared", 9),
        ("waht is 12 x 12", 144),
        ("what's 40% off 120", 72),
        ("calculate 8% tax on 250", 20),
        ("half of 250", 125),
        ("double 37", 74),
        ("calculate the average of 4, 8 and 12", 8),
        ("compute 5 factorial", 120),
        ("how many hours in 3 weeks (3*7*24)", 504),
        ("(2+3)*(4+5)", 45),
        ("7 % 3", 1),
        ("what is -5 + 12", 7),
        ("1024 / 8 =", 128),
        ("total of 19.99 + 5.01 + 12", 37),
    ],
)
def test_expression_from_words(text: str, value: float) -> None:
    expression = arithmetic.find_expression(text)
    assert expression is not None, text
    assert arithmetic.evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    [
        "summarize in 3 sentences",
        "due 2024-03-15",
        "call +1 415 555 0100",
        "I have 3 apples",
        "hello",
    ],
)
def test_no_expression_in_prose(text: str) -> None:
    assert arithmetic.find_expression(text) is None


@pytest.mark.parametrize(
    "expression", ["__import__('os')", "2 ** 99999", "1 / 0", "a + 1", "(1).__class__", "9" * 300]
)
def test_evaluate_refuses_what_is_not_safe_arithmetic(expression: str) -> None:
    assert arithmetic.evaluate(expression) is None


def test_math_params_and_value_note() -> None:
    inferred = infer("math.evaluate", "what is 12.5% of 80", describe_input(None))
    assert arithmetic.evaluate(inferred.params["expression"]) == 10
    assert inferred.notes == ["(12.5 / 100 * 80) = 10"]


def test_math_expression_comes_from_the_input_when_it_holds_one() -> None:
    inferred = infer("math.evaluate", "evaluate this", describe_input("(12 + 8) / 4"))
    assert inferred.params["expression"] == "(12 + 8) / 4"


@pytest.mark.parametrize(
    ("text", "algorithm"),
    [
        ("sha256 of this", "sha256"),
        ("SHA-256 please", "sha256"),
        ("sha 256", "sha256"),
        ("shaa256 of the text", "sha256"),
        ("give me the sha-1 digest", "sha1"),
        ("sha1sum", "sha1"),
        ("md5", "md5"),
        ("md 5 please", "md5"),
        ("MD5SUM", "md5"),
        ("digest using SHA-384", "sha384"),
        ("sha512 hash", "sha512"),
        ("sha224", "sha224"),
        ("sha3-256 of the input", "sha3_256"),
        ("hash with sha3", "sha3_256"),
        ("sha3 512", "sha3_512"),
        ("blake2b hash", "blake2b"),
        ("blake2s", "blake2s"),
        ("sha2 hash", "sha256"),
        ("hash it", None),
        ("shall we hash it", None),
    ],
)
def test_hash_algorithm(text: str, algorithm: str | None) -> None:
    assert hash_algorithm(text) == algorithm


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("summarize in 2 sentences", 2),
        ("condense into three sentences", 3),
        ("one-sentence summary", 1),
        ("summary in one line", 1),
        ("a two line summary", 2),
        ("sum it up in a sentence", 1),
        ("shrink to a couple of sentences", 2),
        ("the top 5 sentences", 5),
        ("what's it about in a nutshell", 1),
        ("a one-liner please", 1),
        ("summarize", None),
        ("in 40 sentences", None),
    ],
)
def test_sentence_count(text: str, count: int | None) -> None:
    assert sentence_count(text) == count


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("extract the emails", ["emails"]),
        ("find all e-mail addresses and phone numbers", ["emails", "phones"]),
        ("list every link", ["urls"]),
        ("which websites are referenced", ["urls"]),
        ("find the dates mentioned", ["dates"]),
        ("find every dollar amount", ["money"]),
        ("list all hashtags and mentions", ["hashtags", "mentions"]),
        ("find the twitter handles", ["mentions"]),
        ("find emails: write to bob@corp.io", ["emails"]),  # data after ':' is not a request
        ("extract", []),
    ],
)
def test_extract_kinds(text: str, kinds: list[str]) -> None:
    assert extract_kinds(text) == kinds


@pytest.mark.parametrize(
    ("text", "data", "expression"),
    [
        ("get the names of all users", USERS, "users[*].name"),
        ("query users[*].name", USERS, "users[*].name"),
        ("run the jmespath expression users[?active].name", USERS, "users[?active].name"),
        ("what is the value of total", USERS, "total"),
        ("select the status of each item", ITEMS, "[*].status"),
        ("filter the items where status is open", ITEMS, "[?status=='open']"),
        ("list the owner logins", ITEMS, "[*].owner.login"),
        ("get owner.login for every entry", ITEMS, "[*].owner.login"),
        ("pluck the ids", ITEMS, "[*].id"),
        ("find active users", USERS, "users[?active]"),
        ("list the names of inactive users", USERS, "users[?!active].name"),
        ("users with age over 40", USERS, "users[?age>`40`]"),
        ("what's the first user's age", USERS, "users[0].age"),
        ("how many users are in the json", USERS, "length(users)"),
        ("count the items in the array", ITEMS, "length(@)"),
        ("get max age", USERS, "max(users[*].age)"),
        ("select id and status from each record", ITEMS, "[*].{id: id, status: status}"),
        ("show only closed items", ITEMS, "[?status=='closed']"),
        ("retrieve id where owner is kim", ITEMS, None),  # owner is an object, not 'kim'
        ("return the list of statuses", ITEMS, "[*].status"),
        ("query: users[?age > `30`].name", USERS, "users[?age > `30`].name"),
        ("how many stars does the repo have", {"repo": "x", "stars": 5}, "stars"),
        ("how many commits in total", {"c": [{"commits": 4}]}, "sum(c[*].commits)"),
        ("average age of the users", USERS, "avg(users[*].age)"),
    ],
)
def test_jmespath_inference(text: str, data: object, expression: str | None) -> None:
    found = infer_jmespath(text, data)
    if expression is None:
        # Whatever is inferred must at least compile.
        assert found is None or jmespath.compile(found)
        return
    assert found == expression
    jmespath.compile(found)


def test_inferred_jmespath_answers_the_question() -> None:
    assert jmespath.search(infer_jmespath("get the names of all users", USERS), USERS) == [
        "ana",
        "ben",
    ]
    assert jmespath.search(infer_jmespath("list the names of inactive users", USERS), USERS) == [
        "ben"
    ]
    assert jmespath.search(infer_jmespath("how many users are there", USERS), USERS) == 2


def test_no_jmespath_for_words_that_match_no_key() -> None:
    assert infer_jmespath("query this json", USERS) is None


def test_no_jmespath_when_only_the_list_name_is_understood() -> None:
    items = {"items": [{"sku": "x1", "qty": 3}, {"sku": "y2", "qty": 0}]}
    assert infer_jmespath("which items are out of stock", items) is None
    assert infer_jmespath("list the items", items) == "items"


@pytest.mark.parametrize(
    ("instruction", "request_part", "data"),
    [
        ("sentiment: I love it", "sentiment", "I love it"),
        (
            "summarize the following\nLine one. Line two.",
            "summarize the following",
            "Line one. Line two.",
        ),
        ('get ids from [{"id": 1}]', "get ids from", '[{"id": 1}]'),
        ("md5 hash of 'hello world'", "md5 hash of", "hello world"),
        ("hash the string password123 with sha1", "hash the with sha1", "password123"),
        ("what's the md5 of my name 'john'", "what's the md5 of my name", "john"),
    ],
)
def test_split_inline(instruction: str, request_part: str, data: str) -> None:
    assert split_inline(instruction) == (request_part, data)


def test_no_split_for_plain_requests() -> None:
    assert split_inline("write a poem about the sea") is None
    assert split_inline("what's up") is None


def test_classification_view_keeps_real_input() -> None:
    request, shape, data = classification_view("sentiment: below", "I love it")
    assert (request, shape.kind, data) == ("sentiment: below", "text", None)


def _python_value(expression: str) -> float | int | None:
    """What ``arithmetic.evaluate`` must return: Python's own parser over the same AST walker."""
    import ast

    if len(expression) > arithmetic.MAX_EXPRESSION:
        return None
    try:
        return arithmetic._eval(ast.parse(expression, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None


@pytest.mark.parametrize(
    "expression",
    [
        "(144 ** 0.5)",
        "-2 ** 2",
        "2 ** -1",
        "2 ** 3 ** 2",
        "--1",
        "+ 3 - - 4",
        "7 % 3 * 2 - 10 / 4",
        "(1 + 2) * (3 - 4) / .5",
        "00 + 1",
        "007",
        "  2",
        "2 ",
        "3.",
        "1e3 * 2",
        "7 // 2",
        "2(3)",
        "(1)(2)",
        "1 2",
        "()",
        "((1)",
        "1 / 0",
        "2 ** 65",
        "1000001 ** 2",
        "(-8) ** 0.5",
        "1.5.5",
        "2..5",
        "1 +\n 2",
        "(1 +\n 2)",
        "",
    ],
)
def test_evaluate_agrees_with_pythons_parser(expression) -> None:
    # evaluate reads simple expressions itself (the fast path); it must never differ from ast.
    assert arithmetic.evaluate(expression) == _python_value(expression)
    assert type(arithmetic.evaluate(expression)) is type(_python_value(expression))


def test_evaluate_agrees_with_pythons_parser_on_random_expressions() -> None:
    import random

    rnd = random.Random(4)
    pieces = ["1", "2", "0", "07", "3.5", ".5", "64", "65", "1000000", "+", "-", "*", "/"]
    pieces += ["**", "%", "(", ")", " ", "//", "3.", "1e3"]
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12)))
        got, want = arithmetic.evaluate(text), _python_value(text)
        assert (got, type(got)) == (want, type(want)) or (got != got and want != want), text
