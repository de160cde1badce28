"""OpenAPI 3.1 from the route table and the pydantic models (never hand-written)."""

from __future__ import annotations

from typing import Any

from chalicelib.http.routes import AUTH_ADMIN, AUTH_BRIDGE, AUTH_NONE, RouteTable, resolve_model

_REF = "#/components/schemas/{model}"
# Every object id is "<kind>_<hex>" (chalicelib.ids); path parameters say so.
_ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
_ERROR_TEXT = {
    400: "Bad input (the envelope names the field)",
    401: "Missing or invalid credentials",
    403: "Not allowed for this role",
    404: "Not found, or not yours",
    409: "Conflict with the current state",
    412: "If-Match names a stale version",
    413: "Request body too large",
    415: "The body must be application/json",
    428: "If-Match header required",
    429: "Throttled; see Retry-After",
    503: "A dependency is unavailable",
}


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {},
                },
            }
        },
    }


def build_document(routes: RouteTable, *, title: str, version: str) -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    documented = [spec for spec in routes if spec.documented]
    wanted: list[tuple[type, str]] = []
    for spec in documented:
        for ref, mode in ((spec.body, "validation"), (spec.response, "serialization")):
            model = resolve_model(ref)
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    refs, defs = models_json_schema(wanted, ref_template=_REF) if wanted else ({}, {})
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = _error_schema()

    paths: dict[str, dict[str, Any]] = {}
    for spec in documented:
        operation: dict[str, Any] = {
            "operationId": spec.name,
            "summary": spec.summary,
            "tags": list(spec.tags),
            "parameters": _parameters(spec),
            "responses": {},
        }
        if spec.description:
            operation["description"] = spec.description
        if spec.auth == AUTH_BRIDGE:
            operation["security"] = [{"bridgeToken": []}]
        elif spec.auth != AUTH_NONE:
            operation["security"] = [{"bearerAuth": []}]
        else:
            operation["security"] = []
        body = resolve_model(spec.body)
        if body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(body, "validation")]}},
            }
        success: dict[str, Any] = {"description": "Success"}
        response = resolve_model(spec.response)
        if response is not None:
            success["content"] = {"application/json": {"schema": refs[(response, "serialization")]}}
        if spec.if_match:
            success["headers"] = {"ETag": {"schema": {"type": "string"}}}
        operation["responses"][str(spec.status)] = success
        statuses = spec.error_statuses()
        if spec.auth == AUTH_ADMIN and 403 not in statuses:
            statuses.append(403)
        for status in statuses:
            operation["responses"][str(status)] = {
                "description": _ERROR_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
            }
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "bridgeToken": {"type": "apiKey", "in": "header", "name": "X-Bridge-Token"},
            },
        },
    }


def _parameters(spec: Any) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": dict(_ID_SCHEMA)}
        for name in spec.path_params
    ]
    query = resolve_model(spec.query)
    if query is not None:
        schema = query.model_json_schema(ref_template=_REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if spec.if_match:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": "The version being updated (as returned in `version`/ETag).",
                "schema": {"type": "string"},
            }
        )
    if spec.idempotency_key:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 128},
            }
        )
    return params
