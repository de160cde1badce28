"""Process-wide caches in one registry, so one call forgets them all.

A Lambda (or an executor worker) keeps what it built across warm invocations: the settings,
boto3 and gRPC clients, the executor's catalogue. Each such cache is declared with
``process_cache`` (a memoized function) or registers the function that forgets it with
``on_reset``; ``reset_process_caches()`` calls them all. Tests use it (through one fixture)
after changing the environment or moving to a fresh moto; production never needs to.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
Reset = TypeVar("Reset", bound=Callable[[], None])

_resets: list[Callable[[], None]] = []
_lock = threading.Lock()


def on_reset(reset: Reset) -> Reset:
    """Register ``reset`` (it forgets one cache) with ``reset_process_caches``; a decorator."""
    with _lock:
        _resets.append(reset)
    return reset


def process_cache(function: Callable[P, T]) -> Callable[P, T]:
    """Memoize ``function`` for the life of the process (its arguments must be hashable), and
    forget the results on ``reset_process_caches``."""
    cached = functools.lru_cache(maxsize=None)(function)
    on_reset(cached.cache_clear)
    return cached  # type: ignore[return-value]  # lru_cache's wrapper keeps the signature


def reset_process_caches() -> None:
    """Forget every registered cache (of the modules imported so far)."""
    with _lock:
        resets = list(_resets)
    for reset in resets:
        reset()
