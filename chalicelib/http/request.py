"""A framework-independent request and the parsing every route shares.

Bad input never escapes as a 500: malformed JSON is 400 (so are JSON nested too deep, NaN or
Infinity, and lone surrogates: ``chalicelib.shared.strict_json``), an oversized body 413, a
pydantic validation failure 400 naming the field, a missing/stale ``If-Match`` 428/412.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.errors import (
    BadRequest,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from chalicelib.shared import strict_json

if TYPE_CHECKING:
    from pydantic import BaseModel


M = TypeVar("M", bound="BaseModel")


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # keys lower-cased
    query: Mapping[str, str] = field(default_factory=dict)
    path_params: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    request_id: str = ""
    source_ip: str = ""  # the client's address as API Gateway saw it (requestContext.identity)
    url_path: str = ""  # the path as requested (on API Gateway with the stage: /api/docs/)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def read_json(request: ApiRequest, *, max_bytes: int) -> Any:
    """The decoded JSON body (None when empty)."""
    raw = request.body or b""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(
            f"Request body is larger than {max_bytes} bytes.", details={"maxBytes": max_bytes}
        )
    if not raw.strip():
        return None
    try:
        return strict_json.loads(raw)
    except strict_json.JsonRejected as exc:
        raise BadRequest(exc.message, code=exc.code) from exc


def validation_error(exc: Any, *, location: str) -> ValidationFailed:
    """Turn a pydantic ValidationError into the envelope's 400, naming each bad field."""
    problems = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        name = ".".join(str(part) for part in err.get("loc", ())) or location
        problems.append({"field": name, "location": location, "message": err.get("msg", "")})
    first = problems[0] if problems else {"field": location, "message": "invalid"}
    return ValidationFailed(
        f"Invalid {location} field '{first['field']}': {first['message']}", details=problems
    )


def parse_model(model: type[M], data: Any, *, location: str = "body") -> M:
    # deferred: ``model`` has loaded pydantic already; at module level it would load in every
    # Lambda's init (benchmarks/cold_start.py).
    from pydantic import ValidationError

    if data is None and location == "body":
        data = {}
    if location == "body" and not isinstance(data, dict):
        raise ValidationFailed(
            "Request body must be a JSON object.",
            details=[{"field": "body", "location": "body", "message": "expected an object"}],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, location=location) from exc


def parse_body(request: ApiRequest, model: type[M], *, max_bytes: int) -> M:
    return parse_model(model, read_json(request, max_bytes=max_bytes), location="body")


def parse_query(request: ApiRequest, model: type[M]) -> M:
    return parse_model(model, dict(request.query), location="query")


def required_version(request: ApiRequest) -> int:
    """The version named by ``If-Match``: 428 when absent, 412 when it can never match.

    Accepts ``3``, ``"3"`` and ``W/"3"`` (what the ETag header we send looks like).
    """
    raw = (request.header("if-match") or "").strip()
    if not raw:
        raise PreconditionRequired("This update needs an If-Match header with the version.")
    value = raw.removeprefix("W/").strip('"').strip()
    if not value.isdigit() or len(value) > 12:
        raise PreconditionFailed("If-Match does not name a current version.")
    return int(value)


def etag(version: int) -> str:
    return f'"{version}"'
