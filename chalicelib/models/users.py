"""Users: the caller (/me) and admin management."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from chalicelib.models.base import ApiModel, RequestModel

Role = Literal["admin", "member"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
# Deliberately loose: the address is proven by use, not by a regex.
Email = Annotated[
    str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


class UserOut(ApiModel):
    id: str
    email: str
    name: str
    role: Role
    created_at: str
    updated_at: str
    version: int


class UserList(ApiModel):
    items: list[UserOut]
    next_cursor: str | None


class UserCreate(RequestModel):
    email: Email
    name: Name
    password: Password
    role: Role = "member"


class UserUpdate(RequestModel):
    email: Email | None = None
    name: Name | None = None
    password: Password | None = None
    role: Role | None = None
