"""Domain errors. Each maps to one HTTP status and one snake_case code of the envelope

``{"error": {"code": ..., "message": ..., "details": ...}}`` (docs/openapi.json: Error). The
domain raises these; only the API edge (chalicelib/api/rest.py, app.py's WebSocket handlers)
turns them into responses.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details
        self.headers = headers or {}

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class ValidationFailed(BadRequest):
    code = "validation_error"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class InvalidState(Conflict):
    """The task's status does not allow this (or it changed meanwhile)."""

    code = "invalid_state"


class PreconditionFailed(AppError):
    status = 412
    code = "version_mismatch"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class PreconditionRequired(AppError):
    status = 428
    code = "version_required"


class Throttled(AppError):
    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, details={"retryAfter": retry_after}, **kwargs)
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(retry_after)


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
