"""Password hashing: argon2id (argon2-cffi) with the parameters of ``get_settings().auth``.

``verify_password(None, pw)`` verifies against a dummy hash of the same parameters, so a login
for an email that does not exist costs the same time as one with a wrong password.
"""

from __future__ import annotations

import contextlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chalicelib.config import get_settings


@lru_cache(maxsize=4)
def _hasher_for(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def _hasher() -> PasswordHasher:
    s = get_settings().auth
    return _hasher_for(s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism)


@lru_cache(maxsize=4)
def _dummy_hash_for(hasher: PasswordHasher) -> str:
    # A hash of a random secret nobody knows: verifying against it always fails, at full cost.
    return hasher.hash(secrets.token_urlsafe(32))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches. ``None`` (no such user) costs the same and is False."""
    hasher = _hasher()
    if password_hash is None:
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash_for(hasher), password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters (or is not an argon2 hash at all)."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True
