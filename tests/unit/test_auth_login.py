"""logic.auth: login, refresh, logout and tickets end to end over moto."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.auth import passwords
from chalicelib.auth.tickets import redeem_ws_ticket
from chalicelib.auth.tokens import decode_access_token
from chalicelib.dal.models import User, UserEmail
from chalicelib.errors import Forbidden, Throttled, Unauthorized
from chalicelib.logic import auth, sessions

PASSWORD = "s3cret-Passw0rd"
HOME = "198.51.100.7"  # the user's address
ELSEWHERE = "203.0.113.9"  # someone else's
T0 = 1_800_000_000.0  # the throttle's clock in tests that depend on it


# Settings read afresh in each test (some change the environment).
pytestmark = pytest.mark.usefixtures("reset_caches")


def _make_user(email: str = "ada@example.com", role: str = "member") -> User:
    user = User(
        id=f"usr_{email.split('@')[0]}",
        email=email,
        name="Ada",
        role=role,
        password_hash=passwords.hash_password(PASSWORD),
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )
    user.save()
    UserEmail(email=email, user_id=user.id).save()
    return user


def test_login_returns_the_design_shape(aws: None) -> None:
    _make_user()
    session = auth.login("  Ada@Example.COM ", PASSWORD, source_ip=HOME)
    result = session.to_json()  # the wire shape: camelCase at the HTTP edge only
    assert session.token_type == "Bearer"
    assert session.user.id == "usr_ada"
    assert set(result) == {"accessToken", "refreshToken", "tokenType", "expiresIn", "user"}
    assert result["tokenType"] == "Bearer"
    assert result["expiresIn"] == 900
    assert result["user"] == {
        "id": "usr_ada",
        "email": "ada@example.com",
        "name": "Ada",
        "role": "member",
        "disabled": False,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:00.000Z",
        "version": 1,
    }
    assert "passwordHash" not in str(result)
    assert "argon2" not in str(result)
    principal = decode_access_token(session.access_token)
    assert (principal.user_id, principal.role) == ("usr_ada", "member")


def test_wrong_password_and_unknown_email_answer_the_same(aws: None) -> None:
    _make_user()
    with pytest.raises(Unauthorized) as wrong:
        auth.login("ada@example.com", "nope", source_ip=HOME)
    with pytest.raises(Unauthorized) as unknown:
        auth.login("nobody@example.com", PASSWORD, source_ip=HOME)
    assert wrong.value.envelope() == unknown.value.envelope()
    assert wrong.value.code == "invalid_credentials"


def test_a_blank_email_is_bad_credentials_not_a_server_error(aws: None) -> None:
    # Found by the stateful schemathesis run: "\f" normalised to "", an empty DynamoDB key (500).
    _make_user()
    for email in ("\f", "   ", ""):
        with pytest.raises(Unauthorized) as blank:
            auth.login(email, PASSWORD, source_ip=HOME)
        assert blank.value.code == "invalid_credentials"


def test_unknown_email_pays_the_argon2_price(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []
    real = passwords.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda h, p: seen.append(h) or real(h, p))
    with pytest.raises(Unauthorized):
        auth.login("nobody@example.com", PASSWORD, source_ip=HOME)
    assert seen == [None]  # verify_password(None, ...) runs argon2 on the dummy hash


def test_login_throttles_identically_for_known_and_unknown_emails(aws: None) -> None:
    _make_user()
    for email in ("ada@example.com", "ghost@example.com"):
        for _ in range(5):
            with pytest.raises(Unauthorized):
                auth.login(email, "wrong", source_ip=HOME, now=T0)
        # Even the right password is refused while locked out: no guessing during the lock.
        with pytest.raises(Throttled) as info:
            auth.login(email, PASSWORD, source_ip=HOME, now=T0)
        # The fifth attempt locked the next one out for 5 s; the clock did not move.
        assert info.value.retry_after == 5
        assert info.value.headers["Retry-After"] == "5"
        assert "exist" not in info.value.message


@pytest.mark.parametrize("role", ["member", "admin"])
def test_guessing_from_elsewhere_does_not_lock_the_user_out(aws: None, role: str) -> None:
    """Issue 16: five wrong passwords used to lock anyone's account, admin included, for the
    right password too. The lock is now where the guesses come from."""
    _make_user(role=role)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            auth.login("ada@example.com", "wrong", source_ip=ELSEWHERE, now=T0)
    with pytest.raises(Throttled):
        auth.login("ada@example.com", PASSWORD, source_ip=ELSEWHERE, now=T0)
    session = auth.login("ada@example.com", PASSWORD, source_ip=HOME, now=T0)
    assert session.user.role == role
    # The guesser is still held back where they are.
    with pytest.raises(Throttled):
        auth.login("ada@example.com", "wrong", source_ip=ELSEWHERE, now=T0 + 1)


def test_an_ipv6_guesser_is_throttled_by_the_network_not_the_address(aws: None) -> None:
    _make_user()
    for n in range(5):
        with pytest.raises(Unauthorized):
            auth.login("ada@example.com", "wrong", source_ip=f"2001:db8:1:2::{n + 1:x}", now=T0)
    with pytest.raises(Throttled):
        auth.login("ada@example.com", PASSWORD, source_ip="2001:db8:1:2:ffff::1", now=T0)
    assert auth.login("ada@example.com", PASSWORD, source_ip="2001:db8:1:3::1", now=T0)


def test_guessing_from_many_sources_hits_the_account_ceiling(
    aws: None, monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> None:
    monkeypatch.setenv("AION_LOGIN_ACCOUNT_FREE_FAILURES", "12")
    reset_caches()
    _make_user()
    for n in range(12):  # three guesses from each of four addresses: none is locked itself
        with pytest.raises(Unauthorized):
            auth.login("ada@example.com", "wrong", source_ip=f"203.0.113.{n // 3}", now=T0)
    # The 12th attempt locked the account's next one out, wherever it comes from.
    with pytest.raises(Throttled) as info:
        auth.login("ada@example.com", PASSWORD, source_ip=HOME, now=T0)
    assert info.value.retry_after == 5
    assert auth.login("ada@example.com", PASSWORD, source_ip=HOME, now=T0 + 5).user.id


def test_a_disabled_user_cannot_log_in_or_refresh(aws: None) -> None:
    user = _make_user()
    session = auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    user.update(actions=[User.disabled.set(True)])
    with pytest.raises(Forbidden) as info:
        auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    assert info.value.code == "account_disabled"
    with pytest.raises(Unauthorized) as wrong:
        auth.login("ada@example.com", "wrong", source_ip=HOME)
    assert wrong.value.code == "invalid_credentials"  # said only with the right password
    with pytest.raises(Unauthorized) as refreshed:
        auth.refresh(session.refresh_token)
    assert refreshed.value.code == "account_disabled"
    user.update(actions=[User.disabled.set(False)])
    with pytest.raises(Unauthorized):
        auth.refresh(session.refresh_token)  # that session stays ended
    assert auth.login("ada@example.com", PASSWORD, source_ip=HOME).user.disabled is False


def test_success_resets_the_failure_count(aws: None) -> None:
    _make_user()
    for _ in range(4):
        with pytest.raises(Unauthorized):
            auth.login("ada@example.com", "wrong", source_ip=HOME)
    auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    for _ in range(4):
        with pytest.raises(Unauthorized):
            auth.login("ada@example.com", "wrong", source_ip=HOME)
    assert auth.login("ada@example.com", PASSWORD, source_ip=HOME).user.id == "usr_ada"


def test_login_rehashes_when_parameters_changed(
    aws: None, monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> None:
    user = _make_user()
    old_hash = user.password_hash
    monkeypatch.setenv("AION_ARGON2_TIME_COST", "2")
    reset_caches()
    auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    new_hash = User.get(user.id).password_hash
    assert new_hash != old_hash
    assert "t=2" in new_hash
    assert not passwords.needs_rehash(new_hash)
    # Nothing to do the next time.
    auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    assert User.get(user.id).password_hash == new_hash


def test_refresh_rotates_and_reflects_the_current_role(aws: None) -> None:
    user = _make_user()
    first = auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    user.update(actions=[User.role.set("admin")])
    second = auth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert decode_access_token(second.access_token).role == "admin"
    assert second.user.role == "admin"
    with pytest.raises(Unauthorized):
        auth.refresh(first.refresh_token)  # reuse: the family is revoked
    with pytest.raises(Unauthorized):
        auth.refresh(second.refresh_token)


def test_refresh_for_a_removed_user_ends_the_session(aws: None) -> None:
    user = _make_user()
    session = auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    user.delete()
    with pytest.raises(Unauthorized, match="session has ended"):
        auth.refresh(session.refresh_token)


def test_logout_then_refresh_is_401(aws: None) -> None:
    _make_user()
    session = auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    auth.logout(session.refresh_token)
    with pytest.raises(Unauthorized):
        auth.refresh(session.refresh_token)
    auth.logout(session.refresh_token)  # idempotent


def test_revoke_user_sessions(aws: None) -> None:
    _make_user()
    a = auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    b = auth.login("ada@example.com", PASSWORD, source_ip=HOME)
    assert sessions.revoke_user_sessions("usr_ada") == 2
    for session in (a, b):
        with pytest.raises(Unauthorized):
            auth.refresh(session.refresh_token)


def test_ws_ticket_shape_and_single_use(aws: None) -> None:
    _make_user(role="admin")
    principal = decode_access_token(
        auth.login("ada@example.com", PASSWORD, source_ip=HOME).access_token
    )
    ticket = auth.ws_ticket(principal)
    assert ticket.to_json() == {"ticket": ticket.ticket, "expiresIn": 60}
    assert redeem_ws_ticket(ticket.ticket).role == "admin"
    with pytest.raises(Unauthorized):
        redeem_ws_ticket(ticket.ticket)
