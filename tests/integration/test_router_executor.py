"""The router against the real executor: its catalogue comes from ListModules, and what it
infers from the words (expression, algorithm, sentences, kinds, JMESPath, inline data) is
accepted by the modules and gives the answer the request asked for."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.executor_client import ExecutorClient
from executor_container.config import ExecutorConfig
from executor_container.server import start_executor
from tests.integration.executor_support import FILES_BUCKET, TOKEN

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
    config = ExecutorConfig(
        host="127.0.0.1",
        port=0,
        bridge_token=TOKEN,
        files_bucket=FILES_BUCKET,
        reflection=False,
        grace_seconds=5,
        workers=1,
        worker_memory_bytes=1024 * 1024 * 1024,
        worker_max_calls=5000,
        max_output_bytes=1024 * 1024,
        max_message_bytes=64 * 1024 * 1024,
    )
    running = start_executor(config)
    client = ExecutorClient(f"127.0.0.1:{running.port}", TOKEN)
    try:
        yield client
    finally:
        client.close()
        running.drain(1)


@pytest.fixture
def routed(
    aws: None, executor_client: ExecutorClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ExecutorClient]:
    from chalicelib import executor_client as module
    from chalicelib.config import get_settings
    from chalicelib.logic import route_health, routing

    monkeypatch.setenv("AION_EXECUTOR_TARGET", "127.0.0.1:1")  # the fake getter below is used
    get_settings.cache_clear()
    monkeypatch.setattr(module, "get_executor_client", lambda: executor_client)
    routing.reset_catalogue()
    route_health.reset_store()
    yield executor_client
    routing.reset_catalogue()
    route_health.reset_store()
    get_settings.cache_clear()


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
    module, result = run_routed(routed, "list the names of inactive users", USERS)
    assert module == "data.json_query"
    assert result["result"] == ["ben"]


def test_inline_csv_is_profiled(routed: ExecutorClient) -> None:
    module, result = run_routed(routed, "profile this csv:\nid,score\n1,90\n2,75\n3,88")
    assert module == "data.csv_profile"
    assert result["rows"] == 3
