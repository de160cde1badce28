"""``python -m devstack`` as a subprocess: the real app answers over HTTP and WebSocket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_sigterm_stops_the_stack_and_its_children(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    env = {**os.environ, "AION_PORT": "0", "AION_DEV_READY_FILE": str(ready)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack", "--no-executor"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.05)
        info = json.loads(ready.read_text())
        moto_pid = requests.get(info["status_url"], timeout=10).json()["moto"]["pid"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        deadline = time.monotonic() + 5
        while _alive(moto_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(moto_pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
