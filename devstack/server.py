"""One aiohttp server for everything: REST under /api, WebSocket + management API, console.

``build_web_app`` wires the emulators around a Chalice app; ``BackgroundServer`` runs an
aiohttp application on its own event loop thread (tests and benchmarks drive the stack from
synchronous code that way).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from devstack.console import Console
from devstack.lambda_runtime import Invoker
from devstack.rest import RestGateway
from devstack.websocket import WebSocketGateway


@dataclass
class Gateways:
    web_app: web.Application
    rest: RestGateway | None
    ws: WebSocketGateway | None


def build_web_app(
    app: Any | None,
    invoker: Invoker,
    *,
    region: str,
    ws_api_id: str,
    ws_stage: str,
    frontend_dir: Path | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
    idle_timeout_s: float | None = None,
) -> Gateways:
    """The aiohttp application; ``app`` None serves 503 on /api and /ws (no app.py yet)."""
    web_app = web.Application(client_max_size=10 * 1024 * 1024 + 1)
    rest = ws = None
    if app is not None:
        rest = RestGateway(app, invoker)
        rest.register(web_app)
        kwargs: dict[str, Any] = {"idle_timeout_s": idle_timeout_s} if idle_timeout_s else {}
        ws = WebSocketGateway(
            app, invoker, api_id=ws_api_id, stage=ws_stage, region=region, **kwargs
        )
        ws.register(web_app)
        gateway = ws

        async def close_sockets(_: web.Application) -> None:
            await gateway.close_all()

        web_app.on_shutdown.append(close_sockets)
    else:

        async def no_app(_: web.Request) -> web.Response:
            return web.json_response({"message": "app.py is not there yet"}, status=503)

        web_app.router.add_route("*", "/api{tail:(/.*)?}", no_app)
        web_app.router.add_get("/ws", no_app)
    if status is not None:

        async def status_view(_: web.Request) -> web.Response:
            return web.json_response(status())

        web_app.router.add_get("/_devstack/status", status_view)
    if frontend_dir is not None:
        Console(frontend_dir).register(web_app)
    return Gateways(web_app, rest, ws)


def bind(port: int, host: str = "127.0.0.1") -> socket.socket:
    """Bind first (port 0 = any free one), so the port is known before anything else starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(web_app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


class BackgroundServer:
    """Runs an aiohttp app on a private event loop in a daemon thread."""

    def __init__(self, web_app: web.Application, *, port: int = 0) -> None:
        self.web_app = web_app
        self.sock = bind(port)
        self.port = int(self.sock.getsockname()[1])
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="aiohttp", daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> BackgroundServer:
        self._thread.start()
        self._runner = self.call(serve(self.web_app, self.sock))
        return self

    def call(self, coro: Awaitable[Any], timeout_s: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self._runner is not None:
            self.call(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
