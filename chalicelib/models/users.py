"""Users: the caller (/me) and admin management."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.models.base import ApiModel, RequestModel

Role = Literal["admin", "member"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
# Deliberately loose: the address is proven by use, not by a regex. No spaces or control
# characters: spelled out rather than \s, which means other characters in Python (the server)
# than in JSON Schema's ECMA-262 regexes (the document's readers), e.g. U+0085.
_EMAIL_PART = r"[^@\s\x00-\x20\x7f-\x9f]+"
Email = Annotated[
    str,
    StringConstraints(
        min_length=3, max_length=254, pattern=rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


class UserOut(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "usr_5f0c1e2d3b4a59687766",
                    "email": "ada@example.com",
                    "name": "Ada Lovelace",
                    "role": "member",
                    "disabled": False,
                    "createdAt": "2026-11-02T09:14:03.120Z",
                    "updatedAt": "2026-11-02T09:14:03.120Z",
                    "version": 1,
                }
            ]
        }
    )

    id: str
    email: str
    name: str
    role: Role
    disabled: bool = Field(
        default=False, description="A disabled user cannot sign in or use any credential"
    )
    created_at: str
    updated_at: str
    version: int


class UserList(ApiModel):
    items: list[UserOut]
    next_cursor: str | None


class UserCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "name": "Ada Lovelace",
                    "password": "correct horse battery staple",
                    "role": "member",
                }
            ]
        }
    )

    email: Email
    name: Name
    password: Password
    role: Role = "member"


class UserUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Ada King", "role": "admin"}]}
    )

    email: Email | None = None
    name: Name | None = None
    password: Password | None = None
    role: Role | None = None
    disabled: bool | None = Field(
        default=None,
        description=(
            "true: the user can no longer sign in; their sessions, sockets and API keys end at "
            "once (keys are deleted). false: they may sign in again."
        ),
    )
