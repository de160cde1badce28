"""API keys of the caller: create (the key shown once), list, revoke; and revoking all of a
user's keys when the user is disabled.

Only a login session manages keys (the REST layer refuses an API key with 403, and so does
this module): a leaked key cannot mint more keys or remove the owner's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.auth.api_keys import is_key_id, mint_key
from chalicelib.auth.principal import Principal
from chalicelib.clock import now_iso, to_iso
from chalicelib.dal.auth_models import ApiKey
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound
from chalicelib.logic.paging import query_page
from chalicelib.models.api_keys import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyOut

# Keys a user may hold at once (expired ones count until revoked or purged).
MAX_KEYS_PER_USER = 50
# An expired key stays listed (marked expired) this long, then DynamoDB's TTL removes it.
PURGE_AFTER_EXPIRY = timedelta(days=30)
_MINT_ATTEMPTS = 3  # a 60-bit lookup id colliding even once is astronomically unlikely


def _not_found() -> NotFound:
    return NotFound("API key not found.", code="api_key_not_found")


def _refuse_api_key(principal: Principal) -> None:
    if principal.via_api_key:
        raise Forbidden("API keys cannot manage API keys: sign in.", code="api_key_not_allowed")


def key_out(row: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=row.key_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


def _expiry(requested: datetime | None, now: datetime) -> datetime | None:
    if requested is None:
        return None
    expires = requested if requested.tzinfo else requested.replace(tzinfo=UTC)
    if expires <= now:
        raise BadRequest(
            "expiresAt must be in the future.",
            code="validation_error",
            details=[{"field": "expiresAt", "location": "body", "message": "in the past"}],
        )
    return expires


def create_key(principal: Principal, data: ApiKeyCreate) -> ApiKeyCreated:
    """A new key for the caller. The answer is the only place its text ever appears."""
    _refuse_api_key(principal)
    now = datetime.now(UTC)
    expires = _expiry(data.expires_at, now)
    held = ApiKey.by_user.count(principal.user_id, limit=MAX_KEYS_PER_USER)
    if held >= MAX_KEYS_PER_USER:
        raise Conflict(
            f"You already have {MAX_KEYS_PER_USER} API keys; revoke one first.",
            code="api_key_limit_reached",
        )
    created_at = now_iso()
    for _ in range(_MINT_ATTEMPTS):
        minted = mint_key()
        row = ApiKey(
            minted.key_id,
            user_id=principal.user_id,
            name=data.name,
            prefix=minted.prefix,
            secret_hash=minted.secret_hash,
            created_at=created_at,
            expires_at=to_iso(expires) if expires else None,
            purge_at=(expires + PURGE_AFTER_EXPIRY) if expires else None,
        )
        try:
            row.save(condition=ApiKey.key_id.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                continue  # the lookup id is taken: mint another
            raise
        return ApiKeyCreated(**key_out(row).model_dump(), key=minted.key)
    raise Conflict("Could not mint a unique key; try again.", code="api_key_collision")


def list_keys(principal: Principal, *, limit: int | None, cursor: str | None) -> ApiKeyList:
    """The caller's keys, newest first (never their text or digest)."""
    _refuse_api_key(principal)
    items, next_cursor = query_page(
        lambda **kw: ApiKey.by_user.query(principal.user_id, scan_index_forward=False, **kw),
        scope=f"api-keys:{principal.user_id}",
        limit=limit,
        cursor=cursor,
    )
    return ApiKeyList(items=[key_out(row) for row in items], next_cursor=next_cursor)


def revoke_key(principal: Principal, key_id: str) -> None:
    """Delete one of the caller's keys; it stops working at its next use. Others' are 404."""
    _refuse_api_key(principal)
    if not is_key_id(key_id):
        raise _not_found()
    try:
        ApiKey(key_id).delete(condition=ApiKey.user_id == principal.user_id)
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise _not_found() from None  # absent, or someone else's
        raise


def revoke_user_keys(user_id: str) -> int:
    """Delete every key of a user (when the user is disabled); returns how many there were."""
    rows = list(ApiKey.by_user.query(user_id))
    with ApiKey.batch_write() as batch:
        for row in rows:
            batch.delete(row)
    return len(rows)
