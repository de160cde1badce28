"""What a route handler receives and may return, independent of the web framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.auth.principal import Principal
    from chalicelib.http.request import ApiRequest


@dataclass
class Call:
    request: ApiRequest
    principal: Principal | None = None
    body: Any = None  # the parsed request model (RouteSpec.body)
    query: Any = None  # the parsed query model (RouteSpec.query)
    version: int | None = None  # from If-Match when the route requires it

    def path(self, name: str) -> str:
        return self.request.path_params[name]

    @property
    def if_match(self) -> int:
        """The If-Match version (routes declared with ``if_match`` always have one)."""
        assert self.version is not None
        return self.version

    @property
    def user(self) -> Principal:
        """The authenticated caller (routes with auth "user"/"admin" always have one)."""
        assert self.principal is not None
        return self.principal


@dataclass
class ApiResponse:
    """An explicit response, for handlers whose status or headers vary per call."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
