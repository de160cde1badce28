"""API Gateway WebSocket API and its management API (``@connections``), for a Chalice app.

``/ws``: the handshake waits for the ``$connect`` handler and is refused with its status when
that is not 200; each message is a ``$default`` invocation (one at a time per connection, in
order); closing runs ``$disconnect``. A failing ``$default`` makes the client receive API
Gateway's ``{"message": "Internal server error", ...}`` frame.

``/ws-mgmt/@connections/{id}``: what boto3's ``apigatewaymanagementapi`` client calls (SigV4
signed; the signature itself is not checked). POST sends the body to the socket, GET describes
the connection, DELETE closes it. Unknown, not-yet-connected (``$connect`` still running) and
closed connections answer 410 ``GoneException`` - boto3 raises ``client.exceptions.
GoneException``, Chalice ``WebsocketDisconnectedError``. Limits as in AWS: 128 KB per message
(1009 close for clients, 413 for posts) and a 10 minute idle timeout.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from devstack.lambda_runtime import Invoker
from devstack.rest import request_time

log = logging.getLogger("devstack.ws")

MAX_MESSAGE_BYTES = 128 * 1024
IDLE_TIMEOUT_S = 600.0
# Chalice deploys each WebSocket handler as its own function under these names (the keys of
# ``lambda_functions`` in .chalice/config.json); $default and any custom route is the message one.
FUNCTION_NAMES = {
    "$connect": "websocket_connect",
    "$disconnect": "websocket_disconnect",
    "$default": "websocket_message",
}


def new_connection_id() -> str:
    """Shaped like API Gateway's ids (16 chars, base64 with one ``=``) to exercise encoding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Connection:
    id: str
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)
    ws: web.WebSocketResponse | None = None  # set once $connect returned 200 and we upgraded
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def is_open(self) -> bool:
        return self.ws is not None and not self.ws.closed


