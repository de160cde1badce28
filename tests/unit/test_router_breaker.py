"""The circuit breaker: the pure closed -> open -> half-open -> closed cycle with a fake clock,
and the DynamoDB-backed store shared by Lambda invocations (moto)."""

from __future__ import annotations

import threading

import pytest

from chalicelib.router import breaker
from chalicelib.router.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerPolicy,
    BreakerState,
)

POLICY = BreakerPolicy(failure_threshold=3, cooldown_s=30, max_cooldown_s=100, probe_timeout_s=60)


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def live(aws: None):
    """The DynamoDB-backed store every Lambda uses, uncached, on a fake clock."""
    from chalicelib.logic.route_health import RouteHealthStore

    clock = FakeClock()
    return RouteHealthStore(POLICY, clock=clock, cache_seconds=0), clock


def test_full_cycle_closed_open_half_open_closed(live) -> None:
    store, clock = live
    assert store.view("executor") == CLOSED
    for _ in range(2):
        assert store.allows("executor")
        store.record("executor", False)
    assert store.view("executor") == CLOSED  # below the threshold
    store.record("executor", False)
    assert store.view("executor") == OPEN
    assert not store.allows("executor")
    clock.advance(29.9)
    assert not store.allows("executor")
    assert not store.claim_probe("executor")
    clock.advance(0.2)
    assert store.view("executor") == HALF_OPEN  # cool-down over: shown as half-open
    assert store.claim_probe("executor")  # this caller takes the probe
    assert not store.claim_probe("executor")  # nobody else while the probe is out
    store.record("executor", True)
    assert store.view("executor") == CLOSED
    assert store.get("executor") == BreakerState()


def test_successes_reset_the_consecutive_count(live) -> None:
    store, _ = live
    store.record("llm", False)
    store.record("llm", False)
    store.record("llm", True)
    store.record("llm", False)
    store.record("llm", False)
    assert store.view("llm") == CLOSED
    assert store.get("llm").failures == 2


def test_failed_probe_reopens_with_a_longer_cooldown_capped(live) -> None:
    store, clock = live
    for _ in range(3):
        store.record("executor", False)
    cooldowns = []
    for _ in range(4):
        clock.advance(store.get("executor").cooldown_s)
        assert store.claim_probe("executor")
        store.record("executor", False)
        assert store.view("executor") == OPEN
        cooldowns.append(store.get("executor").cooldown_s)
    assert cooldowns == [60, 100, 100, 100]


def test_a_probe_that_never_reports_frees_the_slot(live) -> None:
    store, clock = live
    for _ in range(3):
        store.record("executor", False)
    clock.advance(30)
    assert store.claim_probe("executor")
    clock.advance(59)
    assert not store.claim_probe("executor")
    clock.advance(2)
    assert store.claim_probe("executor")


def test_late_failures_while_open_do_not_extend_the_cooldown() -> None:
    clock = FakeClock()
    state = BreakerState()
    for _ in range(3):
        state = breaker.on_failure(state, clock(), POLICY)
    opened_at = state.opened_at
    clock.advance(10)
    state = breaker.on_failure(state, clock(), POLICY)
    assert (state.state, state.opened_at, state.failures) == (OPEN, opened_at, 4)
    assert state.retry_at() == opened_at + 30


def test_success_on_a_healthy_route_is_no_change() -> None:
    state = BreakerState()
    assert breaker.on_success(state) is state


# --- the shared store (DynamoDB) ------------------------------------------------------------


@pytest.fixture
def store(aws: None):
    from chalicelib.logic.route_health import RouteHealthStore

    clock = FakeClock()
    s = RouteHealthStore(POLICY, clock=clock, cache_seconds=5)
    s.fake_clock = clock  # type: ignore[attr-defined]
    return s


def test_store_opens_after_failures_seen_by_another_process(store) -> None:
    from chalicelib.logic.route_health import RouteHealthStore

    for _ in range(3):
        store.record("executor", False)
    assert store.view("executor") == OPEN
    other = RouteHealthStore(POLICY, clock=store.fake_clock)  # a second Lambda
    assert not other.allows("executor")
    assert other.get("executor").failures == 3
    assert other.allows("llm")


def test_store_caches_reads_for_a_few_seconds(store) -> None:
    from chalicelib.dal.route_health_models import RouteHealth
    from chalicelib.logic.route_health import RouteHealthStore

    reader = RouteHealthStore(POLICY, clock=store.fake_clock, cache_seconds=5)
    assert reader.allows("executor")
    for _ in range(3):
        store.record("executor", False)
    assert reader.allows("executor")  # cached
    store.fake_clock.advance(5.1)
    assert not reader.allows("executor")
    assert RouteHealth.get("executor").state == OPEN


def test_store_probe_is_claimed_once(store) -> None:
    from chalicelib.logic.route_health import RouteHealthStore

    for _ in range(3):
        store.record("llm", False)
    assert not store.claim_probe("llm")  # still cooling down
    store.fake_clock.advance(31)
    other = RouteHealthStore(POLICY, clock=store.fake_clock)
    assert store.view("llm") == HALF_OPEN
    assert store.claim_probe("llm")
    assert not other.claim_probe("llm")
    store.record("llm", True)
    fresh = RouteHealthStore(POLICY, clock=store.fake_clock)
    assert fresh.view("llm") == CLOSED


def test_healthy_success_costs_no_write(store, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.dal.route_health_models import RouteHealth

    store.get("executor")
    saves = []
    monkeypatch.setattr(RouteHealth, "save", lambda self, *a, **k: saves.append(1))
    store.record("executor", True)
    assert saves == []


def test_concurrent_failures_are_all_counted(store, atomic_dynamodb: None) -> None:
    from chalicelib.logic.route_health import RouteHealthStore

    policy = BreakerPolicy(failure_threshold=100)
    stores = [RouteHealthStore(policy, clock=store.fake_clock) for _ in range(4)]

    def fail_twice(s: RouteHealthStore) -> None:
        for _ in range(2):
            s.record("executor", False)

    threads = [threading.Thread(target=fail_twice, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    fresh = RouteHealthStore(policy, clock=store.fake_clock)
    assert fresh.get("executor").failures == 8  # optimistic writes retried, none lost


def test_unreachable_table_fails_open(monkeypatch: pytest.MonkeyPatch) -> None:
    from pynamodb.exceptions import GetError

    from chalicelib.dal.route_health_models import RouteHealth
    from chalicelib.logic.route_health import RouteHealthStore

    def broken(*args: object, **kwargs: object) -> None:
        raise GetError("no table")

    monkeypatch.setattr(RouteHealth, "get", broken)
    assert RouteHealthStore(POLICY).allows("executor")
