"""Per-route circuit breaker, as pure functions of a state value and the time.

closed --(``failure_threshold`` consecutive failures)--> open
open --(cool-down elapsed; one caller claims the probe)--> half_open
half_open --(probe succeeds)--> closed;  half_open --(probe fails)--> open, longer cool-down

Every attempt's outcome counts, retries and fallbacks included. The shared copy of the state
lives in DynamoDB (``chalicelib.logic.route_health``); these functions hold the rules, so they
are tested with a fake clock and reused by the store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    cooldown_s: float = 30.0
    max_cooldown_s: float = 300.0
    # A probe that never reports back (its Lambda died) frees the half-open slot after this.
    probe_timeout_s: float = 60.0


@dataclass(frozen=True)
class BreakerState:
    state: str = CLOSED
    failures: int = 0  # consecutive failures
    opened_at: float = 0.0
    cooldown_s: float = 0.0
    probe_started_at: float = 0.0

    def retry_at(self) -> float | None:
        return self.opened_at + self.cooldown_s if self.state == OPEN else None


def may_probe(state: BreakerState, now: float, policy: BreakerPolicy) -> bool:
    """True when the route is not closed but one trial call may go through now."""
    if state.state == OPEN:
        return now >= state.opened_at + state.cooldown_s
    if state.state == HALF_OPEN:
        return now - state.probe_started_at >= policy.probe_timeout_s
    return False


def allows(state: BreakerState, now: float, policy: BreakerPolicy) -> bool:
    """Whether a call may be sent now (closed, or a probe may start)."""
    return state.state == CLOSED or may_probe(state, now, policy)


def view(state: BreakerState, now: float, policy: BreakerPolicy) -> str:
    """The state as people should see it: an open breaker past its cool-down reads half_open."""
    if state.state == OPEN and may_probe(state, now, policy):
        return HALF_OPEN
    return state.state


def start_probe(state: BreakerState, now: float) -> BreakerState:
    return replace(state, state=HALF_OPEN, probe_started_at=now)


def on_success(state: BreakerState) -> BreakerState:
    if state.state == CLOSED and state.failures == 0:
        return state
    return BreakerState()


def on_failure(state: BreakerState, now: float, policy: BreakerPolicy) -> BreakerState:
    failures = state.failures + 1
    if state.state == HALF_OPEN or (state.state == OPEN and may_probe(state, now, policy)):
        # The probe failed: open again, and wait longer this time.
        cooldown = min(max(state.cooldown_s, policy.cooldown_s) * 2, policy.max_cooldown_s)
        return BreakerState(OPEN, failures, now, cooldown, 0.0)
    if state.state == OPEN:
        # A late report from a call sent before the breaker opened: count it, keep the timer.
        return replace(state, failures=failures)
    if failures >= policy.failure_threshold:
        return BreakerState(OPEN, failures, now, policy.cooldown_s, 0.0)
    return replace(state, failures=failures)
