"""``python -m devstack`` as a subprocess: the real app answers over HTTP and WebSocket."""

from __future__ import annotations

import json
from pathlib import Path
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


def test_unknown_paths_and_methods_answer_in_the_error_envelope(devstack: dict[str, Any]) -> None:
    missing = requests.get(f"{devstack['api_url']}/no/such/thing", timeout=30)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = requests.delete(f"{devstack['api_url']}/health", timeout=30)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]


def test_a_body_that_is_not_utf8_is_a_400_before_the_app(devstack: dict[str, Any]) -> None:
    reply = requests.post(
        f"{devstack['api_url']}/auth/login",
        data=b'{"email": "admin@aion.local", "password": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_body"


def test_the_banner_says_where_everything_is_and_the_log_stays_quiet(
    devstack: dict[str, Any],
) -> None:
    for _ in range(3):
        requests.get(f"{devstack['api_url']}/health", timeout=30)
    log = Path(devstack["log_path"]).read_text(encoding="utf-8", errors="replace")
    assert f"console    {devstack['base_url']}" in log
    assert f"REST API   {devstack['api_url']}   (reference: {devstack['api_url']}/docs)" in log
    assert f"WebSocket  {devstack['ws_url']}" in log
    assert f"export AWS_ENDPOINT_URL={devstack['moto_url']} AWS_REGION=us-east-1" in log
    assert "export AWS_ACCESS_KEY_ID=devstack AWS_SECRET_ACCESS_KEY=devstack" in log
    assert f"AION_TABLE_PREFIX={devstack['table_prefix']}" in log
    assert "LLM route  off" in log
    assert "AION_LLM_ENDPOINT=http://127.0.0.1:11434/v1" in log
    assert "`make dev-reset` wipes it" in log
    # Quiet by default: no line per request, no INFO lines at all.
    assert " GET /health" not in log
    assert " INFO " not in log


def test_stack_json_names_the_running_stack_without_secrets(devstack: dict[str, Any]) -> None:
    stack_file = json.loads((Path(devstack["state_dir"]) / "stack.json").read_text())
    assert stack_file["moto_url"] == devstack["moto_url"]
    assert stack_file["pid"] == devstack["pid"]
    assert "admin_password" not in stack_file
    assert devstack["admin_password"] not in json.dumps(stack_file)
