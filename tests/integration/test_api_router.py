"""POST /router/explain and GET /router/catalog through the Chalice app (chalice.test.Client)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.integration.conftest import ApiClient


class _FakeExecutor:
    def __init__(self) -> None:
        self.down = False

    def list_modules(self, timeout_s: float = 2.0) -> list:
        from chalicelib.executor_client import ExecutorUnavailable, ModuleInfo
        from chalicelib.router.catalog import MODULE_NAMES

        if self.down:
            raise ExecutorUnavailable("unreachable")
        return [ModuleInfo(n, n, {}, 1 << 20, "1.0.0") for n in MODULE_NAMES if n != "llm.generate"]


@pytest.fixture
def router_api(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> tuple[ApiClient, _FakeExecutor]:
    from chalicelib import executor_client

    monkeypatch.setenv("AION_EXECUTOR_TARGET", "127.0.0.1:50051")
    for name in ("AION_BEDROCK_MODEL_ID", "AION_LLM_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    reset_caches()
    fake = _FakeExecutor()
    monkeypatch.setattr(executor_client, "get_executor_client", lambda: fake)
    return api, fake


def test_explain_needs_a_token(router_api) -> None:
    api, _ = router_api
    reply = api.post("/router/explain", {"instruction": "2+2"})
    assert reply.status == 401
    assert reply.error_code == "unauthorized"


def test_explain_answers_an_explained_decision(router_api) -> None:
    api, _ = router_api
    who = api.user()
    reply = api.post("/router/explain", {"instruction": "what is 12.5% of 80"}, who=who)
    assert reply.status == 200, reply.body
    body = reply.body
    assert (body["target"], body["module"], body["decidedBy"]) == (
        "executor",
        "math.evaluate",
        "rule",
    )
    assert body["params"] == {"expression": "(12.5 / 100 * 80)"}
    assert body["evidence"]["notes"] == ["(12.5 / 100 * 80) = 10"]
    assert body["reasonCode"] is None
    assert isinstance(body["micros"], int)


def test_explain_classifier_decision_with_input(router_api) -> None:
    api, _ = router_api
    reply = api.post(
        "/router/explain",
        {
            "instruction": "fish out the e-mail adresses in here",
            "input": "write to ana@example.com or call 555-0100",
        },
        who=api.user(),
    )
    assert reply.status == 200
    body = reply.body
    assert (body["module"], body["decidedBy"], body["stage"]) == (
        "text.extract",
        "classifier",
        "classifier",
    )
    assert body["params"] == {"kinds": ["emails"]}
    assert body["alternatives"]
    assert body["evidence"]["words"]


def test_explain_generative_without_llm_goes_to_review(router_api) -> None:
    api, _ = router_api
    reply = api.post(
        "/router/explain", {"instruction": "write a haiku about fog on a canal"}, who=api.user()
    )
    assert (reply.body["target"], reply.body["module"], reply.body["reasonCode"]) == (
        "review",
        "llm.generate",
        "route_unavailable",
    )
    assert "no LLM route" in reply.body["reason"]


@pytest.mark.parametrize(
    ("instruction", "module", "params"),
    [
        ("Give me the gist of this report in two sentences.", "text.summarize", {"sentences": 2}),
        ("Pull the phone numbers out of the message below", "text.extract", {"kinds": ["phones"]}),
        ("What's the SHA-1 of the uploaded document?", "crypto.hash", {"algorithm": "sha1"}),
        ("Analyze this CSV: data types and missing values", "data.csv_profile", {}),
    ],
)
def test_explain_keeps_the_intent_when_the_data_is_missing(
    router_api, instruction: str, module: str, params: dict
) -> None:
    api, _ = router_api
    reply = api.post("/router/explain", {"instruction": instruction}, who=api.user())
    assert reply.status == 200, reply.body
    body = reply.body
    assert (body["module"], body["target"], body["reasonCode"]) == (
        module,
        "review",
        "input_missing",
    )
    assert body["params"] == params
    assert body["inlineInput"] is None


@pytest.mark.parametrize(
    ("instruction", "value"),
    [
        ("What's 18% gratuity on a $54.20 bill?", 9.756),
        ("37 is what percentage of 250?", 14.8),
        ("Sales grew from 3.4k to 4.1k, by what percent?", 700 / 3400 * 100),
    ],
)
def test_explain_shows_the_expression_of_a_word_problem(
    router_api, instruction: str, value: float
) -> None:
    from chalicelib.shared.arithmetic import evaluate

    api, _ = router_api
    body = api.post("/router/explain", {"instruction": instruction}, who=api.user()).body
    assert (body["module"], body["target"], body["reasonCode"]) == (
        "math.evaluate",
        "executor",
        None,
    )
    assert evaluate(body["params"]["expression"]) == pytest.approx(value)


BAD_BODIES = [
    ({"instruction": ""}, "validation_error"),
    ({"instruction": "hash", "module": "Not A Module"}, "validation_error"),
    ({"instruction": "hash", "module": "no.such_module"}, "unknown_module"),
    ({"instruction": "hash", "surprise": 1}, "validation_error"),
    ({"instruction": "hash", "params": [1, 2]}, "validation_error"),
]


def test_explain_rejects_bad_bodies(router_api) -> None:
    api, _ = router_api
    who = api.user()
    for body, code in BAD_BODIES:
        reply = api.post("/router/explain", body, who=who)
        assert reply.status == 400, (body, reply.body)
        assert reply.error_code == code, (body, reply.body)


def test_catalog_lists_routes_and_modules(router_api) -> None:
    api, _ = router_api
    reply = api.get("/router/catalog", who=api.user())
    assert reply.status == 200, reply.body
    routes = {r["name"]: r for r in reply.body["routes"]}
    assert routes["executor"]["available"] is True
    assert routes["executor"]["state"] == "closed"
    assert routes["llm"]["available"] is False
    assert reply.body["source"] == "executor"
    names = {m["name"] for m in reply.body["modules"]}
    assert {"text.stats", "math.evaluate", "llm.generate"} <= names
    # The wire shape: what is not known is absent, never null.
    assert set(routes["executor"]) == {"name", "available", "state", "configured", "failures"}
    assert routes["llm"]["detail"] == "no LLM provider is configured"
    assert "provider" not in routes["llm"]
    modules = {m["name"]: m for m in reply.body["modules"]}
    assert set(modules["llm.generate"]) == {"name", "description", "route", "available"}
    assert {"paramsSchema", "maxInputBytes", "version"} <= set(modules["text.stats"])
    assert None not in [v for m in reply.body["modules"] for v in m.values()]


def test_catalog_when_the_executor_is_down(router_api) -> None:
    api, fake = router_api
    fake.down = True
    reply = api.get("/router/catalog", who=api.user())
    assert reply.status == 200
    assert reply.body["source"] == "static"
    executor = next(r for r in reply.body["routes"] if r["name"] == "executor")
    assert executor["available"] is False
    # ...and explain tells exact work to wait for a person instead of guessing.
    reply = api.post(
        "/router/explain", {"instruction": "sha256 please", "input": "abc"}, who=api.user()
    )
    assert (reply.body["target"], reply.body["module"], reply.body["reasonCode"]) == (
        "review",
        "crypto.hash",
        "route_unavailable",
    )


def test_openapi_documents_the_router(router_api) -> None:
    api, _ = router_api
    doc = api.get("/openapi.json").body
    assert "/router/explain" in doc["paths"]
    assert "/router/catalog" in doc["paths"]
    assert "post" in doc["paths"]["/router/explain"]
    # The decision's contract: reasonCode and decidedBy with their values.
    text = json.dumps(doc)
    for value in ("input_missing", "input_mismatch", "route_unavailable", "low_confidence"):
        assert value in text
    assert '"person"' in text
