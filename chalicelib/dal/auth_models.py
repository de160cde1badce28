"""Auth tables: refresh tokens and their families, login throttling, WebSocket tickets, API keys.

Nothing secret is stored in clear: refresh tokens, tickets and API keys are kept as SHA-256 hex
digests (they are 256-bit random, so a plain digest is enough), throttle rows by a digest of
the email. Every table has a TTL; code still checks expiry because DynamoDB deletes lazily.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.dal.base import TableMeta, table_name

REFRESH_ACTIVE = "active"
REFRESH_ROTATED = "rotated"


class RefreshToken(Model):
    """One issued refresh token. Rotation flips ``status`` to rotated, conditionally."""

    class Meta(TableMeta):
        table_name = table_name("refresh-tokens")

    token_hash = UnicodeAttribute(hash_key=True)
    family_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    status = UnicodeAttribute(default=REFRESH_ACTIVE)  # active | rotated
    created_at = NumberAttribute()  # epoch seconds
    used_at = NumberAttribute(null=True)
    # Copied from the family so a rotation never outlives the session without reading it.
    family_expires_at = NumberAttribute()
    expires_at = TTLAttribute()


class FamiliesByUser(GlobalSecondaryIndex["RefreshFamily"]):
    """A user's sessions, to revoke them all (password change, user removed)."""

    class Meta:
        index_name = "by-user"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class RefreshFamily(Model):
    """One login session: every token rotated from one login shares it. Revoking it ends them."""

    class Meta(TableMeta):
        table_name = table_name("refresh-families")

    family_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    revoked = BooleanAttribute(default=False)
    revoked_reason = UnicodeAttribute(null=True)  # logout | reuse | user
    revoked_at = NumberAttribute(null=True)
    created_at = NumberAttribute()
    expires_at = TTLAttribute()  # absolute session lifetime

    by_user = FamiliesByUser()


class LoginThrottle(Model):
    """Login attempts per account since the last success, keyed by a digest of the email."""

    class Meta(TableMeta):
        table_name = table_name("login-throttle")

    key = UnicodeAttribute(hash_key=True)
    attempts = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)  # epoch seconds; no attempt admitted before it
    expires_at = TTLAttribute()  # quiet window: after it the count starts over


class WsTicket(Model):
    """A single-use WebSocket ticket; redeeming it is a conditional delete."""

    class Meta(TableMeta):
        table_name = table_name("ws-tickets")

    ticket_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    expires_at = TTLAttribute()


class ApiKeysByUser(GlobalSecondaryIndex["ApiKey"]):
    """A user's keys, newest first (the list, and revoking them all when the user is disabled)."""

    class Meta:
        index_name = "by-user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ApiKey(Model):
    """An API key. Looked up by its public id (in the key's text), verified by its digest.

    Revoking deletes the item, so a revoked key is unknown at its next use. ``expires_at`` is
    the key's own expiry (checked on every use); ``purge_at`` lets DynamoDB remove it later.
    """

    class Meta(TableMeta):
        table_name = table_name("api-keys")

    key_id = UnicodeAttribute(hash_key=True)  # "ak_<lookup>"; the key reads aion_<lookup>_<secret>
    user_id = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()  # "aion_<lookup>": shown in lists, to recognise a key
    secret_hash = UnicodeAttribute()  # SHA-256 hex of the whole key
    created_at = UnicodeAttribute()  # ISO 8601 (chalicelib.clock)
    expires_at = UnicodeAttribute(null=True)  # ISO 8601; None: until revoked
    last_used_at = UnicodeAttribute(null=True)  # ISO 8601, written at most once a minute
    purge_at = TTLAttribute(null=True)

    by_user = ApiKeysByUser()
