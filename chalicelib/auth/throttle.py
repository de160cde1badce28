"""Login throttling by account *and* source, keyed by digests of the normalised email.

Two counters per login attempt:

- per account and source (the client's address: API Gateway's ``sourceIp``, never a header a
  client can set; IPv6 by its /64, what one subscriber gets): ``login_free_failures`` (5)
  attempts go through, then backoff. A guesser is slowed down where they are, and nobody
  elsewhere can lock a user out. (Clients call the API directly; behind a proxy or CDN,
  ``sourceIp`` would be the proxy's and this counter would be shared by its users.)
- per account, from anywhere: a ceiling of ``login_account_free_failures`` (100) attempts,
  then backoff for everyone. Only a guesser spread over many addresses reaches it (the price of
  bounding guesses per account); a success clears it, as it clears the source's counter.

Keys do not depend on whether the account exists, so an unknown email throttles exactly like a
real one and the answers never reveal which emails are registered.

Attempts are counted when they are *admitted* (before the password is checked), with atomic
conditional writes, so a burst of parallel guesses cannot slip past the count. The first
``free`` attempts since the last success go through at once; from attempt ``free`` on, each
admitted attempt locks the next one out for ``base * 2**(n - free)`` seconds (capped). After
``login_failure_window_s`` without attempts a count restarts. An attempt refused at its source
is not counted against the account, so one address cannot push an account to its ceiling.
"""

from __future__ import annotations

import ipaddress
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
UNKNOWN_SOURCE = "unknown"


def source_of(address: str | None) -> str:
    """The throttling bucket of a client address: IPv4 as is, IPv6 by its /64 network."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return UNKNOWN_SOURCE
    if ip.version == 6:
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def throttle_key(normalized_email: str) -> str:
    """The account's row (the ceiling)."""
    return sha256_hex(f"login:{normalized_email}")


def source_throttle_key(normalized_email: str, source: str) -> str:
    """The row of one account from one source."""
    return sha256_hex(f"login:{normalized_email}|from:{source}")


def backoff_seconds(attempt: int, free: int | None = None) -> int:
    """How long attempt number ``attempt`` (since the last success) locks out the next one,
    when ``free`` attempts go through (default: the per-source allowance)."""
    s = get_settings().auth
    free = s.login_free_failures if free is None else free
    if attempt < free:
        return 0
    exponent = min(attempt - free, 32)  # 2**32 s is far past any cap
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


def admit_login_attempt(normalized_email: str, source: str, *, now: float | None = None) -> None:
    """Count one login attempt, or raise Throttled (429, Retry-After) while locked out.

    ``source`` is a bucket from ``source_of``. The source's counter first: an attempt it
    refuses never reaches the account's counter.
    """
    at = time.time() if now is None else now
    s = get_settings().auth
    _admit(source_throttle_key(normalized_email, source), s.login_free_failures, at)
    _admit(throttle_key(normalized_email), s.login_account_free_failures, at)


def _admit(key: str, free: int, at: float) -> None:
    window_end = _dt(at + get_settings().auth.login_failure_window_s)
    for _ in range(_MAX_ROUNDS):
        # Fast path, one write: no row yet, or a fresh row well below the free attempts.
        try:
            LoginThrottle(key).update(
                actions=[LoginThrottle.attempts.add(1), LoginThrottle.expires_at.set(window_end)],
                condition=LoginThrottle.key.does_not_exist()
                | ((LoginThrottle.attempts < free - 1) & (LoginThrottle.expires_at > _dt(at))),
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
            if _restart_window(key, row, at, window_end, free):
                return
            continue
        if row.locked_until > at:
            raise _throttled(row.locked_until - at)
        attempt = int(row.attempts) + 1
        try:
            LoginThrottle(key).update(
                actions=[
                    LoginThrottle.attempts.set(attempt),
                    LoginThrottle.locked_until.set(int(at) + backoff_seconds(attempt, free)),
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


def _restart_window(
    key: str, stale: LoginThrottle, at: float, window_end: datetime, free: int
) -> bool:
    """Replace a row whose window has passed (TTL deletes lazily) by attempt number one."""
    try:
        LoginThrottle(
            key,
            attempts=1,
            locked_until=int(at) + backoff_seconds(1, free),
            expires_at=window_end,
        ).save(condition=LoginThrottle.expires_at == stale.expires_at)
    except PutError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def reset_login_attempts(normalized_email: str, source: str) -> None:
    """A successful login clears the account's count and its source's."""
    LoginThrottle(source_throttle_key(normalized_email, source)).delete()
    LoginThrottle(throttle_key(normalized_email)).delete()
