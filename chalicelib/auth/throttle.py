"""Login throttling per account, keyed by a digest of the normalised email.

The key does not depend on whether the account exists, so an unknown email throttles exactly
like a real one and the answers never reveal which emails are registered.

Attempts are counted when they are *admitted* (before the password is checked), with atomic
conditional writes, so a burst of parallel guesses cannot slip past the count. The first
``free`` attempts since the last success go through at once; from attempt ``free`` on, each
admitted attempt locks the next one out for ``base * 2**(n - free)`` seconds (capped). A
success deletes the row. After ``login_failure_window_s`` without attempts the count restarts.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.auth.digest import sha256_hex
from chalicelib.config import get_settings
from chalicelib.dal.auth_models import LoginThrottle
from chalicelib.errors import Throttled

# Rounds of read-and-conditional-write before a contended attempt is told to retry shortly.
_MAX_ROUNDS = 3


def throttle_key(normalized_email: str) -> str:
    return sha256_hex(f"login:{normalized_email}")


def backoff_seconds(attempt: int) -> int:
    """How long attempt number ``attempt`` (since the last success) locks out the next one."""
    s = get_settings().auth
    if attempt < s.login_free_failures:
        return 0
    exponent = min(attempt - s.login_free_failures, 32)  # 2**32 s is far past any cap
    return min(s.login_backoff_max_s, s.login_backoff_base_s * 2**exponent)


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(int(epoch), tz=UTC)


def _throttled(retry_after: float) -> Throttled:
    seconds = max(1, math.ceil(retry_after))
    return Throttled(
        f"Too many login attempts. Try again in {seconds} seconds.", retry_after=seconds
    )


def _conditional_failed(exc: UpdateError | PutError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def admit_login_attempt(normalized_email: str, *, now: float | None = None) -> None:
    """Count one login attempt, or raise Throttled (429, Retry-After) while locked out."""
    at = time.time() if now is None else now
    key = throttle_key(normalized_email)
    s = get_settings().auth
    window_end = _dt(at + s.login_failure_window_s)
    for _ in range(_MAX_ROUNDS):
        # Fast path, one write: no row yet, or a fresh row well below the free attempts.
        try:
            LoginThrottle(key).update(
                actions=[LoginThrottle.attempts.add(1), LoginThrottle.expires_at.set(window_end)],
                condition=LoginThrottle.key.does_not_exist()
                | (
                    (LoginThrottle.attempts < s.login_free_failures - 1)
                    & (LoginThrottle.expires_at > _dt(at))
                ),
            )
            return
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
        try:
            row = LoginThrottle.get(key, consistent_read=True)
        except LoginThrottle.DoesNotExist:
            continue  # reset by a success in between: take the fast path again
        if row.expires_at <= _dt(at):
            if _restart_window(key, row, at, window_end):
                return
            continue
        if row.locked_until > at:
            raise _throttled(row.locked_until - at)
        attempt = int(row.attempts) + 1
        try:
            LoginThrottle(key).update(
                actions=[
                    LoginThrottle.attempts.set(attempt),
                    LoginThrottle.locked_until.set(int(at) + backoff_seconds(attempt)),
                    LoginThrottle.expires_at.set(window_end),
                ],
                # Optimistic: only if nobody else counted an attempt since we read the row.
                condition=LoginThrottle.attempts == row.attempts,
            )
            return
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
    raise _throttled(1)


def _restart_window(key: str, stale: LoginThrottle, at: float, window_end: datetime) -> bool:
    """Replace a row whose window has passed (TTL deletes lazily) by attempt number one."""
    try:
        LoginThrottle(
            key,
            attempts=1,
            locked_until=int(at) + backoff_seconds(1),
            expires_at=window_end,
        ).save(condition=LoginThrottle.expires_at == stale.expires_at)
    except PutError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def reset_login_attempts(normalized_email: str) -> None:
    """A successful login clears the count."""
    LoginThrottle(throttle_key(normalized_email)).delete()
