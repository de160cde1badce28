"""The routes' circuit breakers, shared across Lambda invocations through DynamoDB.

Reads are cached in-process for a few seconds (a decision must not cost a DynamoDB round trip
each time); writes are conditional on the item's version and retried on a lost race. If the
table itself cannot be reached the breaker fails open: route health is advice, and losing it
must not stop work that the routes could still do.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException

from chalicelib.clock import now_iso
from chalicelib.dal.route_health_models import RouteHealth
from chalicelib.router import breaker
from chalicelib.router.breaker import BreakerPolicy, BreakerState
from chalicelib.shared.caches import on_reset

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
_WRITE_ATTEMPTS = 10


@dataclass
class _Cached:
    state: BreakerState
    version: int | None
    read_at: float


class RouteHealthStore:
    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        clock: Callable[[], float] = time.time,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    # -- reads ---------------------------------------------------------------------------

    def get(self, route: str) -> BreakerState:
        now = self.clock()
        with self._lock:
            cached = self._cache.get(route)
        if cached is not None and now - cached.read_at < self.cache_seconds:
            return cached.state
        return self._read(route).state

    def allows(self, route: str) -> bool:
        return breaker.allows(self.get(route), self.clock(), self.policy)

    def view(self, route: str) -> str:
        return breaker.view(self.get(route), self.clock(), self.policy)

    def _read(self, route: str) -> _Cached:
        try:
            item = RouteHealth.get(route)
            entry = _Cached(_to_state(item), item.version, self.clock())
        except DoesNotExist:
            entry = _Cached(BreakerState(), None, self.clock())
        except PynamoDBException as exc:
            log.warning("route health unreadable for %s, assuming closed: %s", route, exc)
            entry = _Cached(BreakerState(), None, self.clock())
            # Do not cache a guess for long: try the table again soon.
            entry.read_at -= self.cache_seconds / 2
            with self._lock:
                self._cache[route] = entry
            return entry
        with self._lock:
            self._cache[route] = entry
        return entry

    # -- writes --------------------------------------------------------------------------

    def record(self, route: str, ok: bool) -> BreakerState:
        """Count one attempt's outcome. A success on a healthy route costs no write."""
        if ok:
            cached = self._cache.get(route)
            if (
                cached is not None
                and self.clock() - cached.read_at < self.cache_seconds
                and cached.state == BreakerState()
            ):
                return cached.state
        return self._update(
            route,
            lambda s, now: breaker.on_success(s) if ok else breaker.on_failure(s, now, self.policy),
        )

    def claim_probe(self, route: str) -> bool:
        """Move an open route whose cool-down is over to half-open; True for the one winner."""
        won = False

        def transition(state: BreakerState, now: float) -> BreakerState:
            nonlocal won
            if breaker.may_probe(state, now, self.policy):
                won = True
                return breaker.start_probe(state, now)
            won = False
            return state

        self._update(route, transition)
        return won

    def _update(
        self, route: str, transition: Callable[[BreakerState, float], BreakerState]
    ) -> BreakerState:
        for attempt in range(_WRITE_ATTEMPTS):
            current = self._read(route)
            now = self.clock()
            new = transition(current.state, now)
            if new == current.state:
                return new
            item = _to_item(route, new, current.version)
            try:
                item.save()  # conditional on the version we read (VersionAttribute)
            except PutError as exc:
                if _lost_race(exc):
                    # Another invocation wrote first: back off a little (jittered), re-read.
                    time.sleep(random.uniform(0.001, 0.005) * (attempt + 1))  # noqa: S311
                    continue
                log.warning("route health not saved for %s: %s", route, exc)
                return new
            except PynamoDBException as exc:
                log.warning("route health not saved for %s: %s", route, exc)
                return new
            with self._lock:
                self._cache[route] = _Cached(new, item.version, self.clock())
            return new
        log.warning(
            "route health for %s changed under us %d times; giving up", route, _WRITE_ATTEMPTS
        )
        return self._read(route).state

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def _lost_race(exc: PutError) -> bool:
    return getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException"


def _to_state(item: RouteHealth) -> BreakerState:
    return BreakerState(
        state=item.state or breaker.CLOSED,
        failures=int(item.failures or 0),
        opened_at=float(item.opened_at or 0),
        cooldown_s=float(item.cooldown_s or 0),
        probe_started_at=float(item.probe_started_at or 0),
    )


def _to_item(route: str, state: BreakerState, version: int | None) -> RouteHealth:
    item = RouteHealth(
        route=route,
        state=state.state,
        failures=state.failures,
        opened_at=state.opened_at,
        cooldown_s=state.cooldown_s,
        probe_started_at=state.probe_started_at,
        updated_at=now_iso(),
    )
    if version is not None:  # None: the item does not exist yet (save then requires that)
        item.version = version
    return item


_store: RouteHealthStore | None = None
_store_lock = threading.Lock()


def get_store() -> RouteHealthStore:
    global _store
    with _store_lock:
        if _store is None:
            _store = RouteHealthStore()
        return _store


@on_reset
def reset_store(store: RouteHealthStore | None = None) -> None:
    """Replace the process-wide store (tests inject a clock or a policy)."""
    global _store
    with _store_lock:
        _store = store
