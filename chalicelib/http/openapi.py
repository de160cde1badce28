"""OpenAPI 3.1 from the route table and the pydantic models (never hand-written).

Request and success-response examples are composed from the models' own examples
(``json_schema_extra={"examples": ...}`` on a model, ``Field(examples=...)`` on a field): a
model without one is built from its fields' examples, defaults and nested models, so a list or
an envelope shows the example of what it holds. A required field with none of these is an
error (``MissingExample``): every documented body has an example.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pydantic.json_schema import models_json_schema

from chalicelib.http.routes import AUTH_ADMIN, AUTH_BRIDGE, AUTH_NONE, RouteTable, resolve_model

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic.json_schema import JsonSchemaMode

_REF = "#/components/schemas/{model}"
# What chalicelib.http.request.required_version reads as a version.
IF_MATCH_PATTERN = r'^(W/)?"?[0-9]{1,12}"?$'
# What chalicelib.api.tasks accepts as an Idempotency-Key, in the characters a header carries.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,126}[!-~])?$"
# Every object id is "<kind>_<hex>" (chalicelib.ids); path parameters say so.
_ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
_ERROR_TEXT = {
    400: "Bad input (the envelope names the field)",
    401: "Missing or invalid credentials",
    403: "Not allowed for this role or credential",
    404: "Not found, or not yours",
    409: "Conflict with the current state",
    412: "If-Match names a stale version",
    413: "Request body too large",
    415: "The body must be application/json",
    428: "If-Match header required",
    429: "Throttled; see Retry-After",
    503: "A dependency is unavailable",
}


_NO_API_KEY = (
    "Needs a login session: an API key is refused (403 `api_key_not_allowed`), so a leaked "
    "key cannot manage keys or users, nor change a password or role."
)


class MissingExample(ValueError):
    """A documented body whose model (or one of its required fields) has no example."""


def example_of(schema: dict[str, Any], schemas: dict[str, Any], where: str = "") -> Any:
    """An example value for ``schema`` (``$ref``s resolved against the components)."""
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return example_of(schemas[name], schemas, name)
    if "examples" in schema:
        return copy.deepcopy(schema["examples"][0])
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            nullable = len(options) < len(schema[key])
            if nullable and not any(_has_example(o, schemas) for o in options):
                return None
            return example_of(options[0], schemas, where)
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        return {
            name: example_of(prop, schemas, f"{where}.{name}")
            for name, prop in schema["properties"].items()
            if name in required or _has_example(prop, schemas)
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, where)]
    if kind == "object":
        return {}  # a free-form mapping
    if not schema:
        return None  # any JSON value
    raise MissingExample(f"{where or 'schema'}: no example, default, enum or model to build one")


def _has_example(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    ref = schema.get("$ref")
    if ref:
        return True  # a nested model always yields one (or MissingExample names its field)
    if any(key in schema for key in ("examples", "const", "enum")):
        return True
    options = schema.get("anyOf") or schema.get("oneOf") or ()
    return any(_has_example(o, schemas) for o in options if o.get("type") != "null")


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

    documented = [spec for spec in routes if spec.documented]
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    modes: tuple[JsonSchemaMode, JsonSchemaMode] = ("validation", "serialization")
    for spec in documented:
        for ref, mode in zip((spec.body, spec.response), modes, strict=True):
            model = resolve_model(ref)
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    refs, defs = models_json_schema(wanted, ref_template=_REF) if wanted else ({}, {})
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = _error_schema()
    schemas = dict(sorted(schemas.items()))  # a stable document: docs/openapi.json is diffed

    operation_ids = {spec.name for spec in documented}
    paths: dict[str, dict[str, Any]] = {}
    for spec in documented:
        operation: dict[str, Any] = {
            "operationId": spec.name,
            "summary": spec.summary,
            "tags": list(spec.tags),
            "parameters": _parameters(spec),
            "responses": {},
        }
        description = spec.description
        if spec.auth not in (AUTH_NONE, AUTH_BRIDGE) and not spec.api_key:
            description = " ".join(filter(None, (description, _NO_API_KEY)))
        if description:
            operation["description"] = description
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
                "content": {"application/json": _media(refs[(body, "validation")], schemas, spec)},
            }
        success: dict[str, Any] = {"description": "Success"}
        response = resolve_model(spec.response)
        if response is not None:
            schema = refs[(response, "serialization")]
            success["content"] = {"application/json": _media(schema, schemas, spec)}
        # Every answer with a version carries it as an ETag too (chalicelib.api.rest): what
        # If-Match takes back.
        if spec.if_match or (response is not None and "version" in response.model_fields):
            success["headers"] = {
                "ETag": {
                    "description": 'The version, quoted: `"3"`',
                    "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
                }
            }
        if spec.links:
            success["links"] = _links(spec, operation_ids)
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
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "An access token (a JWT from POST /auth/login, 15 minutes) or an API key "
                        "(aion_..., from POST /api-keys). Either acts with the user's current "
                        "role."
                    ),
                },
                "bridgeToken": {"type": "apiKey", "in": "header", "name": "X-Bridge-Token"},
            },
        },
    }


def _links(spec: Any, operation_ids: set[str]) -> dict[str, Any]:
    """The success answer's OpenAPI links, named after their target operations."""
    links: dict[str, Any] = {}
    for link in spec.links:
        if link.operation not in operation_ids:
            raise ValueError(f"{spec.method} {spec.path}: link to unknown {link.operation!r}")
        name = link.operation
        n = 2
        while name in links:  # a second link to the same operation (other inputs)
            name = f"{link.operation}{n}"
            n += 1
        links[name] = link.to_openapi()
    return links


def _media(schema: dict[str, Any], schemas: dict[str, Any], spec: Any) -> dict[str, Any]:
    where = f"{spec.method} {spec.path}"
    try:
        example = example_of(schema, schemas, where)
    except MissingExample as exc:
        raise MissingExample(f"{where}: {exc}") from None
    return {"schema": schema, "example": example}


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
                "description": "The version being updated (as returned in `version`/ETag): "
                '`3`, `"3"` or `W/"3"`. Another value is 412, like a stale version (so any '
                "string is a valid If-Match: the answer, not the syntax, says whether it holds).",
                "schema": {"type": "string"},
            }
        )
    if spec.idempotency_key:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "1-128 printable characters (400 otherwise); the same key "
                "with the same body answers the same task.",
                "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
            }
        )
    return params
