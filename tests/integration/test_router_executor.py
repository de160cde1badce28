"""The router against the real executor: its catalogue comes from ListModules, and what it
infers from the words (expression, algorithm, sentences, kinds, JMESPath, inline data) is
accepted by the modules and gives the answer the request asked for. Both sides share one
arithmetic grammar and its limits: what the router promises the executor computes, and what
the executor refuses (quickly, with a clear error) the router never promises."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import pytest

from chalicelib.executor_client import ExecutorClient
from tests.integration.executor_support import TOKEN, in_process_executor

ARTICLE = (
    "The city council met on Tuesday to discuss the new budget. Members argued about road "
    "repairs and school funding for hours. After four hours, a compromise was reached. The "
    "mayor praised the result. Critics said the plan ignores public transport."
)
USERS = {
    "users": [
        {"name": "ana", "age": 34, "active": True},
        {"name": "ben", "age": 41, "active": False},
    ],
    "total": 2,
}


@pytest.fixture(scope="module")
def executor_client() -> Iterator[ExecutorClient]:
    with in_process_executor(workers=1, test_modules=False) as running:
        client = ExecutorClient(f"127.0.0.1:{running.port}", TOKEN)
        try:
            yield client
        finally:
            client.close()


@pytest.fixture
def routed(
    aws: None,
    executor_client: ExecutorClient,
    monkeypatch: pytest.MonkeyPatch,
    reset_caches: Callable[[], None],
) -> ExecutorClient:
    from chalicelib import executor_client as module

    monkeypatch.setenv("AION_EXECUTOR_TARGET", "127.0.0.1:1")  # the fake getter below is used
    reset_caches()
    monkeypatch.setattr(module, "get_executor_client", lambda: executor_client)
    return executor_client


def run_routed(client: ExecutorClient, instruction: str, input_value: Any = None) -> Any:
    from chalicelib.logic import routing

    decision = routing.explain(instruction, input_value)
    assert decision["target"] == "executor", decision
    data = decision["inlineInput"] if input_value is None else input_value
    if data is not None and not isinstance(data, str):
        import json

        data = json.dumps(data)
    events = list(
        client.execute(
            task_id="t-r",
            attempt=1,
            module=decision["module"],
            input_text=data,
            params=decision["params"],
            timeout_s=20,
        )
    )
    assert events[-1].kind == "result", (decision, events[-1])
    return decision["module"], events[-1].result


def test_catalog_comes_from_list_modules(routed: ExecutorClient) -> None:
    from chalicelib.logic import routing

    cat = routing.catalog()
    assert cat.source == "executor"
    modules = {m.name: m for m in cat.modules}
    assert modules["crypto.hash"].available is True
    assert modules["crypto.hash"].version
    assert "algorithm" in modules["crypto.hash"].params_schema["properties"]


def test_percentage_from_words(routed: ExecutorClient) -> None:
    module, result = run_routed(routed, "what is 12.5% of 80")
    assert module == "math.evaluate"
    assert result["value"] == pytest.approx(10)


def test_word_arithmetic(routed: ExecutorClient) -> None:
    assert run_routed(routed, "what is fifty plus twelve")[1]["value"] == 62
    assert run_routed(routed, "square root of 81")[1]["value"] == pytest.approx(9)


def test_hash_of_quoted_inline_data(routed: ExecutorClient) -> None:
    module, result = run_routed(routed, "md5 hash of 'hello world'")
    assert module == "crypto.hash"
    assert result["hexdigest"] == hashlib.md5(b"hello world").hexdigest()  # noqa: S324


def test_summary_sentence_count(routed: ExecutorClient) -> None:
    module, result = run_routed(routed, "summarize this in 2 sentences", ARTICLE)
    assert module == "text.summarize"
    assert len(result["sentences"]) == 2
    assert result["totalSentences"] == 5


def test_extract_only_the_kinds_asked(routed: ExecutorClient) -> None:
    module, result = run_routed(
        routed,
        "pull out the email addresses",
        "write to ana@example.com, call 555-0100, see https://a.io",
    )
    assert module == "text.extract"
    assert result["emails"] == ["ana@example.com"]
    assert "urls" not in result


def test_jmespath_from_words(routed: ExecutorClient) -> None:
    module, result = run_routed(routed, "names of the users who are inactive", USERS)
    assert module == "data.json_query"
    assert result["result"] == ["ben"]


def test_jmespath_filter_on_a_field_of_an_object(routed: ExecutorClient) -> None:
    items = [
        {"id": 1, "status": "open", "owner": {"login": "kim"}},
        {"id": 2, "status": "closed", "owner": {"login": "lee"}},
    ]
    module, result = run_routed(routed, "show the id of each item whose owner is kim", items)
    assert module == "data.json_query"
    assert result["result"] == [1]


@pytest.mark.parametrize(
    ("instruction", "exact"),
    [
        ("What's 18% gratuity on a $54.20 bill?", Fraction(18, 100) * Fraction("54.20")),
        ("37 is what percentage of 250?", Fraction(37, 250) * 100),
        ("Sales grew from 3.4k to 4.1k, by what percent?", Fraction(700, 3400) * 100),
        ("what do I pay for a $64 lamp at 25% off", 64 * (1 - Fraction(25, 100))),
        ("mean of 2.5, 3.5 and 6", Fraction(12, 3)),
    ],
)
def test_word_problems_computed_by_the_executor(
    routed: ExecutorClient, instruction: str, exact: Fraction
) -> None:
    module, result = run_routed(routed, instruction)
    assert module == "math.evaluate"
    assert result["value"] == pytest.approx(float(exact), rel=1e-12)


# Each would pin a worker for its whole time budget without a guard on the argument that scales
# the work; each must come back at once as invalid input, never as a timeout.
HOSTILE = [
    ("round(2**9999, -10**18)", "round()"),
    ("10 ** 10 ** 10", "too large"),
    ("factorial(10 ** 6)", "factorial"),
    ("(2 ** 9999) * (2 ** 9999)", "too large"),
    ("9" * 990 + " ** 9", "too large"),
    ("-" * 500 + "1", "nested"),
]


@pytest.mark.parametrize(("expression", "message"), HOSTILE)
def test_work_scaling_arguments_are_refused_by_the_executor(
    routed: ExecutorClient, expression: str, message: str
) -> None:
    events = list(
        routed.execute(
            task_id="t-h",
            attempt=1,
            module="math.evaluate",
            params={"expression": expression},
            timeout_s=20,
        )
    )
    assert events[-1].kind == "error"
    assert events[-1].error_code == "invalid_input"
    assert message in events[-1].message
    # The worker is free again at once: the next call is answered.
    assert run_routed(routed, "7 times 6")[1]["value"] == 42


@pytest.mark.parametrize(("expression", "message"), HOSTILE)
def test_the_router_never_promises_what_the_executor_refuses(
    routed: ExecutorClient, expression: str, message: str
) -> None:
    from chalicelib.logic import routing

    decision = routing.explain(expression)
    promised = decision["params"].get("expression")
    assert decision["target"] != "executor" or promised not in (None, expression)
    if decision["module"] == "math.evaluate" and decision["target"] == "executor":
        # Whatever it found instead, the executor computes.
        assert run_routed(routed, expression)[1]["value"] is not None


def test_requests_without_their_data_never_reach_a_module(routed: ExecutorClient) -> None:
    from chalicelib.logic import routing

    for instruction in (
        "Give me the gist of this report in two sentences.",
        "Pull the phone numbers out of the message below",
        "What's the SHA-1 of the uploaded document?",
        "Analyze this CSV: data types and missing values",
    ):
        decision = routing.explain(instruction)
        assert (decision["target"], decision["reasonCode"]) == ("review", "input_missing")


def test_inline_csv_is_profiled(routed: ExecutorClient) -> None:
    module, result = run_routed(routed, "profile this csv:\nid,score\n1,90\n2,75\n3,88")
    assert module == "data.csv_profile"
    assert result["rows"] == 3
