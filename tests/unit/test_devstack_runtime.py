"""Dev stack pieces that need no server: Lambda context/settings, environment, passwords."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from chalice import Chalice

from devstack import env as stack_env
from devstack import lambda_runtime
from devstack.lambda_runtime import (
    LambdaContext,
    load_function_settings,
    make_thread_safe,
    point_websocket_api_at,
)


def test_context_counts_down_from_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    # The module's own clock only (time.monotonic itself stays real for everything else).
    monkeypatch.setattr(lambda_runtime, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    context = LambdaContext(
        function_name="f", memory_limit_in_mb=256, timeout_s=2, region="eu-west-1"
    )
    assert context.get_remaining_time_in_millis() == 2000
    clock[0] += 0.5
    assert context.get_remaining_time_in_millis() == 1500
    clock[0] += 5
    assert context.get_remaining_time_in_millis() == 0  # never negative
    assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:f"
    assert context.aws_request_id != LambdaContext("f", 1, 1, "r").aws_request_id


def test_function_settings_follow_chalice_precedence(tmp_path: Path) -> None:
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(
        json.dumps(
            {
                "lambda_timeout": 30,
                "stages": {
                    "dev": {
                        "lambda_memory_size": 512,
                        "lambda_functions": {"dispatch": {"lambda_timeout": 300}},
                    }
                },
            }
        )
    )
    settings = load_function_settings(tmp_path)
    assert settings["dispatch"].timeout_s == 300
    assert settings["dispatch"].memory_mb == 512
    assert settings["*"].timeout_s == 30
    assert load_function_settings(tmp_path / "missing") == {}


def test_thread_safe_app_keeps_requests_per_thread() -> None:
    import threading

    app = Chalice(app_name="t")
    make_thread_safe(app)
    app.current_request = "main"
    seen = []
    thread = threading.Thread(target=lambda: seen.append(app.current_request))
    thread.start()
    thread.join()
    assert seen == [None]
    assert app.current_request == "main"
    make_thread_safe(app)  # idempotent
    assert isinstance(app, Chalice)


def test_websocket_api_endpoint_is_preset_and_sticks() -> None:
    app = Chalice(app_name="t")
    point_websocket_api_at(app, "http://127.0.0.1:1/ws-mgmt")
    # What every WebSocket handler does first must not override the preset endpoint.
    app.websocket_api.configure_from_api_id("abc123", "ws")
    assert app.websocket_api._endpoint == "http://127.0.0.1:1/ws-mgmt"


def test_app_environment_points_everything_at_the_stack() -> None:
    urls = stack_env.StackUrls("127.0.0.1", 8123)
    kept = {"AION_JWT_SECRET": "j" * 48, "AION_BRIDGE_TOKEN": "b" * 32}
    env = stack_env.app_environment(
        {
            "AWS_PROFILE": "real",
            "AION_JWT_SECRET_ARN": "arn:x",
            "AION_JWT_SECRET": "inherited-from-the-shell-0123456789abcdef",
            "AION_TABLE_PREFIX": "mine-",
        },
        urls=urls,
        moto_url="http://127.0.0.1:5000",
        queue_url="http://q",
        executor_target="127.0.0.1:5001",
        secrets=kept,
    )
    assert "AWS_PROFILE" not in env
    assert "AION_JWT_SECRET_ARN" not in env
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["AION_WS_MANAGEMENT_ENDPOINT"] == "http://127.0.0.1:8123/ws-mgmt"
    assert env["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"] == "http://127.0.0.1:8123/ws-mgmt"
    assert env["AION_TABLE_PREFIX"] == "mine-"
    assert env["AION_FILES_BUCKET"] == "aion-dev-files"
    assert env["AION_CORS_ORIGIN"] == "http://127.0.0.1:8123"
    # The secrets kept in the state directory, not the shell's: tokens outlive a restart.
    assert env["AION_JWT_SECRET"] == kept["AION_JWT_SECRET"]
    assert env["AION_BRIDGE_TOKEN"] == kept["AION_BRIDGE_TOKEN"]


def test_generated_passwords_mix_character_classes() -> None:
    passwords = {stack_env.generate_password() for _ in range(20)}
    assert len(passwords) == 20
    for password in passwords:
        assert len(password) == 20
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c.isdigit() for c in password)
