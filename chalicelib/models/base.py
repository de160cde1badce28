"""Shared model bases: camelCase aliases, strict request bodies."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Response shape: fields in snake_case here, camelCase in JSON."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class RequestModel(ApiModel):
    """Request shape: unknown fields are an error, so a typo never passes silently."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class QueryModel(BaseModel):
    """Query parameters (already camelCase on the wire; values arrive as strings)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# Text that is trimmed before it is checked must hold something besides white space: the
# document says so (a pattern), so a blank value is not "valid" there and refused here.
NOT_BLANK = r"\S"
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Limit = Annotated[int, Field(ge=1, le=100, description="Page size (capped at 100)")]
# A module the router knows (its catalogue, GET /router/catalog): naming another where a module
# is pinned or explained is 400 unknown_module. The document marks it with a format of its own.
MODULE_FORMAT = "aion-module"
# Opaque and signed: only a list's own nextCursor is a cursor of that list. The document says so
# with a format of its own (clients, and test generators, cannot make one up).
CURSOR_FORMAT = "aion-cursor"
Cursor = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    Field(
        description="The nextCursor of the previous page of this same list (any other value: "
        "400 invalid_cursor)",
        json_schema_extra={"format": CURSOR_FORMAT},
    ),
]


class ListQuery(QueryModel):
    limit: Limit | None = None
    cursor: Cursor | None = None


class Message(ApiModel):
    message: str


class OpenApiDocument(BaseModel):
    """``GET /openapi.json``: an OpenAPI 3.1 document (its keys are OpenAPI's own)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "openapi": "3.1.0",
                    "info": {"title": "AION API", "version": "0.1.0"},
                    "paths": {
                        "/health": {
                            "get": {
                                "operationId": "getHealth",
                                "summary": "Liveness and dependency checks",
                            }
                        }
                    },
                    "components": {},
                }
            ]
        },
    )

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any] = Field(default_factory=dict)
