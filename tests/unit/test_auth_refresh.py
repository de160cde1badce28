"""Refresh tokens: rotation, reuse detection, concurrent use, logout, expiry."""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib.auth import refresh
from chalicelib.dal.auth_models import RefreshFamily, RefreshToken
from chalicelib.errors import Unauthorized


def _family(token: str) -> RefreshFamily:
    return RefreshFamily.get(RefreshToken.get(refresh.sha256_hex(token)).family_id)


def test_tokens_are_opaque_and_stored_hashed(aws: None) -> None:
    issued = refresh.start_family("usr_1")
    assert issued.token.startswith("rt_")
    assert issued.token.count(".") == 0
    rows = list(RefreshToken.scan())
    assert len(rows) == 1
    assert rows[0].token_hash == refresh.sha256_hex(issued.token)
    assert issued.token not in rows[0].token_hash
    assert rows[0].user_id == "usr_1"


def test_rotation_issues_a_new_token_in_the_same_family(aws: None) -> None:
    first = refresh.start_family("usr_1")
    second = refresh.rotate(first.token)
    third = refresh.rotate(second.token)
    assert len({first.token, second.token, third.token}) == 3
    assert first.family_id == second.family_id == third.family_id
    assert third.user_id == "usr_1"
    assert RefreshToken.get(refresh.sha256_hex(first.token)).status == "rotated"
    assert RefreshToken.get(refresh.sha256_hex(third.token)).status == "active"


def test_reuse_of_a_rotated_token_revokes_the_whole_family(aws: None) -> None:
    first = refresh.start_family("usr_1")
    second = refresh.rotate(first.token)
    with pytest.raises(Unauthorized, match="already used") as info:
        refresh.rotate(first.token)
    assert info.value.code == "refresh_token_reused"
    family = _family(first.token)
    assert family.revoked
    assert family.revoked_reason == "reuse"
    # The legitimate holder's newer token is dead too.
    with pytest.raises(Unauthorized, match="session has ended"):
        refresh.rotate(second.token)


def test_other_families_survive_a_reuse(aws: None) -> None:
    mine = refresh.start_family("usr_1")
    other_device = refresh.start_family("usr_1")
    refresh.rotate(mine.token)
    with pytest.raises(Unauthorized):
        refresh.rotate(mine.token)
    assert refresh.rotate(other_device.token).family_id == other_device.family_id


