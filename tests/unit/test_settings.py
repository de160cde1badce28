"""The one settings model (chalicelib.config, its schema in chalicelib.config_schema): defaults,
blanks, bad values named, validated on first use and never at import; and the registry of
process-wide caches (chalicelib.shared.caches)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from chalicelib.config import PROVIDER_BEDROCK, PROVIDER_OPENAI, SettingsError, load_settings
from chalicelib.shared import caches

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_from_an_empty_environment() -> None:
    settings = load_settings({})
    assert (settings.stage, settings.region, settings.table_prefix) == (
        "dev",
        "us-east-1",
        "aion-dev-",
    )
    assert settings.dispatch_queue_name == "aion-dev-dispatch"
    assert (settings.dispatch.lease_seconds, settings.dispatch.max_receives) == (60, 5)
    assert settings.auth.argon2_memory_kib == 19 * 1024
    assert settings.llm.provider is None
    assert settings.observability.service_name == "aion"
    assert not settings.observability.tracing_enabled


def test_values_are_read_stripped_and_typed() -> None:
    settings = load_settings(
        {
            "AION_LEASE_SECONDS": " 9.5 ",
            "AION_DISPATCH_MAX_RECEIVES": "7",
            "AION_MAX_BODY_BYTES": "1024",
            "AION_TABLE_PREFIX": "aion-prod-",
            "AION_ARGON2_TIME_COST": "4",
        }
    )
    assert settings.dispatch.lease_seconds == 9.5
    assert settings.dispatch.max_receives == 7
    assert settings.max_body_bytes == 1024
    assert settings.table_prefix == "aion-prod-"
    assert settings.auth.argon2_time_cost == 4


def test_a_blank_variable_counts_as_unset() -> None:
    settings = load_settings({"AION_CORS_ORIGIN": "  ", "AION_LEASE_SECONDS": ""})
    assert settings.cors_origin == "http://127.0.0.1:8000"
    assert settings.dispatch.lease_seconds == 60


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # A bad float used to fall back to the default without a word.
        ("AION_LEASE_SECONDS", "sixty"),
        ("AION_RETRY_CAP_SECONDS", "5m"),
        ("AION_DISPATCH_MAX_ATTEMPTS", "0"),
        ("AION_LLM_MAX_TOKENS", "many"),
        ("AION_LLM_TEMPERATURE", "-1"),
        ("AION_MAX_BODY_BYTES", "1.5"),
        ("AION_JWT_LEEWAY_SECONDS", "-3"),
        ("POWERTOOLS_TRACE_DISABLED", "perhaps"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({variable: value})
    assert f"{variable}={value!r}" in str(raised.value)


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"AION_LEASE_SECONDS": "x", "AION_ARGON2_MEMORY_KIB": "1"})
    message = str(raised.value)
    assert "AION_LEASE_SECONDS='x'" in message
    assert "AION_ARGON2_MEMORY_KIB='1'" in message


def test_region_falls_back_to_boto3s_variable() -> None:
    assert load_settings({"AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"
    both = {"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert load_settings(both).region == "eu-central-1"


def test_heartbeat_is_at_most_a_third_of_the_lease() -> None:
    assert load_settings({}).dispatch.heartbeat_seconds == 5
    short = load_settings({"AION_LEASE_SECONDS": "6", "AION_HEARTBEAT_SECONDS": "5"})
    assert short.dispatch.heartbeat_seconds == 2


def test_llm_provider_bedrock_wins_over_an_endpoint() -> None:
    assert load_settings({"AION_LLM_ENDPOINT": "http://x/v1"}).llm.provider == PROVIDER_OPENAI
    both = {"AION_LLM_ENDPOINT": "http://x/v1", "AION_BEDROCK_MODEL_ID": "m"}
    assert load_settings(both).llm.provider == PROVIDER_BEDROCK


def test_tracing_only_inside_lambda_and_unless_disabled() -> None:
    inside = {"AWS_LAMBDA_FUNCTION_NAME": "aion-api"}
    assert load_settings(inside).observability.tracing_enabled
    disabled = {**inside, "POWERTOOLS_TRACE_DISABLED": "true"}
    assert not load_settings(disabled).observability.tracing_enabled


FIRST_REQUEST = """
import sys
import app
assert "pydantic" not in sys.modules, "import app loaded pydantic"
from chalice.test import Client
with Client(app.app) as client:
    response = client.http.post(
        "/auth/login", body=b"{}", headers={"Content-Type": "application/json"}
    )
print(response.status_code, response.body.decode())
"""


def test_a_bad_value_fails_the_first_request_naming_it_and_the_import_stays_light() -> None:
    """Validated on first use: ``import app`` (every Lambda's init) loads no pydantic, and the
    first request answers the envelope's 500 while the log names the variable."""
    env = {**os.environ, "AION_PROGRESS_EVENTS_PER_SECOND": "fast"}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        '500 {"error":{"code":"internal_error","message":"Internal server error."}}'
    )
    assert "AION_PROGRESS_EVENTS_PER_SECOND='fast'" in done.stderr


@pytest.mark.parametrize("value", [None, "", "  ", " aion-prod-dispatch "])
def test_the_queue_name_read_at_import_is_the_models(
    value: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.config import dispatch_queue_name

    environ = {} if value is None else {"AION_DISPATCH_QUEUE_NAME": value}
    if value is None:
        monkeypatch.delenv("AION_DISPATCH_QUEUE_NAME", raising=False)
    else:
        monkeypatch.setenv("AION_DISPATCH_QUEUE_NAME", value)
    assert dispatch_queue_name() == load_settings(environ).dispatch_queue_name


def test_reset_process_caches_forgets_every_registered_cache() -> None:
    built: list[int] = []
    forgotten: list[str] = []

    @caches.process_cache
    def expensive() -> int:
        built.append(1)
        return len(built)

    @caches.on_reset
    def forget() -> None:
        forgotten.append("yes")

    assert expensive() == expensive() == 1
    caches.reset_process_caches()
    assert expensive() == 2
    assert forgotten == ["yes"]


def test_settings_are_read_once_until_reset(
    monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> None:
    from chalicelib.config import get_settings

    first = get_settings()
    monkeypatch.setenv("AION_VERSION", "9.9.9")
    assert get_settings() is first
    reset_caches()
    assert get_settings().version == "9.9.9"
