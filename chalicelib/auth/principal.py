"""Who is calling: the result of authenticating a request, passed to logic as a plain value."""

from __future__ import annotations

from dataclasses import dataclass

ROLE_ADMIN = "admin"
ROLE_MEMBER = "member"
ROLES = (ROLE_ADMIN, ROLE_MEMBER)


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    token_id: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN
