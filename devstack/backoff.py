"""Repeated failures of a driver loop: growing pauses and one log line, not one per attempt.

When moto goes away every SQS receive fails at once; retrying at full speed buries the log in
tracebacks (hundreds a second) and spins a core. ``ErrorBackoff`` is shared by a driver's
threads: the first failure is logged (one line; the traceback only at debug level), the same
error again at most once per ``repeat_every_s`` with a count, and recovery once. Each caller
waits ``delay()``: ``base * 2**(n-1)`` with jitter, capped.
"""

from __future__ import annotations

import logging
import random
import threading
import time

MAX_DELAY_S = 30.0


class ErrorBackoff:
    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        *,
        base_s: float = 0.5,
        cap_s: float = MAX_DELAY_S,
        repeat_every_s: float = 60.0,
    ) -> None:
        self.what = what
        self.log = logger
        self.base_s = base_s
        self.cap_s = cap_s
        self.repeat_every_s = repeat_every_s
        self.failures = 0
        self.logged_lines = 0
        self._last_text: str | None = None
        self._last_logged = 0.0
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> float:
        """Record a failure; returns how long the caller should wait before trying again."""
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            failures = self.failures
            new_error = text != self._last_text
            due = now - self._last_logged >= self.repeat_every_s
            if new_error or due:
                self._last_text, self._last_logged = text, now
                self.logged_lines += 1
                if failures == 1 or new_error:
                    self.log.error("%s failed (%s); retrying with back-off", self.what, text)
                else:
                    self.log.error("%s still failing (%d times): %s", self.what, failures, text)
                self.log.debug("%s failure", self.what, exc_info=exc)
        ceiling = min(self.cap_s, self.base_s * 2 ** min(failures - 1, 30))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not crypto)

    def succeeded(self) -> None:
        with self._lock:
            if self.failures:
                self.log.warning("%s works again after %d failures", self.what, self.failures)
                self.logged_lines += 1
            self.failures = 0
            self._last_text = None
            self._last_logged = 0.0
