"""Login throttling: exponential backoff per account and source, a per-account ceiling,
identical for unknown emails."""

from __future__ import annotations

import threading

import pytest

from chalicelib.auth import throttle
from chalicelib.dal.auth_models import LoginThrottle
from chalicelib.errors import Throttled

T0 = 1_800_000_000.0
SRC = "198.51.100.7"


def _admitted(email: str, now: float) -> bool:
    try:
        throttle.admit_login_attempt(email, SRC, now=now)
    except Throttled:
        return False
    return True


def test_backoff_schedule_is_exponential_and_capped() -> None:
    assert [throttle.backoff_seconds(n) for n in range(1, 10)] == [0, 0, 0, 0, 5, 10, 20, 40, 80]
    assert throttle.backoff_seconds(14) == 900
    assert throttle.backoff_seconds(10_000) == 900


def test_five_free_attempts_then_429_with_retry_after(aws: None) -> None:
    for _ in range(5):
        assert _admitted("a@x.io", T0)
    with pytest.raises(Throttled) as info:
        throttle.admit_login_attempt("a@x.io", SRC, now=T0 + 1)
    error = info.value
    assert error.status == 429
    assert error.retry_after == 4
    assert error.headers["Retry-After"] == "4"
    assert error.envelope()["error"]["details"] == {"retryAfter": 4}
    assert "Try again in 4 seconds" in error.message


def test_each_further_attempt_doubles_the_wait(aws: None) -> None:
    now = T0
    for _ in range(5):
        throttle.admit_login_attempt("a@x.io", SRC, now=now)
    waits = []
    for _ in range(4):
        with pytest.raises(Throttled) as info:
            throttle.admit_login_attempt("a@x.io", SRC, now=now)
        waits.append(info.value.retry_after)
        now += info.value.retry_after
        assert _admitted("a@x.io", now)
    assert waits == [5, 10, 20, 40]


def test_throttled_attempts_do_not_extend_the_lock(aws: None) -> None:
    for _ in range(5):
        throttle.admit_login_attempt("a@x.io", SRC, now=T0)
    for offset in (0, 1, 2, 3, 4):
        assert not _admitted("a@x.io", T0 + offset)
    assert _admitted("a@x.io", T0 + 5)


def test_success_resets(aws: None) -> None:
    for _ in range(5):
        throttle.admit_login_attempt("a@x.io", SRC, now=T0)
    throttle.reset_login_attempts("a@x.io", SRC)
    for _ in range(5):
        assert _admitted("a@x.io", T0 + 1)


def test_accounts_are_independent_and_keys_are_hashed(aws: None) -> None:
    for _ in range(5):
        throttle.admit_login_attempt("a@x.io", SRC, now=T0)
    assert _admitted("b@x.io", T0)
    keys = {row.key for row in LoginThrottle.scan()}
    assert keys == {
        throttle.throttle_key("a@x.io"),
        throttle.throttle_key("b@x.io"),
        throttle.source_throttle_key("a@x.io", SRC),
        throttle.source_throttle_key("b@x.io", SRC),
    }
    assert not any("@" in key or SRC in key for key in keys)


def test_count_restarts_after_a_quiet_window(aws: None) -> None:
    for _ in range(5):
        throttle.admit_login_attempt("a@x.io", SRC, now=T0)
    day = 24 * 3600
    # The row is still there (TTL deletes lazily) but its window has passed.
    for _ in range(5):
        assert _admitted("a@x.io", T0 + day + 1)
    assert LoginThrottle.get(throttle.source_throttle_key("a@x.io", SRC)).attempts == 5
    assert LoginThrottle.get(throttle.throttle_key("a@x.io")).attempts == 5


def test_parallel_burst_cannot_exceed_the_free_attempts(aws: None, atomic_dynamodb: None) -> None:
    barrier = threading.Barrier(12)
    admitted: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait(timeout=5)
        ok = _admitted("burst@x.io", T0)
        with lock:
            admitted.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(admitted) == 12
    assert admitted.count(True) == 5


def test_sources_are_independent_and_a_refused_attempt_is_not_counted_for_the_account(
    aws: None,
) -> None:
    for _ in range(5):
        throttle.admit_login_attempt("a@x.io", "203.0.113.9", now=T0)
    for _ in range(20):  # hammering while locked out at that source
        with pytest.raises(Throttled):
            throttle.admit_login_attempt("a@x.io", "203.0.113.9", now=T0)
    assert LoginThrottle.get(throttle.throttle_key("a@x.io")).attempts == 5
    assert _admitted("a@x.io", T0)  # from SRC: its own five


def test_the_account_ceiling_holds_across_sources(aws: None) -> None:
    for n in range(100):  # the default ceiling, one attempt from each of 100 addresses
        throttle.admit_login_attempt("a@x.io", f"10.0.{n // 250}.{n % 250}", now=T0)
    with pytest.raises(Throttled) as info:
        throttle.admit_login_attempt("a@x.io", "192.0.2.1", now=T0)
    assert info.value.retry_after == 5
    assert _admitted("a@x.io", T0 + 5)
    with pytest.raises(Throttled):  # that attempt locked the next one for 10 s
        throttle.admit_login_attempt("a@x.io", "192.0.2.2", now=T0 + 6)
    throttle.reset_login_attempts("a@x.io", SRC)  # a success anywhere clears the ceiling
    assert _admitted("a@x.io", T0 + 6)


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("198.51.100.7", "198.51.100.7"),
        (" 198.51.100.7 ", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::9", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("", throttle.UNKNOWN_SOURCE),
        (None, throttle.UNKNOWN_SOURCE),
        ("not an address", throttle.UNKNOWN_SOURCE),
    ],
)
def test_source_buckets(address: str | None, bucket: str) -> None:
    assert throttle.source_of(address) == bucket
