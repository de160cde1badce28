"""Progress from a running module, thinned for the activity log and the live sockets."""

from __future__ import annotations

import time
from collections.abc import Callable


class ProgressCoalescer:
    """At most ``per_second`` progress events, and only when the value or message changed."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.clock = clock
        self.last_at = float("-inf")
        self.last_sent: tuple[float | None, str] | None = None
        self.pending: tuple[float | None, str] | None = None

    def offer(self, progress: float | None, message: str) -> tuple[float | None, str] | None:
        """Return the value to emit now, or None (kept as pending for ``flush``)."""
        value = (None if progress is None else round(max(0.0, min(1.0, progress)), 4), message)
        if value == self.last_sent:
            return None
        now = self.clock()
        if now - self.last_at >= self.interval:
            self.last_at, self.last_sent, self.pending = now, value, None
            return value
        self.pending = value
        return None

    def flush(self) -> tuple[float | None, str] | None:
        value, self.pending = self.pending, None
        if value is not None and value != self.last_sent:
            self.last_sent = value
            return value
        return None
