"""Users for tests whose credentials are checked against the user record (the current role,
disabled or not): a token or ticket for a user who does not exist opens nothing."""

from __future__ import annotations

from chalicelib.clock import now_iso
from chalicelib.dal.models import User, UserEmail


def seed_user(user_id: str, role: str = "member", *, disabled: bool = False) -> User:
    """The user ``user_id`` with ``role`` (created, or updated when it exists)."""
    now = now_iso()
    email = f"{user_id}@example.com"
    user = User(
        id=user_id,
        email=email,
        name=user_id,
        role=role,
        disabled=disabled,
        password_hash="not-a-hash",
        created_at=now,
        updated_at=now,
    )
    try:
        existing = User.get(user_id)
    except User.DoesNotExist:
        user.save()
        UserEmail(email=email, user_id=user_id).save()
        return user
    existing.update(actions=[User.role.set(role), User.disabled.set(disabled)])
    return existing


def user_token(user_id: str, role: str = "member") -> str:
    """An access token of a user that exists with that role."""
    from chalicelib.auth.tokens import issue_access_token

    seed_user(user_id, role)
    return issue_access_token(user_id, role)[0]
