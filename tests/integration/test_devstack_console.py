"""The console: static files from a frontend directory and the generated config.js."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from aiohttp import web

from devstack.console import Console
from devstack.server import BackgroundServer


@pytest.fixture
def console(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "frontend"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>AION</title>")
    (root / "js" / "app.js").write_text("export const x = 1;")
    (tmp_path / "secret.txt").write_text("outside")
    web_app = web.Application()
    Console(root).register(web_app)
    server = BackgroundServer(web_app).start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_config_js_names_the_api_and_websocket_urls_of_the_host_used(console: str) -> None:
    reply = requests.get(f"{console}/config.js", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/javascript")
    prefix, _, rest = reply.text.partition("Object.freeze(")
    assert prefix == "window.AION_CONFIG = "
    config = json.loads(rest.rstrip().removesuffix(");"))
    host = console.removeprefix("http://")
    assert config == {"apiUrl": f"http://{host}/api", "wsUrl": f"ws://{host}/ws"}
    port = host.split(":")[1]
    by_name = requests.get(f"http://localhost:{port}/config.json", timeout=10).json()
    assert by_name == {
        "apiUrl": f"http://localhost:{port}/api",
        "wsUrl": f"ws://localhost:{port}/ws",
    }


def test_static_files_with_types(console: str) -> None:
    index = requests.get(f"{console}/", timeout=10)
    assert index.status_code == 200
    assert "AION" in index.text
    assert index.headers["Content-Type"].startswith("text/html")
    script = requests.get(f"{console}/js/app.js", timeout=10)
    assert script.headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/nope.js"])
def test_nothing_outside_the_frontend_or_missing_is_served(console: str, path: str) -> None:
    assert requests.get(console + path, timeout=10).status_code == 404
