"""Parameter inference on many phrasings: expressions (word problems included, their values
checked with exact rational arithmetic), hash algorithms, sentence counts, extraction kinds,
JMESPath expressions (checked by the value they give on the data), and inline data."""

from __future__ import annotations

from fractions import Fraction

import jmespath
import pytest

from chalicelib.router import arithmetic
from chalicelib.router.jmespath_params import infer_jmespath
from chalicelib.router.params import (
    classification_view,
    extract_kinds,
    hash_algorithm,
    infer,
    sentence_count,
    split_inline,
)
from chalicelib.router.shapes import describe_input
from chalicelib.shared.arithmetic import evaluate

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
    assert evaluate(expression) == pytest.approx(value)


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
    "text",
    [
        "__import__('os')",
        "2 ** 99999",
        "1 / 0",
        "a + 1",
        "9" * 300,
        "round(2**9999, -10**18)",
        "what is 10 ** 10 ** 10",
    ],
)
def test_nothing_the_executor_would_refuse_is_found(text: str) -> None:
    assert arithmetic.find_expression(text) is None


_F = Fraction


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        # percent of; what percent X is of Y
        ("What is 7.5% of 320?", _F("7.5") / 100 * 320),
        ("how much is 12 percent of 1,500", _F(12, 100) * 1500),
        ("what is fifty percent of 90", _F(45)),
        ("what percent of 64 is 16", _F(16, 64) * 100),
        ("13 is what percentage of 52?", _F(13, 52) * 100),
        ("what percentage is 7 out of 28", _F(7, 28) * 100),
        ("27 out of 30, as a percent", _F(27, 30) * 100),
        ("33 as a percentage of 44", _F(33, 44) * 100),
        # percent change / increase / decrease
        ("percent change from 40 to 46", _F(46 - 40, 40) * 100),
        ("percentage change from 90 to 72", _F(72 - 90, 90) * 100),
        ("percentage decrease from 90 to 72", _F(90 - 72, 90) * 100),
        ("orders went from 1,250 to 1,500: what's the percent increase?", _F(250, 1250) * 100),
        ("costs dropped from $2.4M to $1.8M, by what percent", _F(6, 24) * 100),
        # tip, discount, tax, markup on an amount
        ("What's 18% gratuity on a $54.20 bill?", _F(18, 100) * _F("54.20")),
        ("a 12.5% service charge on €96", _F("12.5") / 100 * 96),
        ("how much is a 15% discount on a £70 coat", _F(15, 100) * 70),
        ("what's the price after a 15% discount on £70", 70 * (1 - _F(15, 100))),
        ("$240 jacket, 35% off", 240 * (1 - _F(35, 100))),
        ("add 6.5% sales tax to $1,199", 1199 * (1 + _F("6.5") / 100)),
        ("total bill with a 20% tip on $86.50", _F("86.50") * (1 + _F(20, 100))),
        ("apply a 30% markup to $40", 40 * (1 + _F(30, 100))),
        ("8% tax on 2.5k", _F(8, 100) * 2500),
        # currency, separators, suffixes
        ("$1.2k plus $800", _F(2000)),
        ("3.5bn divided by 7", _F(500_000_000)),
        ("what is 2,000,000 minus 1.5M", _F(500_000)),
        ("¥12,000 times 3", _F(36000)),
        # lists, products, halves
        ("average of 3, 4, 5 and 8", _F(20, 4)),
        ("the mean of 1.5, 2.5 and 3.5", _F("7.5") / 3),
        ("sum of 4, 5, 6", _F(15)),
        ("total of $3.20, $4.05 and $10", _F("17.25")),
        ("add up 7, 8 and 9", _F(24)),
        ("what's 16 times 1.25", _F(20)),
        ("half of $1,010", _F(505)),
    ],
)
def test_word_problems_against_exact_arithmetic(text: str, exact: Fraction) -> None:
    found = arithmetic.find_expression_value(text)
    assert found is not None, text
    expression, value = found
    assert evaluate(expression) == value
    assert value == pytest.approx(float(exact), rel=1e-12), (text, expression)


