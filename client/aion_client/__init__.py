"""The Python SDK of AION: ``Client`` and the API's typed models.

from aion_client import Client

client = Client()                      # AION_URL + AION_API_KEY, or the `aion login` login
task = client.tasks.run("count the words", input="a b c")
print(task.status, task.result)
"""

from __future__ import annotations

from aion_client._version import __version__
from aion_client.client import Client
from aion_client.errors import (
    AionError,
    ApiError,
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    PreconditionRequired,
    RateLimited,
    ServerError,
    TransportError,
)
from aion_client.models import (
    ApiKey,
    Catalog,
    CreatedApiKey,
    File,
    Project,
    ReviewItem,
    RouteDecision,
    Task,
    TelemetryEvent,
    User,
)

__all__ = [
    "AionError",
    "ApiError",
    "ApiKey",
    "AuthenticationError",
    "BadRequest",
    "Catalog",
    "Client",
    "ConfigurationError",
    "Conflict",
    "CreatedApiKey",
    "File",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "PreconditionRequired",
    "Project",
    "RateLimited",
    "ReviewItem",
    "RouteDecision",
    "ServerError",
    "Task",
    "TelemetryEvent",
    "TransportError",
    "User",
    "__version__",
]
