"""Exceptions of the SDK. API errors carry the envelope's ``code``, the HTTP status and details.

The API answers errors as ``{"error": {"code", "message", "details"}}``; each status maps to one
class here so callers can catch what they care about (``except NotFound``) or everything
(``except AionError``).
"""

from __future__ import annotations

from typing import Any


class AionError(Exception):
    """Base of every error the SDK raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(AionError):
    """The client cannot start: no API URL, no credentials, an unreadable setting."""


class TransportError(AionError):
    """The API could not be reached, or the connection broke before an answer."""


class ApiError(AionError):
    """The API answered with an error status."""

    status: int = 0

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, {self.message!r})"


class BadRequest(ApiError):
    """400: the request is not valid (``code`` is often ``validation_error``)."""


class AuthenticationError(ApiError):
    """401: no, invalid or expired credentials (after the SDK tried to refresh them)."""


class PermissionDenied(ApiError):
    """403: the caller may not do this (role, or an API key managing keys)."""


class NotFound(ApiError):
    """404: it does not exist, or it is not the caller's."""


class Conflict(ApiError):
    """409: the object is not in a state that allows this (e.g. cancel a finished task)."""


class PayloadTooLarge(ApiError):
    """413."""


class PreconditionFailed(ApiError):
    """412: the version given in If-Match is stale; read the object again."""


class PreconditionRequired(ApiError):
    """428: the request needs If-Match."""


class RateLimited(ApiError):
    """429: throttled; ``retry_after`` seconds is when to try again (None if not said)."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers, self.details)


class ServerError(ApiError):
    """5xx: a fault on the server's side (503: a dependency is unavailable)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    428: PreconditionRequired,
    429: RateLimited,
}


def error_class(status: int) -> type[ApiError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ApiError


def api_error(status: int, body: Any, headers: dict[str, str], reason: str = "") -> ApiError:
    """The exception for an error answer, from AION's envelope or whatever else answered.

    Anything but the envelope (a proxy's HTML, API Gateway's ``{"message": ...}``) still gives
    a code (``http_<status>``) and a sentence.
    """
    envelope = body.get("error") if isinstance(body, dict) else None
    if isinstance(envelope, dict) and isinstance(envelope.get("code"), str):
        code = envelope["code"]
        message = str(envelope.get("message") or sentence(reason or f"HTTP {status}"))
        details = envelope.get("details")
    else:
        code = f"http_{status}"
        plain = body.get("message") if isinstance(body, dict) else None
        message = sentence(str(plain or reason or f"HTTP {status}"))
        details = None
    return error_class(status)(message, status=status, code=code, details=details, headers=headers)


def sentence(text: str) -> str:
    """One line that ends like a sentence."""
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def retry_after_seconds(headers: dict[str, str], details: Any = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta form) or the envelope's ``retryAfter``."""
    raw = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    if raw is None and isinstance(details, dict):
        raw = details.get("retryAfter")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except (TypeError, ValueError):
        return None
