"""API Gateway REST API (v1 proxy integration) in front of a Chalice app.

An HTTP request under ``/api`` becomes the event API Gateway would send (resource matched
against ``app.routes`` with API Gateway's precedence, path parameters, single- and multi-value
headers and query strings, base64 body for binary media types, requestContext) and the Lambda's
``{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`` becomes the HTTP response.
Gateway-level failures answer as AION's API Gateway is configured to (gateway responses in the
CDK app): in AION's error envelope ``{"error": {"code", "message"}}`` with API Gateway's
``x-amzn-ErrorType`` - 404 ``not_found`` for an unknown path (API Gateway's default would be
403 "Missing Authentication Token"), 405 ``method_not_allowed`` (with ``Allow``) for a known
path and another method, 400 ``invalid_body`` for a text body that is not UTF-8 (never handed
to the app as U+FFFD replacement characters), 413 over 10 MB, 502 for a crashed handler, 504
after 29 s.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from fnmatch import fnmatch
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from devstack.lambda_runtime import ACCOUNT_ID, REST_FUNCTION, Invoker

log = logging.getLogger("devstack.rest")

INTEGRATION_TIMEOUT_S = 29.0
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
REST_API_ID = "devstackapi"


@dataclass(frozen=True)
class RouteMatch:
    resource: str
    path_params: dict[str, str]


class RouteTable:
    """Matches concrete paths to Chalice resources, literal segments beating ``{params}``."""

    def __init__(self, resources: list[str]) -> None:
        self._routes = [(r, r.strip("/").split("/") if r != "/" else []) for r in resources]

    def match(self, path: str) -> RouteMatch | None:
        """Match a raw (still percent-encoded) path; parameters come back decoded."""
        if path != "/" and path.endswith("/"):
            path = path[:-1]  # API Gateway ignores one trailing slash
        parts = path.strip("/").split("/") if path.strip("/") else []
        best: tuple[tuple[int, ...], RouteMatch] | None = None
        for resource, segments in self._routes:
            if len(segments) != len(parts):
                continue
            params: dict[str, str] = {}
            rank: list[int] = []
            for want, got in zip(segments, parts, strict=True):
                if want.startswith("{") and want.endswith("}"):
                    params[want[1:-1]] = unquote(got)
                    rank.append(1)
                elif want == unquote(got):
                    rank.append(0)
                else:
                    break
            else:
                key = tuple(rank)
                if best is None or key < best[0]:
                    best = (key, RouteMatch(resource, params))
        return best[1] if best else None


def _multi(items: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in items:
        single[key] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(key, []).append(value)
    return single, multi


def request_time(epoch_s: float) -> str:
    """API Gateway's ``requestTime`` format, e.g. ``25/Nov/2026:23:41:05 +0000``."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_s))


class InvalidTextBody(ValueError):
    """A body API Gateway would have to pass as text, that is not UTF-8."""


def build_rest_event(
    *,
    method: str,
    path: str,
    match: RouteMatch,
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
    body: bytes,
    binary_types: list[str],
    stage: str,
    source_ip: str,
    domain_name: str,
) -> dict[str, Any]:
    single_headers, multi_headers = _multi(headers)
    single_query, multi_query = _multi(query)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    mime = content_type.split(";")[0].strip().lower()
    is_binary = bool(body) and any(fnmatch(mime, pattern) for pattern in binary_types)
    if not body:
        body_value: str | None = None
    elif is_binary:
        body_value = base64.b64encode(body).decode("ascii")
    else:
        try:
            body_value = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidTextBody(f"byte {exc.start} is not UTF-8") from None
    now = time.time()
    request_id = str(uuid.uuid4())
    user_agent = single_headers.get("User-Agent") or single_headers.get("user-agent")
    return {
        "resource": match.resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": match.path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, match.resource).hex[:6],
            "resourcePath": match.resource,
            "httpMethod": method,
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode(),
            "requestTime": request_time(now),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": domain_name.split(".")[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
            },
            "domainName": domain_name,
            "apiId": REST_API_ID,
        },
        "body": body_value,
        "isBase64Encoded": is_binary,
    }


def gateway_headers(request: web.Request) -> list[tuple[str, str]]:
    """The client's headers plus the ones API Gateway adds (forwarding info, trace id)."""
    client_ip = request.remote or "127.0.0.1"
    forwarded = request.headers.get("X-Forwarded-For")
    port = str(request.url.port or 80)
    added = {
        "X-Forwarded-For": f"{forwarded}, {client_ip}" if forwarded else client_ip,
        "X-Forwarded-Port": port,
        "X-Forwarded-Proto": request.scheme,
        "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
    }
    kept = [(k, v) for k, v in request.headers.items() if k not in added]
    return kept + list(added.items())


