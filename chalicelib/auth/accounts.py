"""The caller's rights as they are now: every credential is checked against the user record.

A token or key proves who the caller is; what they may do is read from the user at each
request (one consistent GetItem), so a demotion or a disabled account takes effect at once,
not when an access token expires (up to 15 minutes later). No cache: "at once" means it.
"""

from __future__ import annotations

from chalicelib.auth.credentials import rejected
from chalicelib.auth.principal import ROLES, Principal
from chalicelib.dal.models import User
from chalicelib.errors import Unauthorized

ACCOUNT_DISABLED = "This account is disabled. Ask an administrator."


def account_disabled() -> Unauthorized:
    return rejected(ACCOUNT_DISABLED, code="account_disabled")


def current_user(user_id: str) -> User:
    """The user behind a credential; Unauthorized when it was removed or disabled."""
    try:
        user = User.get(user_id, consistent_read=True)
    except User.DoesNotExist:
        raise rejected(
            "The account of this credential no longer exists.", code="account_not_found"
        ) from None
    if user.disabled:
        raise account_disabled()
    if user.role not in ROLES:
        raise rejected("The account has no valid role.")
    return user


def current_principal(user_id: str, *, token_id: str, via: str) -> Principal:
    """A principal carrying the user's current role (never the one a credential claims)."""
    user = current_user(user_id)
    return Principal(user_id=user.id, role=user.role, token_id=token_id, via=via)