def test_losing_a_race_counts_as_reuse(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests both read the token as active; the second write must fail and revoke."""
    issued = refresh.start_family("usr_1")
    stale_read = RefreshToken.get(refresh.sha256_hex(issued.token))
    winner = refresh.rotate(issued.token)
    monkeypatch.setattr(refresh, "_find", lambda token: stale_read)
    lost_at = int(time.time()) + 5
    with pytest.raises(Unauthorized, match="already used") as info:
        refresh.rotate(issued.token, now=lost_at)
    assert info.value.code == "refresh_token_reused"
    family = _family(issued.token)
    assert (family.revoked_reason, family.revoked_at) == ("reuse", lost_at)
    monkeypatch.undo()
    with pytest.raises(Unauthorized):
        refresh.rotate(winner.token)


def test_concurrent_double_use_never_both_succeed(aws: None, atomic_dynamodb: None) -> None:
    issued = refresh.start_family("usr_1")
    barrier = threading.Barrier(2)
    results: list[str] = []
    lock = threading.Lock()

    def use() -> None:
        barrier.wait(timeout=5)
        try:
            refresh.rotate(issued.token)
            outcome = "ok"
        except Unauthorized as exc:
            outcome = exc.code
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(results) == 2
    assert results.count("ok") <= 1
    assert "refresh_token_reused" in results
    assert _family(issued.token).revoked


def test_logout_revokes_the_session(aws: None) -> None:
    issued = refresh.start_family("usr_1")
    newer = refresh.rotate(issued.token)
    refresh.revoke(newer.token)
    family = _family(issued.token)
    assert family.revoked
    assert family.revoked_reason == "logout"
    with pytest.raises(Unauthorized) as info:
        refresh.rotate(newer.token)
    assert info.value.code == "session_ended"
    # Idempotent, and unknown or malformed tokens are silently accepted.
    refresh.revoke(newer.token)
    refresh.revoke("rt_unknown")
    refresh.revoke("garbage")
    assert _family(issued.token).revoked_reason == "logout"


def test_unknown_and_malformed_tokens_are_401(aws: None) -> None:
    for token in ("rt_unknown", "nonsense", "", "rt_" + "x" * 500):
        with pytest.raises(
            Unauthorized, match=r"^The refresh token is invalid or expired\."
        ) as info:
            refresh.rotate(token)
        assert info.value.code == "invalid_refresh_token"


def test_token_expires_after_its_idle_lifetime(aws: None) -> None:
    start = time.time()
    issued = refresh.start_family("usr_1", now=start)
    week = 7 * 24 * 3600
    with pytest.raises(Unauthorized, match="invalid or expired"):
        refresh.rotate(issued.token, now=start + week + 1)
    fresh = refresh.start_family("usr_1", now=start)
    assert refresh.rotate(fresh.token, now=start + week - 1).token


def test_family_has_an_absolute_lifetime(aws: None) -> None:
    start = time.time()
    token = refresh.start_family("usr_1", now=start).token
    day = 24 * 3600
    # Rotating every 6 days keeps each token fresh, but the session ends after 30 days.
    for step in range(1, 5):
        token = refresh.rotate(token, now=start + step * 6 * day).token
    row = RefreshToken.get(refresh.sha256_hex(token))
    assert row.expires_at.timestamp() == pytest.approx(start + 30 * day, abs=1)
    with pytest.raises(Unauthorized):
        refresh.rotate(token, now=start + 30 * day + 1)


def test_revoke_user_sessions_ends_every_family(aws: None) -> None:
    a = refresh.start_family("usr_1")
    b = refresh.start_family("usr_1")
    other = refresh.start_family("usr_2")
    refresh.revoke(a.token)
    assert refresh.revoke_user_sessions("usr_1") == 1
    # The first reason recorded is kept; the other session ended because the user's did.
    assert (_family(a.token).revoked_reason, _family(b.token).revoked_reason) == ("logout", "user")
    for token in (a.token, b.token):
        with pytest.raises(Unauthorized):
            refresh.rotate(token)
    assert refresh.rotate(other.token).user_id == "usr_2"
    assert not RefreshFamily.get(other.family_id).revoked
    assert RefreshFamily.get(b.family_id).revoked


DAY = 24 * 3600
START = 1_900_000_000  # a fixed second, so every recorded time is exact


def test_a_session_records_its_times_and_why_it_ended(aws: None) -> None:
    issued = refresh.start_family("usr_1", now=START)
    assert issued.user_id == "usr_1"
    assert issued.family_id.startswith("rtf_")
    assert len(issued.token) == len("rt_") + 43  # 32 random bytes, base64url
    family = RefreshFamily.get(issued.family_id)
    assert (family.created_at, family.expires_at.timestamp()) == (START, START + 30 * DAY)
    first = RefreshToken.get(refresh.sha256_hex(issued.token))
    assert (first.created_at, first.expires_at.timestamp(), first.status) == (
        START,
        START + 7 * DAY,
        "active",
    )
    refresh.rotate(issued.token, now=START + 10)
    assert RefreshToken.get(refresh.sha256_hex(issued.token)).used_at == START + 10
    with pytest.raises(Unauthorized):
        refresh.rotate(issued.token, now=START + 20)  # reuse
    family = RefreshFamily.get(issued.family_id)
    assert (family.revoked, family.revoked_reason, family.revoked_at) == (True, "reuse", START + 20)


def test_a_token_is_refused_from_the_second_it_expires(aws: None) -> None:
    issued = refresh.start_family("usr_1", now=START)
    with pytest.raises(Unauthorized, match="invalid or expired") as info:
        refresh.rotate(issued.token, now=START + 7 * DAY)
    assert info.value.code == "invalid_refresh_token"
    fresh = refresh.start_family("usr_1", now=START)
    assert refresh.rotate(fresh.token, now=START + 7 * DAY - 1).family_id == fresh.family_id