class WebSocketGateway:
    """The WebSocket API plus its management API, invoking the app's WS handlers."""

    def __init__(
        self,
        app: Any,
        invoker: Invoker,
        *,
        api_id: str,
        stage: str,
        region: str,
        path: str = "/ws",
        mgmt_prefix: str = "/ws-mgmt",
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.invoker = invoker
        self.api_id = api_id
        self.stage = stage
        self.domain_name = f"{api_id}.execute-api.{region}.amazonaws.com"
        self.path = path
        self.mgmt_prefix = mgmt_prefix.rstrip("/")
        self.idle_timeout_s = idle_timeout_s
        self.connections: dict[str, Connection] = {}
        self.counters: Counter[str] = Counter()

    def register(self, web_app: web.Application) -> None:
        web_app.router.add_get(self.path, self.handle_socket)
        route = self.mgmt_prefix + "/@connections/{connection_id}"
        web_app.router.add_post(route, self.mgmt_post)
        web_app.router.add_get(route, self.mgmt_get)
        web_app.router.add_delete(route, self.mgmt_delete)

    # -- invoking the app -------------------------------------------------------------------

    def _handler(self, route_key: str) -> tuple[str, Any] | None:
        """(Lambda function name as Chalice deploys it, the wrapped handler) for a route."""
        config = self.app.websocket_handlers.get(route_key)
        if config is None:
            return None
        function = FUNCTION_NAMES.get(route_key, "websocket_message")
        return function, self.app.handler_map[config.name]

    def _event(self, route_key: str, event_type: str, conn: Connection, **extra: Any) -> dict:
        now = time.time()
        context = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:12]).decode(),
            "requestTime": request_time(now),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": int(conn.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "requestId": str(uuid.uuid4()),
            "domainName": self.domain_name,
            "connectionId": conn.id,
            "apiId": self.api_id,
        }
        context.update(extra.pop("request_context", {}))
        return {"requestContext": context, "isBase64Encoded": False, **extra}

    async def _invoke(self, route_key: str, event: dict) -> Any:
        found = self._handler(route_key)
        if found is None:
            return None
        name, handler = found
        self.counters[f"invoke:{route_key}"] += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.invoker.pool, self.invoker.invoke, name, handler, event
        )

    # -- the WebSocket API ------------------------------------------------------------------

    async def handle_socket(self, request: web.Request) -> web.StreamResponse:
        conn = Connection(
            id=new_connection_id(),
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""),
        )
        self.connections[conn.id] = conn
        try:
            refused = await self._connect(request, conn)
        except Exception:
            self.connections.pop(conn.id, None)
            log.exception("$connect raised")
            return web.json_response({"message": "Internal server error"}, status=500)
        if refused is not None:
            self.connections.pop(conn.id, None)
            return refused

        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, autoping=True)
        try:
            await ws.prepare(request)
            conn.ws = ws  # from here on posts reach the client
            self.counters["connected"] += 1
            await self._message_loop(conn, ws)
        finally:
            self.connections.pop(conn.id, None)  # posts now answer 410
            if conn.ws is not None and not ws.closed:
                await ws.close()
            await self._disconnect(conn, ws)
        return ws

    async def _connect(self, request: web.Request, conn: Connection) -> web.Response | None:
        """Run ``$connect``; a refusal response when it did not answer 200."""
        headers = list(request.headers.items())
        query = list(request.query.items())
        event = self._event(
            "$connect",
            "CONNECT",
            conn,
            headers=dict(headers),
            multiValueHeaders=_multi(headers),
            queryStringParameters=dict(query) or None,
            multiValueQueryStringParameters=_multi(query) or None,
        )
        result = await self._invoke("$connect", event)
        status = int((result or {}).get("statusCode", 200))
        if status == 200:
            return None
        self.counters["refused"] += 1
        body = (result or {}).get("body") or ""
        return web.Response(status=status, text=body if isinstance(body, str) else "")

    async def _message_loop(self, conn: Connection, ws: web.WebSocketResponse) -> None:
        while True:
            try:
                msg = await ws.receive(timeout=self.idle_timeout_s)
            except TimeoutError:
                await ws.close(code=1001, message=b"Going away")
                return
            if msg.type == WSMsgType.TEXT:
                body, is_b64 = msg.data, False
            elif msg.type == WSMsgType.BINARY:
                body, is_b64 = base64.b64encode(msg.data).decode("ascii"), True
            else:
                return  # close, closing, closed or error
            conn.last_active_at = time.time()
            await self._message(conn, ws, body, is_b64)

    async def _message(
        self, conn: Connection, ws: web.WebSocketResponse, body: str, is_b64: bool
    ) -> None:
        request_id = str(uuid.uuid4())
        event = self._event(
            "$default",
            "MESSAGE",
            conn,
            body=body,
            isBase64Encoded=is_b64,
            request_context={"messageId": uuid.uuid4().hex[:16], "requestId": request_id},
        )
        if self._handler("$default") is None:
            error = {"message": "Forbidden", "connectionId": conn.id, "requestId": request_id}
        else:
            try:
                await self._invoke("$default", event)
                return
            except Exception:
                log.exception("$default raised")
                message = "Internal server error"
                error = {"message": message, "connectionId": conn.id, "requestId": request_id}
        if not ws.closed:
            async with conn.send_lock:
                await ws.send_str(json.dumps(error))

    async def _disconnect(self, conn: Connection, ws: web.WebSocketResponse) -> None:
        event = self._event(
            "$disconnect",
            "DISCONNECT",
            conn,
            headers={"Host": self.domain_name, "x-api-key": "", "X-Forwarded-For": ""},
            request_context={
                "disconnectStatusCode": ws.close_code or 1005,
                "disconnectReason": "",
            },
        )
        try:
            await self._invoke("$disconnect", event)
        except Exception:
            log.exception("$disconnect raised")

    async def close_all(self) -> None:
        """Close every socket (shutdown); each one's ``$disconnect`` runs as usual."""
        for conn in list(self.connections.values()):
            if conn.ws is not None and not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"Going away")

    # -- the management API -----------------------------------------------------------------

    def _open_or_gone(self, request: web.Request) -> Connection | web.Response:
        if not request.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
            return _mgmt_error(403, "ForbiddenException", "Missing Authentication Token")
        conn = self.connections.get(request.match_info["connection_id"])
        if conn is None or not conn.is_open:
            self.counters["mgmt_gone"] += 1
            return _mgmt_error(410, "GoneException", None)
        return conn

    async def mgmt_post(self, request: web.Request) -> web.Response:
        self.counters["mgmt_post"] += 1
        found = self._open_or_gone(request)
        if isinstance(found, web.Response):
            return found
        data = await request.read()
        if len(data) > MAX_MESSAGE_BYTES:
            return _mgmt_error(413, "PayloadTooLargeException", "Message too long")
        ws = found.ws
        assert ws is not None
        try:
            async with found.send_lock:
                try:
                    await ws.send_str(data.decode("utf-8"))
                except UnicodeDecodeError:
                    await ws.send_bytes(data)
        except (ConnectionError, RuntimeError):
            self.counters["mgmt_gone"] += 1
            return _mgmt_error(410, "GoneException", None)
        return web.Response(status=200)

    async def mgmt_get(self, request: web.Request) -> web.Response:
        found = self._open_or_gone(request)
        if isinstance(found, web.Response):
            return found
        return web.json_response(
            {
                "connectedAt": _iso(found.connected_at),
                "identity": {"sourceIp": found.source_ip, "userAgent": found.user_agent},
                "lastActiveAt": _iso(found.last_active_at),
            }
        )

    async def mgmt_delete(self, request: web.Request) -> web.Response:
        self.counters["mgmt_delete"] += 1
        found = self._open_or_gone(request)
        if isinstance(found, web.Response):
            return found
        assert found.ws is not None
        await found.ws.close(code=1000, message=b"")
        return web.Response(status=204)


def _multi(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in items:
        out.setdefault(key, []).append(value)
    return out


def _mgmt_error(status: int, error_type: str, message: str | None) -> web.Response:
    """An error as API Gateway sends it; botocore reads the type from ``x-amzn-ErrorType``."""
    return web.json_response(
        {"message": message},
        status=status,
        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
    )
