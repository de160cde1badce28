"""Auth tables: refresh tokens and their families, login throttling, WebSocket tickets.

Nothing secret is stored in clear: refresh tokens and tickets are kept as SHA-256 hex digests
(they are 256-bit random, so a plain digest is enough), throttle rows by a digest of the email.
Every table has a TTL; code still checks ``expires_at`` because DynamoDB deletes lazily.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
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
