"""Login, refresh, logout and WebSocket tickets (logic lives in chalicelib.logic.auth)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.models.base import ApiModel, RequestModel
from chalicelib.models.users import UserOut

Secret = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
_REFRESH_TOKEN_EXAMPLE = "rt_4b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e.Zq8v2N4r6T0x1Y3w5U7s9Q"  # noqa: S105


class LoginRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse battery staple"}]
        }
    )

    # Not validated as an address: a login never tells which emails exist or are well-formed.
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RefreshRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"refreshToken": _REFRESH_TOKEN_EXAMPLE}]}
    )

    refresh_token: Secret


class TokenOut(ApiModel):
    access_token: str = Field(
        examples=[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfNWYwYzFlMmQzYjRhNTk2ODc3NjYi"
            "LCJyb2xlIjoibWVtYmVyIn0.4pcPyMD09olPSyXnrXCjTwXyr4BsezdI1AVTmud2fU4"
        ]
    )
    refresh_token: str = Field(examples=[_REFRESH_TOKEN_EXAMPLE])
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int = Field(examples=[900], description="Seconds the access token is valid")
    user: UserOut


class TicketOut(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ticket": "wst_8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f", "expiresIn": 60}]
        }
    )

    ticket: str
    expires_in: int
