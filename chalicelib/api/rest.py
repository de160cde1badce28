"""The REST adapter: the one place that knows Chalice for REST.

Every route is declared on an ``ApiBlueprint`` with ``@bp.endpoint(...)``, which serves it
through Chalice and records it in ``ROUTES``, the single route table ``GET /openapi.json`` is
generated from (a blueprint's routes join the table when the app registers the blueprint, so
the table holds exactly what is served). A handler takes a ``Call`` and returns a pydantic
model (sent with the route's status), an ``ApiResponse``, or None (204); this module parses,
authenticates, and turns results and errors into responses in AION's envelope.

Models are named by ``M("module:Class")`` strings, resolved on first use: importing them would
load pydantic and every model into a cold start (benchmarks/cold_start.py, ~70 ms).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from chalice import Blueprint, Chalice, CORSConfig, Response
from chalice.app import ConvertToMiddleware

from chalicelib.config import get_settings
from chalicelib.errors import AppError, Forbidden, Unauthorized, ValidationFailed
from chalicelib.http import observability
from chalicelib.http.call import ApiResponse, Call
from chalicelib.http.request import ApiRequest, parse_body, parse_query, required_version
from chalicelib.http.routes import (
    AUTH_ADMIN,
    AUTH_BRIDGE,
    AUTH_NONE,
    AUTH_USER,
    NEXT_PAGE,
    RESPONSE_ID,
    RESPONSE_VERSION,
    Link,
    RouteSpec,
    RouteTable,
    link,
    resolve_model,
)
from chalicelib.shared.caches import process_cache

__all__ = [
    "API_TITLE",
    "AUTH_ADMIN",
    "AUTH_BRIDGE",
    "AUTH_NONE",
    "AUTH_USER",
    "INTERNAL_ERROR",
    "NEXT_PAGE",
    "RESPONSE_ID",
    "RESPONSE_VERSION",
    "ROUTES",
    "ApiBlueprint",
    "ApiResponse",
    "Call",
    "Link",
    "M",
    "install_middleware",
    "link",
    "logger",
    "openapi_document",
]

# The route table of every registered blueprint, in one place.
ROUTES = RouteTable()
API_TITLE = "AION API"
INTERNAL_ERROR = {"error": {"code": "internal_error", "message": "Internal server error."}}
_JSON = {"Content-Type": "application/json"}
_PATH_PARAM = re.compile(r"{([a-zA-Z_]+)}")
# Powertools' Logger is built on first use, keeping it (and X-Ray's SDK) out of the import.
logger = observability.lazy_logger


def M(name: str) -> str:
    """A model of ``chalicelib.models`` by ``"module:Class"``, imported on first use."""
    return f"chalicelib.models.{name}"


class _SettingsCors(CORSConfig):
    """CORS whose origin comes from the settings when a response (or ``chalice package``)
    needs it, not when the routes are declared: declaring them is ``import app``, and reading
    the settings there would load pydantic into every Lambda's init."""

    @property
    def allow_origin(self) -> str:
        return get_settings().cors_origin

    @allow_origin.setter
    def allow_origin(self, value: str) -> None:
        """``CORSConfig.__init__`` assigns it; the settings decide, so the value is dropped."""


@process_cache
def _cors() -> CORSConfig:
    return _SettingsCors(
        allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
        expose_headers=["ETag", "Retry-After"],
        max_age=600,
    )


class ApiBlueprint(Blueprint):
    """A Chalice blueprint whose routes are declared once, for serving and for documenting."""

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._specs: list[RouteSpec] = []

    def register(self, app: Chalice, options: dict[str, Any]) -> None:
        for spec in self._specs:
            ROUTES.add(spec)
        super().register(app, options)

    def endpoint(
        self,
        method: str,
        path: str,
        *,
        name: str,
        summary: str,
        tags: tuple[str, ...] = (),
        auth: str = AUTH_USER,
        api_key: bool = True,
        body: Any = None,
        query: Any = None,
        response: Any = None,
        status: int = 200,
        if_match: bool = False,
        idempotency_key: bool = False,
        errors: tuple[int, ...] = (),
        description: str = "",
        documented: bool = True,
        links: tuple[Link, ...] = (),
    ) -> Callable[[Callable[[Call], Any]], Callable[[Call], Any]]:
        """Declare a REST route; the decorated handler is returned unchanged."""
        spec = RouteSpec(
            method=method,
            path=path,
            name=name,
            summary=summary,
            tags=tags,
            auth=auth,
            api_key=api_key,
            body=body,
            query=query,
            response=response,
            status=status,
            if_match=if_match,
            idempotency_key=idempotency_key,
            errors=errors,
            description=description,
            path_params=tuple(_PATH_PARAM.findall(path)),
            documented=documented,
            links=links,
        )
        self._specs.append(spec)

        def decorator(handler: Callable[[Call], Any]) -> Callable[[Call], Any]:
            @functools.wraps(handler)
            def view(**path_params: str) -> Response:
                return self._serve(spec, handler, path_params)

            # Only a route with a body cares about its type; others accept whatever is sent.
            content_types = ["application/json"] if body is not None else ["*/*"]
            self.route(path, methods=[method], cors=_cors(), content_types=content_types)(view)
            return handler

        return decorator

    def _serve(
        self, spec: RouteSpec, handler: Callable[[Call], Any], path_params: dict[str, str]
    ) -> Response:
        try:
            call = self._build_call(spec, path_params)
            return _to_response(spec, handler(call))
        except AppError as exc:
            return Response(
                body=exc.envelope(), status_code=exc.status, headers={**_JSON, **exc.headers}
            )
        except Exception:
            logger.exception("unhandled error", extra={"route": f"{spec.method} {spec.path}"})
            return Response(body=INTERNAL_ERROR, status_code=500, headers=dict(_JSON))

    def _build_call(self, spec: RouteSpec, path_params: dict[str, str]) -> Call:
        current = self.current_request
        query_params: Mapping[str, str] = current.query_params or {}
        raw_body = current.raw_body  # bytes (Chalice types it str | bytes)
        identity = (current.context or {}).get("identity") or {}
        request = ApiRequest(
            method=current.method,
            path=spec.path,
            headers={k.lower(): v for k, v in (current.headers or {}).items()},
            query={k: query_params[k] for k in query_params},
            path_params=path_params,
            body=(raw_body.encode() if isinstance(raw_body, str) else raw_body) or None,
            request_id=str((current.context or {}).get("requestId", "")),
            source_ip=str(identity.get("sourceIp") or ""),
            url_path=str((current.context or {}).get("path") or ""),
        )
        call = Call(request=request, principal=_authenticate(spec, request))
        if spec.query is not None:
            call.query = parse_query(request, resolve_model(spec.query))
        elif request.query:
            raise ValidationFailed(
                f"This endpoint takes no query parameters ({', '.join(request.query)})."
            )
        if spec.body is not None:
            model = resolve_model(spec.body)
            max_bytes = get_settings().max_body_bytes
            call.body = parse_body(request, model, max_bytes=max_bytes)
        if spec.if_match:
            call.version = required_version(request)
        return call


