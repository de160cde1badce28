"""Who is calling: the result of authenticating a request, passed to logic as a plain value."""

from __future__ import annotations

from dataclasses import dataclass

ROLE_ADMIN = "admin"
ROLE_MEMBER = "member"
ROLES = (ROLE_ADMIN, ROLE_MEMBER)

# What the caller presented. An API key acts as its user but may not do what would let a
# leaked key entrench itself (manage keys or users, change a password or role).
VIA_ACCESS_TOKEN = "access_token"  # noqa: S105 - a kind of credential, not one
VIA_API_KEY = "api_key"
VIA_WS_TICKET = "ws_ticket"


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    token_id: str = ""  # the access token's jti, the API key's id, or a ticket digest prefix
    via: str = VIA_ACCESS_TOKEN

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def via_api_key(self) -> bool:
        return self.via == VIA_API_KEY