@pytest.mark.parametrize(
    "text",
    [
        "explain how a 15% tip works",
        "what percent of people prefer tea",
        "sales grew a lot, by what percent?",
        "write a story about 3 friends",
    ],
)
def test_no_word_problem_without_its_numbers(text: str) -> None:
    assert arithmetic.word_problem(text) is None


def test_math_params_and_value_note() -> None:
    inferred = infer("math.evaluate", "what is 12.5% of 80", describe_input(None))
    assert evaluate(inferred.params["expression"]) == 10
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
        ("retrieve id where owner is kim", ITEMS, "[?owner.login=='kim'].id"),
        ("return the list of statuses", ITEMS, "[*].status"),
        ("query: users[?age > `30`].name", USERS, "users[?age > `30`].name"),
        ("how many stars does the repo have", {"repo": "x", "stars": 5}, "stars"),
        ("how many commits in total", {"c": [{"commits": 4}]}, "sum(c[*].commits)"),
        ("average age of the users", USERS, "avg(users[*].age)"),
    ],
)
def test_jmespath_inference(text: str, data: object, expression: str) -> None:
    found = infer_jmespath(text, data)
    assert found == expression
    jmespath.compile(found)


@pytest.mark.parametrize(
    ("text", "data", "value"),
    [
        # owner is an object: the filter must compare its login, not the object, with 'kim'.
        ("retrieve id where owner is kim", ITEMS, [1]),
        ("get the status where owner is lee", ITEMS, ["closed"]),
        ("filter the items where status is open", ITEMS, [ITEMS[0]]),
        ("users with age over 40", USERS, [USERS["users"][1]]),
        ("list the names of inactive users", USERS, ["ben"]),
        ("how many users are there", USERS, 2),
        ("get max age", USERS, 41),
        ("what's the first user's age", USERS, 34),
    ],
)
def test_inferred_jmespath_gives_the_value_asked_for(
    text: str, data: object, value: object
) -> None:
    assert jmespath.search(infer_jmespath(text, data), data) == value


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


@pytest.mark.parametrize(
    "instruction",
    [
        "Analyze this CSV: data types and missing values",
        "Extract from the email: phone numbers and dates",
        "Summary please: key points and recommendations",
        "Hash the attachment: sha256",
        "Profile the spreadsheet: rows, columns and nulls",
        "Check the review: positive or negative",
        "Pull the phone numbers out of the message below",
    ],
)
def test_a_description_of_the_work_is_not_data(instruction: str) -> None:
    assert split_inline(instruction) is None


@pytest.mark.parametrize(
    ("instruction", "data"),
    [
        ("Analyze this CSV:\na,b\n1,2", "a,b\n1,2"),
        ("profile this table: a,b\n1,2\n3,4", "a,b\n1,2\n3,4"),
        ('query it: {"a": 1}', '{"a": 1}'),
        ("compute: 15% of 80", "15% of 80"),
        ("the message below: call me at 555-0100 tomorrow", "call me at 555-0100 tomorrow"),
        ("word count: to be or not to be", "to be or not to be"),
    ],
)
def test_data_after_a_colon(instruction: str, data: str) -> None:
    assert split_inline(instruction)[1] == data  # type: ignore[index]


@pytest.mark.parametrize(
    "instruction",
    ["what's the word count of my essay", "the word count please", "find the name field"],
)
def test_the_word_of_a_request_is_not_data(instruction: str) -> None:
    assert split_inline(instruction) is None


def test_no_split_for_plain_requests() -> None:
    assert split_inline("write a poem about the sea") is None
    assert split_inline("what's up") is None


def test_classification_view_keeps_real_input() -> None:
    request, shape, data = classification_view("sentiment: below", "I love it")
    assert (request, shape.kind, data) == ("sentiment: below", "text", None)