def gateway_error(
    status: int,
    code: str,
    message: str,
    error_type: str,
    request_id: str,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error API Gateway answers itself, in AION's envelope."""
    return web.json_response(
        {"error": {"code": code, "message": message}},
        status=status,
        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": request_id, **(headers or {})},
    )


def lambda_response_to_http(result: Any, request_id: str) -> web.Response:
    """Map a proxy integration result to HTTP; a malformed one is API Gateway's 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode", 200), int):
        log.error("malformed Lambda proxy response: %r", result)
        return gateway_error(
            502, "bad_gateway", "Internal server error.", "InternalServerErrorException", request_id
        )
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = web.Response(status=int(result.get("statusCode", 200)), body=payload)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(key, str(value))
    for key, value in (result.get("headers") or {}).items():
        if key not in (result.get("multiValueHeaders") or {}):
            response.headers[key] = str(value)
    response.headers["x-amzn-RequestId"] = request_id
    response.headers.setdefault("Date", formatdate(usegmt=True))
    return response


class RestGateway:
    """Serves ``{prefix}/...`` by invoking the Chalice app (``app(event, context)``)."""

    def __init__(self, app: Any, invoker: Invoker, *, prefix: str = "/api", stage: str = "api"):
        self.app = app
        self.invoker = invoker
        self.prefix = prefix.rstrip("/")
        self.stage = stage

    def register(self, web_app: web.Application) -> None:
        web_app.router.add_route("*", self.prefix + "{tail:(/.*)?}", self.handle)

    def _cors_preflight(self, resource: str) -> web.Response | None:
        """API Gateway's mock OPTIONS integration that Chalice adds for ``cors=`` routes."""
        entries = self.app.routes[resource]
        cors = next((e.cors for e in entries.values() if e.cors), None)
        if cors is None:
            return None
        headers = dict(cors.get_access_control_headers())
        headers["Access-Control-Allow-Methods"] = ",".join(sorted({*entries, "OPTIONS"}))
        return web.Response(status=200, headers=headers)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        raw_path = request.rel_url.raw_path[len(self.prefix) :] or "/"
        path = unquote(raw_path)
        # Built per request (cheap): routes registered after start are served too.
        match = RouteTable(list(self.app.routes)).match(raw_path)
        if match is None:
            return gateway_error(
                404,
                "not_found",
                f"No API resource at {path}.",
                "MissingAuthenticationTokenException",
                request_id,
            )
        methods = self.app.routes[match.resource]
        if request.method == "OPTIONS" and "OPTIONS" not in methods:
            preflight = self._cors_preflight(match.resource)
            if preflight is not None:
                return preflight
        if request.method not in methods:
            allowed = ", ".join(sorted({*methods, "OPTIONS"}))
            return gateway_error(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {match.resource} (allowed: {allowed}).",
                "MissingAuthenticationTokenException",
                request_id,
                headers={"Allow": allowed},
            )
        too_long = (
            413,
            "payload_too_large",
            "The request body is over 10 MB.",
            "RequestTooLongException",
            request_id,
        )
        if request.content_length and request.content_length > MAX_PAYLOAD_BYTES:
            return gateway_error(*too_long)
        body = await request.read()
        if len(body) > MAX_PAYLOAD_BYTES:
            return gateway_error(*too_long)
        try:
            event = build_rest_event(
                method=request.method,
                path=path,
                match=match,
                headers=gateway_headers(request),
                query=list(request.query.items()),
                body=body,
                binary_types=list(self.app.api.binary_types),
                stage=self.stage,
                source_ip=request.remote or "127.0.0.1",
                domain_name=request.host,
            )
        except InvalidTextBody as exc:
            return gateway_error(
                400,
                "invalid_body",
                f"The request body is not valid UTF-8 text ({exc}).",
                "BadRequestException",
                request_id,
            )
        event["requestContext"]["requestId"] = request_id
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self.invoker.pool, self.invoker.invoke, REST_FUNCTION, self.app, event
        )
        try:
            result = await asyncio.wait_for(asyncio.shield(future), INTEGRATION_TIMEOUT_S)
        except TimeoutError:
            log.error(
                "%s %s: no response within %.0f s", request.method, path, INTEGRATION_TIMEOUT_S
            )
            return gateway_error(
                504,
                "gateway_timeout",
                "Endpoint request timed out.",
                "IntegrationTimeout",
                request_id,
            )
        except Exception:
            log.exception("%s %s: the Lambda raised", request.method, path)
            return gateway_error(
                502,
                "bad_gateway",
                "Internal server error.",
                "InternalServerErrorException",
                request_id,
            )
        response = lambda_response_to_http(result, request_id)
        log.log(
            logging.WARNING if response.status >= 500 else logging.INFO,
            "%s %s -> %d (%.0f ms)",
            request.method,
            path,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response
