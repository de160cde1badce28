"""Login, refresh, logout and WebSocket tickets (logic lives in chalicelib.logic.auth)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from chalicelib.models.base import ApiModel, RequestModel
from chalicelib.models.users import UserOut

Secret = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class LoginRequest(RequestModel):
    # Not validated as an address: a login never tells which emails exist or are well-formed.
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RefreshRequest(RequestModel):
    refresh_token: Secret


class TokenOut(ApiModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int
    user: UserOut


class TicketOut(ApiModel):
    ticket: str
    expires_in: int
