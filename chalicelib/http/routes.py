"""The route table: one declaration per endpoint, used both to serve it and to describe it.

chalicelib/api declares every route through this table (``RouteSpec``); ``openapi.build_document``
turns the table into the OpenAPI document, so the document cannot drift from what is served.
Models are named as ``"module:Class"`` strings and imported on first use, which keeps
pydantic and the domain code out of the Lambda's cold start.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from pydantic import BaseModel

# Who may call a route. "bridge" = holder of the X-Bridge-Token (internal endpoints).
AUTH_NONE = "none"
AUTH_USER = "user"
AUTH_ADMIN = "admin"
AUTH_BRIDGE = "bridge"
AUTH_MODES = (AUTH_NONE, AUTH_USER, AUTH_ADMIN, AUTH_BRIDGE)

ModelRef = "str | type[BaseModel] | None"


@overload
def resolve_model(ref: None) -> None: ...
@overload
def resolve_model(ref: str | type[BaseModel]) -> type[BaseModel]: ...
def resolve_model(ref: Any) -> type[BaseModel] | None:
    """A model class from a class or a ``"package.module:Class"`` string."""
    if ref is None or isinstance(ref, type):
        return ref
    module_name, _, attr = str(ref).partition(":")
    return getattr(importlib.import_module(module_name), attr)


# Runtime expressions of OpenAPI links: values taken from a success answer (or its request).
RESPONSE_ID = "$response.body#/id"
RESPONSE_VERSION = "$response.header.ETag"  # an If-Match value as it is
NEXT_PAGE = {"query.cursor": "$response.body#/nextCursor"}  # a list's next page


@dataclass(frozen=True)
class Link:
    """Where a client can go from a route's success answer, as an OpenAPI link: the target's
    operationId and where each of its inputs comes from (runtime expressions such as
    ``$response.body#/id``). ``parameters`` are keyed ``path.<name>``, ``query.<name>`` or
    ``header.<Name>``; ``body`` fields are merged into the target's request body."""

    operation: str
    parameters: tuple[tuple[str, str], ...] = ()
    body: tuple[tuple[str, Any], ...] = ()

    def to_openapi(self) -> dict[str, Any]:
        link: dict[str, Any] = {"operationId": self.operation}
        if self.parameters:
            link["parameters"] = dict(self.parameters)
        if self.body:
            link["requestBody"] = dict(self.body)
        return link


def link(
    operation: str,
    parameters: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    **fields: Any,
) -> Link:
    """``link("getTask", {"path.task_id": RESPONSE_ID})``; body fields as keywords (or
    ``body=``)."""
    return Link(
        operation, tuple((parameters or {}).items()), tuple({**(body or {}), **fields}.items())
    )


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # Chalice/OpenAPI template, e.g. /tasks/{task_id}
    name: str  # operationId
    summary: str
    tags: tuple[str, ...] = ()
    auth: str = AUTH_USER
    # False: an API key is refused (403 api_key_not_allowed); what a leaked key must not do
    # (manage keys or users, change a password or role) needs a login session.
    api_key: bool = True
    body: Any = None  # ModelRef of the JSON request body
    query: Any = None  # ModelRef whose fields are the query parameters
    response: Any = None  # ModelRef of the success body (None = no body)
    status: int = 200
    if_match: bool = False  # PATCH-style optimistic locking
    idempotency_key: bool = False
    errors: tuple[int, ...] = ()  # extra error statuses the route can answer
    description: str = ""
    path_params: tuple[str, ...] = field(default=())
    # False for what is served beside the API rather than part of it (the reference page's
    # files): left out of the OpenAPI document.
    documented: bool = True
    # OpenAPI links of the success answer: the calls its values lead to.
    links: tuple[Link, ...] = ()

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"unknown auth mode {self.auth!r} for {self.method} {self.path}")

    def error_statuses(self) -> list[int]:
        statuses = {400, *self.errors}
        if self.auth != AUTH_NONE:
            statuses.add(401)
        if self.auth == AUTH_ADMIN or (self.auth != AUTH_NONE and not self.api_key):
            statuses.add(403)
        if self.path_params:
            statuses.add(404)
        if self.body is not None:
            statuses.update({413, 415})
        if self.if_match:
            statuses.update({412, 428})
        return sorted(statuses)


class RouteTable:
    def __init__(self) -> None:
        self._specs: dict[tuple[str, str], RouteSpec] = {}

    def add(self, spec: RouteSpec) -> RouteSpec:
        key = (spec.method.upper(), spec.path)
        if key in self._specs:
            raise ValueError(f"route declared twice: {spec.method} {spec.path}")
        names = {s.name for s in self._specs.values()}
        if spec.name in names:
            raise ValueError(f"operation name declared twice: {spec.name}")
        self._specs[key] = spec
        return spec

    def __iter__(self) -> Iterator[RouteSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: (s.path, s.method)))

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, method: str, path: str) -> RouteSpec | None:
        return self._specs.get((method.upper(), path))
