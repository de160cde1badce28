"""Refresh tokens: opaque, stored as SHA-256 digests, rotated on every use.

Every login starts a *family*. Refreshing consumes the presented token and issues the next one
of the same family in one transaction whose conditions are: the token is still ``active`` and
the family is neither revoked nor expired. Presenting a token that was already rotated, or
losing the race of two concurrent uses of one token, is reuse: a stolen copy is in play, so the
whole family is revoked and both holders must log in again.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.auth.digest import sha256_hex
from chalicelib.config import get_settings
from chalicelib.dal.auth_models import (
    REFRESH_ACTIVE,
    REFRESH_ROTATED,
    RefreshFamily,
    RefreshToken,
)
from chalicelib.errors import Unauthorized
from chalicelib.ids import new_id
from chalicelib.shared.caches import process_cache

REFRESH_PREFIX = "rt_"
_MAX_TOKEN_CHARS = 128
REASON_LOGOUT = "logout"
REASON_REUSE = "reuse"
REASON_USER = "user"  # the user's sessions were ended (password change, user removed)

_INVALID = "The refresh token is invalid or expired. Log in again."
_REUSED = "The refresh token was already used; the session has been revoked. Log in again."
_ENDED = "The session has ended. Log in again."


@dataclass(frozen=True)
class IssuedRefreshToken:
    token: str
    user_id: str
    family_id: str


@process_cache
def _connection() -> Connection:
    return Connection(region=get_settings().region)


def _epoch(now: float | None) -> int:
    return int(time.time() if now is None else now)


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _new_row(
    user_id: str, family_id: str, family_expires_at: int, now: int
) -> tuple[str, RefreshToken]:
    token = REFRESH_PREFIX + secrets.token_urlsafe(32)
    expires_at = min(now + get_settings().auth.refresh_token_ttl_s, family_expires_at)
    row = RefreshToken(
        sha256_hex(token),
        family_id=family_id,
        user_id=user_id,
        status=REFRESH_ACTIVE,
        created_at=now,
        family_expires_at=family_expires_at,
        expires_at=_dt(expires_at),
    )
    return token, row


def start_family(user_id: str, *, now: float | None = None) -> IssuedRefreshToken:
    """A new session for ``user_id`` (at login): its family and first refresh token."""
    at = _epoch(now)
    family_expires_at = at + get_settings().auth.refresh_family_ttl_s
    family = RefreshFamily(
        new_id("rtf"),
        user_id=user_id,
        revoked=False,
        created_at=at,
        expires_at=_dt(family_expires_at),
    )
    token, row = _new_row(user_id, family.family_id, family_expires_at, at)
    with TransactWrite(connection=_connection()) as tx:
        tx.save(family, condition=RefreshFamily.family_id.does_not_exist())
        tx.save(row, condition=RefreshToken.token_hash.does_not_exist())
    return IssuedRefreshToken(token, user_id, family.family_id)


def _find(token: str) -> RefreshToken | None:
    if not token.startswith(REFRESH_PREFIX) or len(token) > _MAX_TOKEN_CHARS:
        return None
    try:
        return RefreshToken.get(sha256_hex(token), consistent_read=True)
    except RefreshToken.DoesNotExist:
        return None


def rotate(token: str, *, now: float | None = None) -> IssuedRefreshToken:
    """Consume ``token`` and return its successor. Raises Unauthorized (and revokes on reuse)."""
    at = _epoch(now)
    row = _find(token)
    if row is None:
        raise Unauthorized(_INVALID, code="invalid_refresh_token")
    if row.status != REFRESH_ACTIVE:
        revoke_family(row.family_id, REASON_REUSE, now=at)
        raise Unauthorized(_REUSED, code="refresh_token_reused")
    if row.expires_at <= _dt(at):
        raise Unauthorized(_INVALID, code="invalid_refresh_token")
    new_token, new_row = _new_row(row.user_id, row.family_id, int(row.family_expires_at), at)
    try:
        with TransactWrite(connection=_connection()) as tx:
            # DynamoDB orders items: condition checks, deletes, puts, updates (see _reasons).
            tx.condition_check(
                RefreshFamily,
                row.family_id,
                condition=(RefreshFamily.revoked == False)  # noqa: E712 - a DynamoDB condition
                & (RefreshFamily.expires_at > _dt(at)),
            )
            tx.save(new_row, condition=RefreshToken.token_hash.does_not_exist())
            tx.update(
                row,
                actions=[RefreshToken.status.set(REFRESH_ROTATED), RefreshToken.used_at.set(at)],
                condition=RefreshToken.status == REFRESH_ACTIVE,
            )
    except TransactWriteError as exc:
        family_code, _put_code, token_code = _reasons(exc, 3)
        if token_code in ("ConditionalCheckFailed", "TransactionConflict"):
            # Someone else consumed this token between our read and our write: reuse.
            revoke_family(row.family_id, REASON_REUSE, now=at)
            raise Unauthorized(_REUSED, code="refresh_token_reused") from None
        if family_code == "ConditionalCheckFailed":
            raise Unauthorized(_ENDED, code="session_ended") from None
        raise
    return IssuedRefreshToken(new_token, row.user_id, row.family_id)


def _reasons(exc: TransactWriteError, count: int) -> list[str | None]:
    codes = [r.code if r else None for r in (exc.cancellation_reasons or [])]
    return (codes + [None] * count)[:count]


def revoke_family(family_id: str, reason: str, *, now: float | None = None) -> bool:
    """End a session; True if it was open. Idempotent; the first reason recorded is kept."""
    try:
        RefreshFamily(family_id).update(
            actions=[
                RefreshFamily.revoked.set(True),
                RefreshFamily.revoked_reason.set(reason),
                RefreshFamily.revoked_at.set(_epoch(now)),
            ],
            condition=RefreshFamily.family_id.exists() & (RefreshFamily.revoked == False),  # noqa: E712
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def revoke(token: str) -> None:
    """Logout: end the session ``token`` belongs to. Unknown tokens are ignored (idempotent)."""
    row = _find(token)
    if row is not None:
        revoke_family(row.family_id, REASON_LOGOUT)


def revoke_user_sessions(user_id: str) -> int:
    """End every session of a user (password change, removal); returns how many were open."""
    return sum(
        revoke_family(key.family_id, REASON_USER) for key in RefreshFamily.by_user.query(user_id)
    )
