"""Routing logic: route state from breakers and the executor's catalogue, explain, catalog,
route_for_task with the half-open probe, record_route_outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.executor_client import ExecutorUnavailable, ModuleInfo
from chalicelib.logic import routing
from chalicelib.router.breaker import BreakerPolicy
from chalicelib.router.catalog import MODULE_NAMES

EXECUTOR_NAMES = [m for m in MODULE_NAMES if m != "llm.generate"]


class FakeExecutor:
    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.down = False
        self.calls = 0

    def list_modules(self, timeout_s: float = 2.0) -> list[ModuleInfo]:
        self.calls += 1
        if self.down:
            raise ExecutorUnavailable("no route to host")
        return [
            ModuleInfo(n, f"{n} module", {"type": "object"}, 1 << 20, "1.0.0") for n in self.names
        ]


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeTask:
    instruction: str
    input: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    module: str | None = None


@pytest.fixture
def env(
    aws: None, monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> tuple[FakeExecutor, Clock]:
    from chalicelib import executor_client
    from chalicelib.logic import route_health

    monkeypatch.setenv("AION_EXECUTOR_TARGET", "127.0.0.1:50051")
    for name in ("AION_BEDROCK_MODEL_ID", "AION_LLM_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    reset_caches()
    fake = FakeExecutor(EXECUTOR_NAMES)
    monkeypatch.setattr(executor_client, "get_executor_client", lambda: fake)
    clock = Clock()
    route_health.reset_store(
        route_health.RouteHealthStore(
            BreakerPolicy(failure_threshold=3, cooldown_s=30), clock=clock, cache_seconds=0
        )
    )
    return fake, clock


def test_catalog_with_the_executor_up(env: tuple[FakeExecutor, Clock]) -> None:
    fake, _ = env
    fake.names = [*EXECUTOR_NAMES, "image.resize"]
    cat = routing.catalog().to_json()  # the wire shape
    routes = {r["name"]: r for r in cat["routes"]}
    assert routes["executor"]["available"] is True
    assert routes["executor"]["state"] == "closed"
    assert routes["llm"]["available"] is False
    assert routes["llm"]["configured"] is False
    assert "no LLM provider" in routes["llm"]["detail"]
    assert cat["source"] == "executor"
    modules = {m["name"]: m for m in cat["modules"]}
    assert set(MODULE_NAMES) | {"image.resize"} == set(modules)
    assert modules["text.stats"]["available"] is True
    assert modules["text.stats"]["version"] == "1.0.0"
    assert modules["text.stats"]["paramsSchema"] == {"type": "object"}
    assert modules["llm.generate"] == {
        "name": "llm.generate",
        "description": modules["llm.generate"]["description"],
        "route": "llm",
        "available": False,
    }
    assert modules["image.resize"]["route"] == "executor"


def test_catalog_degrades_when_the_executor_is_down(env: tuple[FakeExecutor, Clock]) -> None:
    fake, _ = env
    fake.down = True
    cat = routing.catalog().to_json()  # the wire shape
    executor = next(r for r in cat["routes"] if r["name"] == "executor")
    assert executor["available"] is False
    assert "ListModules" in executor["detail"]
    assert cat["source"] == "static"
    assert {m["name"] for m in cat["modules"]} == set(MODULE_NAMES)
    assert not any(m["available"] for m in cat["modules"])


def test_catalogue_is_cached_and_failures_retried_sooner(env: tuple[FakeExecutor, Clock]) -> None:
    fake, _ = env
    routing.executor_catalogue(now=100.0)
    routing.executor_catalogue(now=159.0)
    assert fake.calls == 1
    routing.executor_catalogue(now=161.0)
    assert fake.calls == 2
    fake.down = True
    routing.reset_catalogue()  # the catalogue is cached: forget it, as after a deploy
    assert not routing.executor_catalogue(now=200.0).reachable
    routing.executor_catalogue(now=209.0)
    assert fake.calls == 3
    fake.down = False
    assert routing.executor_catalogue(now=211.0).reachable
    assert fake.calls == 4


def test_no_executor_target_means_no_executor(
    env: tuple[FakeExecutor, Clock],
    monkeypatch: pytest.MonkeyPatch,
    reset_caches: Callable[[], None],
) -> None:
    fake, _ = env
    monkeypatch.setenv("AION_EXECUTOR_TARGET", "")
    reset_caches()
    assert not routing.executor_catalogue(now=1.0).reachable
    assert fake.calls == 0


def test_explain_returns_the_decision(env: tuple[FakeExecutor, Clock]) -> None:
    body = routing.explain("what is 12.5% of 80")
    assert (body["target"], body["module"], body["decidedBy"], body["reasonCode"]) == (
        "executor",
        "math.evaluate",
        "rule",
        None,
    )
    assert body["params"]["expression"] == "(12.5 / 100 * 80)"


def test_explain_generative_without_llm_explains_review(env: tuple[FakeExecutor, Clock]) -> None:
    body = routing.explain("write a ballad about a lighthouse keeper")
    assert (body["target"], body["module"], body["reasonCode"]) == (
        "review",
        "llm.generate",
        "route_unavailable",
    )
    assert "no LLM route" in body["reason"]


def test_explain_keeps_the_intent_of_a_request_without_its_data(
    env: tuple[FakeExecutor, Clock],
) -> None:
    body = routing.explain("Give me the gist of this report in two sentences.")
    assert (body["target"], body["module"], body["reasonCode"]) == (
        "review",
        "text.summarize",
        "input_missing",
    )
    assert body["params"] == {"sentences": 2}


def test_explain_with_an_llm_configured(
    env: tuple[FakeExecutor, Clock],
    monkeypatch: pytest.MonkeyPatch,
    reset_caches: Callable[[], None],
) -> None:
    monkeypatch.setenv("AION_LLM_ENDPOINT", "http://127.0.0.1:9/v1")
    reset_caches()
    assert routing.explain("write a ballad about a lighthouse keeper")["target"] == "llm"
    # The LLM never gets a deterministic module without its data.
    body = routing.explain("What's the SHA-1 of the uploaded document?")
    assert (body["target"], body["reasonCode"]) == ("review", "input_missing")
    llm = next(r for r in routing.catalog().to_json()["routes"] if r["name"] == "llm")
    assert (llm["available"], llm["provider"]) == (True, "openai_compatible")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"instruction": ""}, "validation_error"),
        ({"instruction": "   ", "input": ""}, "validation_error"),
        ({"instruction": "x" * 20_001}, "validation_error"),
        ({"instruction": "do it", "module": "nope.module"}, "unknown_module"),
    ],
)
def test_explain_rejects_bad_input(
    env: tuple[FakeExecutor, Clock], kwargs: dict[str, Any], code: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        routing.explain(**kwargs)
    assert err.value.code == code


def test_route_for_task_follows_the_breaker(env: tuple[FakeExecutor, Clock]) -> None:
    _, clock = env
    task = FakeTask("sha256 of this", "hello")
    assert routing.route_for_task(task).target == "executor"
    for _ in range(3):
        routing.record_route_outcome("executor", False)
    decision = routing.route_for_task(task)
    assert (decision.target, decision.module, decision.reason_code, decision.stage) == (
        "review",
        "crypto.hash",
        "route_unavailable",
        "health",
    )
    cat = routing.catalog().to_json()  # the wire shape
    executor = next(r for r in cat["routes"] if r["name"] == "executor")
    assert (executor["state"], executor["available"]) == ("open", False)
    assert executor["retryAt"] == pytest.approx(clock.now + 30)

    clock.now += 31  # cool-down over: exactly one task may probe
    assert routing.route_for_task(task).target == "executor"
    assert routing.route_for_task(task).target == "review"  # the probe is taken
    routing.record_route_outcome("executor", True)
    assert routing.route_for_task(task).target == "executor"


def test_route_for_task_uses_pinned_module_and_params(env: tuple[FakeExecutor, Clock]) -> None:
    task = FakeTask("whatever", "abc", {"algorithm": "md5"}, "crypto.hash")
    decision = routing.route_for_task(task)
    assert (decision.target, decision.module, decision.params) == (
        "executor",
        "crypto.hash",
        {"algorithm": "md5"},
    )


def test_record_route_outcome_ignores_review(env: tuple[FakeExecutor, Clock]) -> None:
    from chalicelib.dal.route_health_models import RouteHealth

    for _ in range(5):
        routing.record_route_outcome("review", False)
    assert RouteHealth.count() == 0


def test_route_for_a_stored_task(env: tuple[FakeExecutor, Clock]) -> None:
    from chalicelib.dal.models import Task

    task = Task(
        id="t1",
        project_id="p1",
        project_status="p1#queued",
        title="t",
        instruction="md5 of this",
        input="abc",
        status="queued",
        created_by="u",
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )
    decision = routing.route_for_task(task)
    assert (decision.target, decision.module, decision.params) == (
        "executor",
        "crypto.hash",
        {"algorithm": "md5"},
    )
