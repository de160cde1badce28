"""``python -m devstack`` as a subprocess: the real app answers over HTTP and WebSocket."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.conftest import REPO

pytestmark = pytest.mark.e2e


def test_health_through_the_rest_emulator(devstack: dict[str, Any]) -> None:
    reply = requests.get(f"{devstack['api_url']}/health", timeout=30)
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] in {"ok", "degraded"}
    assert body["checks"]["dynamodb"] == "ok"


def test_config_js_points_at_this_stack(devstack: dict[str, Any]) -> None:
    reply = requests.get(f"{devstack['base_url']}config.js", timeout=10)
    assert reply.status_code == 200
    assert json.dumps(devstack["api_url"]) in reply.text
    assert json.dumps(devstack["ws_url"]) in reply.text


def test_the_admin_can_log_in(devstack: dict[str, Any]) -> None:
    reply = requests.post(
        f"{devstack['api_url']}/auth/login",
        json={"email": devstack["admin_email"], "password": devstack["admin_password"]},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["user"]["role"] == "admin"


def test_websocket_without_token_is_refused_by_the_apps_connect_handler(
    devstack: dict[str, Any],
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(devstack["ws_url"], open_timeout=30)
    assert refused.value.response.status_code == 401


def test_status_reports_the_children(devstack: dict[str, Any]) -> None:
    status = requests.get(devstack["status_url"], timeout=10).json()
    assert status["moto"]["pid"] > 0
    if (REPO / "executor_container" / "__main__.py").exists():
        assert status["executor"]["pid"] > 0