def _authenticate(spec: RouteSpec, request: ApiRequest) -> Any:
    if spec.auth == AUTH_NONE:
        return None
    if spec.auth == AUTH_BRIDGE:
        # Deferred: only the internal route needs it; it loads the secrets client.
        from chalicelib.auth.bridge import verify_bridge_token

        if not verify_bridge_token(request.header("x-bridge-token")):
            raise Unauthorized("A valid X-Bridge-Token is required.")
        return None
    # Deferred: PyJWT, pynamodb and the user model, paid by the first authenticated request.
    from chalicelib.auth.bearer import authenticate_bearer

    # The user's current role, read at each request: never the role a token claims.
    principal = authenticate_bearer(request.header("authorization"))
    if principal.via_api_key and not spec.api_key:
        raise Forbidden(
            "API keys cannot manage API keys or users, nor change a password or role: "
            "sign in to do this.",
            code="api_key_not_allowed",
        )
    if spec.auth == AUTH_ADMIN and not principal.is_admin:
        raise Forbidden("This needs the admin role.")
    logger.append_keys(user_id=principal.user_id)
    return principal


def _to_response(spec: RouteSpec, result: Any) -> Response:
    explicit = result if isinstance(result, ApiResponse) else None
    payload = explicit.body if explicit else result
    status = explicit.status if explicit else spec.status
    headers: dict[str, str | list[str]] = dict(explicit.headers) if explicit else {}
    if payload is None:
        return Response(body="", status_code=204 if status == 200 else status, headers=headers)
    version = getattr(payload, "version", None)
    if isinstance(version, int):
        headers.setdefault("ETag", f'"{version}"')
    body = payload.to_json() if hasattr(payload, "to_json") else payload
    return Response(body=body, status_code=status, headers={**_JSON, **headers})


def _chalice_errors_as_envelope(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice answers 405/415/500 itself ({"Code","Message"}); give them our envelope."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
        message = (
            str(body.get("Message", ""))
            if response.status_code < 500
            else INTERNAL_ERROR["error"]["message"]
        )
        response.body = {"error": {"code": code or "error", "message": message}}
        response.headers.setdefault("Content-Type", "application/json")
    return response


def _settings_first(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """The settings, validated before anything else of a request (the first one loads them:
    chalicelib.config). Bad ones answer the envelope's 500, never a half-configured call, and
    log the error naming each variable; the logger itself needs them, hence stdlib logging."""
    from chalicelib.config import SettingsError  # deferred: the schema, loaded just before

    try:
        get_settings()
    except SettingsError as exc:
        logging.getLogger(__name__).error("%s", exc)
        return Response(body=INTERNAL_ERROR, status_code=500, headers=dict(_JSON))
    return get_response(event)


def install_middleware(app: Chalice) -> None:
    """The settings checked, then Powertools logging, tracing and metrics around every REST
    call, then the envelope."""
    app.register_middleware(_settings_first, "http")
    # ConvertToMiddleware applies each decorator per invocation: Powertools' objects are built
    # on the first request, not at import.
    app.register_middleware(ConvertToMiddleware(observability.with_logger_context), "http")
    app.register_middleware(ConvertToMiddleware(observability.with_tracing), "http")
    app.register_middleware(ConvertToMiddleware(observability.with_metrics), "http")
    app.register_middleware(_chalice_errors_as_envelope, "http")


@process_cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of every registered route (built once per process)."""
    # Deferred: pydantic's schema generation and every model, for one rarely called route.
    from chalicelib.http.openapi import build_document

    return build_document(ROUTES, title=API_TITLE, version=get_settings().version)
