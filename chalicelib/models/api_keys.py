"""API keys: create (the key shown once), list, revoke (logic in chalicelib.logic.api_keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, WithJsonSchema

from chalicelib.models.base import NOT_BLANK, ApiModel, RequestModel

KeyName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NOT_BLANK)
]
# An instant still to come (an expiry): a date-time the document marks with a format of its own,
# since JSON Schema cannot say "after now" (400 validation_error otherwise).
FUTURE_DATE_TIME_FORMAT = "aion-future-date-time"
FutureInstant = Annotated[
    datetime, WithJsonSchema({"type": "string", "format": FUTURE_DATE_TIME_FORMAT})
]

_CREATED = "2026-11-02T09:14:03.120Z"
_EXAMPLE: dict[str, Any] = {
    "id": "ak_k7x2mq4vb5ne",
    "name": "CI pipeline",
    "prefix": "aion_k7x2mq4vb5ne",
    "createdAt": _CREATED,
    "expiresAt": "2027-11-02T00:00:00.000Z",
    "lastUsedAt": "2026-11-03T17:40:12.004Z",
}
# An example only: no server issued it.
_KEY_EXAMPLE = "aion_k7x2mq4vb5ne_" + "ddofymr6ayjampsgszc6bi2mf7o6be6cyeie4xaidfjwzphbvsbq"


class ApiKeyCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "CI pipeline", "expiresAt": "2027-11-02T00:00:00Z"}]
        }
    )

    name: KeyName = Field(description="What the key is for, to recognise it in the list")
    expires_at: FutureInstant | None = Field(
        default=None,
        description=(
            "When the key stops working (ISO 8601; without a timezone it is UTC). Must be in "
            "the future. Omitted: the key works until it is revoked."
        ),
    )


class ApiKeyOut(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it; not secret")
    created_at: str
    expires_at: str | None
    last_used_at: str | None = Field(
        description="When the key was last used (kept to the minute); null: never"
    )


class ApiKeyCreated(ApiKeyOut):
    """The answer to creating a key: the only time the key itself is shown."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_EXAMPLE, "key": _KEY_EXAMPLE, "lastUsedAt": None}]}
    )

    key: str = Field(
        description="The key: send it as `Authorization: Bearer <key>`. Shown this once."
    )


class ApiKeyList(ApiModel):
    items: list[ApiKeyOut]
    next_cursor: str | None
