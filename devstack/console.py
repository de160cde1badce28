"""The console: ``frontend/`` served as static files at ``/``, plus a generated ``config.js``.

``/config.js`` sets ``window.AION_CONFIG = {apiUrl, wsUrl}`` (a classic script; also fine as a
side-effect ``import``); ``/config.json`` carries the same object. URLs follow the Host the
browser used (127.0.0.1 or localhost), so the console's calls stay same-origin.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from aiohttp import web

_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain",
}


def client_config(request: web.Request, *, api_prefix: str, ws_path: str) -> dict[str, str]:
    host = request.host
    return {"apiUrl": f"http://{host}{api_prefix}", "wsUrl": f"ws://{host}{ws_path}"}


class Console:
    def __init__(self, root: Path, *, api_prefix: str = "/api", ws_path: str = "/ws") -> None:
        self.root = root.resolve()
        self.api_prefix = api_prefix
        self.ws_path = ws_path

    def register(self, web_app: web.Application) -> None:
        web_app.router.add_get("/config.js", self.config_js)
        web_app.router.add_get("/config.json", self.config_json)
        web_app.router.add_get("/{path:.*}", self.static)

    async def config_js(self, request: web.Request) -> web.Response:
        config = client_config(request, api_prefix=self.api_prefix, ws_path=self.ws_path)
        body = f"window.AION_CONFIG = Object.freeze({json.dumps(config)});\n"
        return web.Response(
            text=body, content_type="text/javascript", headers={"Cache-Control": "no-store"}
        )

    async def config_json(self, request: web.Request) -> web.Response:
        config = client_config(request, api_prefix=self.api_prefix, ws_path=self.ws_path)
        return web.json_response(config, headers={"Cache-Control": "no-store"})

    async def static(self, request: web.Request) -> web.StreamResponse:
        relative = request.match_info["path"] or "index.html"
        target = (self.root / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(self.root) or not target.is_file():
            if relative == "index.html":
                return web.Response(status=404, text=f"No console in {self.root} yet.\n")
            raise web.HTTPNotFound()
        content_type = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
        return web.FileResponse(
            target,
            headers={
                "Content-Type": content_type or "application/octet-stream",
                "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
            },
        )
