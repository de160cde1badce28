"""API keys: minting, and authenticating a request that presents one.

A key reads ``aion_<lookup>_<secret>``: ``lookup`` (12 base32 characters, 60 bits) is a public
id, the table's key, so finding a key is one GetItem; ``secret`` is 256 random bits (52 base32
characters). Only the SHA-256 digest of the whole key is stored: a fast hash is right for a
256-bit random secret (nothing to brute-force; argon2 is for passwords people choose), and the
digests are compared in constant time. Lower-case base32 keeps the key one "word" to copy.

Each use reads the key and its user (both consistently, no cache): revoking (deleting the
item), expiry, disabling the user and a role change all take effect at the next request.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.auth.accounts import current_principal
from chalicelib.auth.credentials import rejected
from chalicelib.auth.digest import sha256_hex
from chalicelib.auth.principal import VIA_API_KEY, Principal
from chalicelib.clock import parse_iso, to_iso
from chalicelib.dal.auth_models import ApiKey
from chalicelib.errors import Unauthorized

KEY_PREFIX = "aion_"
ID_PREFIX = "ak_"
LOOKUP_CHARS = 12
SECRET_BYTES = 32  # 256 bits
_SECRET_CHARS = 52  # base32 of 32 bytes, padding removed
_KEY = re.compile(rf"^{KEY_PREFIX}([a-z2-7]{{{LOOKUP_CHARS}}})_([a-z2-7]{{{_SECRET_CHARS}}})$")
_KEY_ID = re.compile(rf"^{ID_PREFIX}[a-z2-7]{{{LOOKUP_CHARS}}}$")
# lastUsedAt is written at most this often per key (a conditional write), not at every use.
LAST_USED_GRANULARITY = timedelta(minutes=1)
# Compared against when the id is unknown, so both paths do the same work.
_DUMMY_DIGEST = sha256_hex(KEY_PREFIX + "0" * (LOOKUP_CHARS + 1 + _SECRET_CHARS))


@dataclass(frozen=True)
class MintedKey:
    key_id: str
    prefix: str
    key: str  # the whole key: returned once, never stored or logged
    secret_hash: str


def _base32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def mint_key() -> MintedKey:
    lookup = _base32(secrets.token_bytes(8))[:LOOKUP_CHARS]
    key = f"{KEY_PREFIX}{lookup}_{_base32(secrets.token_bytes(SECRET_BYTES))}"
    return MintedKey(
        key_id=ID_PREFIX + lookup,
        prefix=KEY_PREFIX + lookup,
        key=key,
        secret_hash=sha256_hex(key),
    )


def is_key_id(value: str) -> bool:
    """Whether ``value`` has the shape of a key's id (``ak_<lookup>``)."""
    return _KEY_ID.fullmatch(value) is not None


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


def _invalid() -> Unauthorized:
    # One answer for malformed, unknown, wrong-secret and revoked keys; it never quotes the key.
    return rejected("The API key is invalid or was revoked.", code="invalid_api_key")


def find_key(credential: str) -> ApiKey:
    """The stored key ``credential`` names, its secret verified. Raises Unauthorized."""
    match = _KEY.fullmatch(credential)
    if match is None:
        raise _invalid()
    presented = sha256_hex(credential)
    try:
        row: ApiKey | None = ApiKey.get(ID_PREFIX + match.group(1), consistent_read=True)
    except ApiKey.DoesNotExist:
        row = None
    expected = row.secret_hash if row is not None else _DUMMY_DIGEST
    # Constant time: the time taken says nothing about how much of the digest matched.
    if not hmac.compare_digest(presented.encode("ascii"), expected.encode("ascii")) or not row:
        raise _invalid()
    return row


def authenticate_api_key(credential: str, *, now: datetime | None = None) -> Principal:
    """The principal of a request presenting an API key: the key's user, as they are now."""
    at = now or datetime.now(UTC)
    row = find_key(credential)
    if row.expires_at is not None and parse_iso(row.expires_at) <= at:
        raise rejected("The API key has expired.", code="api_key_expired")
    principal = current_principal(row.user_id, token_id=row.key_id, via=VIA_API_KEY)
    touch_last_used(row, at)
    return principal


def touch_last_used(row: ApiKey, at: datetime) -> bool:
    """Record a use, at most once per ``LAST_USED_GRANULARITY`` per key; True if written.

    The read value usually says no write is due (no request at all); when one is, the condition
    lets one of several concurrent uses write it, and never re-creates a revoked key.
    """
    threshold = to_iso(at - LAST_USED_GRANULARITY)
    if row.last_used_at is not None and row.last_used_at > threshold:
        return False
    try:
        ApiKey(row.key_id).update(
            actions=[ApiKey.last_used_at.set(to_iso(at))],
            condition=ApiKey.key_id.exists()
            & (ApiKey.last_used_at.does_not_exist() | (ApiKey.last_used_at <= threshold)),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
