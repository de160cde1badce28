"""Login, refresh, logout and WebSocket tickets: plain values in, typed models out.

``TokenOut`` (login and refresh) and ``TicketOut`` (a WebSocket ticket) are the response
models; they turn camelCase only at the HTTP edge.
"""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.auth import refresh as refresh_tokens
from chalicelib.auth.accounts import ACCOUNT_DISABLED, account_disabled
from chalicelib.auth.emails import normalize_email
from chalicelib.auth.passwords import hash_password, needs_rehash, verify_password
from chalicelib.auth.principal import Principal
from chalicelib.auth.throttle import admit_login_attempt, reset_login_attempts, source_of
from chalicelib.auth.tickets import issue_ws_ticket
from chalicelib.auth.tokens import issue_access_token
from chalicelib.dal.models import User, UserEmail
from chalicelib.errors import Forbidden, Unauthorized
from chalicelib.logic.users import user_out
from chalicelib.models.auth import TicketOut, TokenOut

# The same answer for an unknown email and a wrong password.
_BAD_CREDENTIALS = "Invalid email or password."
# Read when the email is unknown, so both paths make the same DynamoDB calls (timing).
_NO_SUCH_USER_ID = "usr_none"


def _user_by_email(normalized_email: str) -> User | None:
    # DynamoDB refuses an empty key (an address of nothing but spaces): it is no one's, and
    # looking it up as the missing id keeps the same calls.
    try:
        user_id = UserEmail.get(normalized_email or _NO_SUCH_USER_ID).user_id
    except UserEmail.DoesNotExist:
        user_id = _NO_SUCH_USER_ID
    try:
        return User.get(user_id)
    except User.DoesNotExist:
        return None


def _upgrade_hash(user: User, password: str) -> None:
    """Re-hash with the current parameters. Best effort: a concurrent edit wins."""
    try:
        user.update(actions=[User.password_hash.set(hash_password(password))])
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def _session(user: User, refresh_token: str) -> TokenOut:
    access_token, expires_in = issue_access_token(user.id, user.role)
    return TokenOut(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=expires_in,
        user=user_out(user),
    )


def login(email: str, password: str, *, source_ip: str, now: float | None = None) -> TokenOut:
    """Check credentials and open a session. Unauthorized, Forbidden or Throttled otherwise.

    ``source_ip`` is the client's address (throttling counts per account and per source);
    ``now`` (epoch seconds) is the throttle's clock, injectable for tests.
    """
    normalized = normalize_email(email)
    source = source_of(source_ip)
    admit_login_attempt(normalized, source, now=now)  # raises Throttled before password work
    user = _user_by_email(normalized)
    # Always runs argon2 (a dummy hash for unknown emails): equal cost either way.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized(_BAD_CREDENTIALS, code="invalid_credentials")
    if user.disabled:
        # Said only to whoever knows the password; the attempt still counts (no reset).
        raise Forbidden(ACCOUNT_DISABLED, code="account_disabled")
    reset_login_attempts(normalized, source)
    if needs_rehash(user.password_hash):
        _upgrade_hash(user, password)
    issued = refresh_tokens.start_family(user.id)
    return _session(user, issued.token)


def refresh(refresh_token: str) -> TokenOut:
    """Rotate the refresh token and issue a fresh access token (with the user's current role)."""
    issued = refresh_tokens.rotate(refresh_token)
    try:
        user = User.get(issued.user_id, consistent_read=True)
    except User.DoesNotExist:
        refresh_tokens.revoke_family(issued.family_id, refresh_tokens.REASON_USER)
        raise Unauthorized("The session has ended. Log in again.", code="session_ended") from None
    if user.disabled:
        # Disabling revokes the sessions; this covers a rotation that raced the revocation.
        refresh_tokens.revoke_family(issued.family_id, refresh_tokens.REASON_USER)
        raise account_disabled()
    return _session(user, issued.token)


def logout(refresh_token: str) -> None:
    """Revoke the session of ``refresh_token``. Unknown tokens are accepted silently."""
    refresh_tokens.revoke(refresh_token)


def ws_ticket(principal: Principal) -> TicketOut:
    ticket, expires_in = issue_ws_ticket(principal)
    return TicketOut(ticket=ticket, expires_in=expires_in)
