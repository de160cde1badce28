"""The LLM route: Bedrock Converse against botocore's Stubber, and an OpenAI-compatible endpoint
against a loopback HTTP server; replies, throttling, timeouts, refusals, malformed replies."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.llm import LlmError, generate, llm_configured, provider_name
from chalicelib.llm.prompt import SYSTEM_PROMPT


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]) -> pytest.MonkeyPatch:
    """The environment without any LLM setting; settings and clients read afresh (the test's
    own settings are read on first use, after it sets them)."""
    for name in (
        "AION_BEDROCK_MODEL_ID",
        "AION_LLM_ENDPOINT",
        "AION_LLM_API_KEY",
        "AION_LLM_API_KEY_ARN",
        "AION_LLM_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_unconfigured(env: pytest.MonkeyPatch) -> None:
    assert not llm_configured()
    assert provider_name() is None
    with pytest.raises(LlmError) as err:
        generate("write a poem", "", 5)
    assert not err.value.retryable


def test_bedrock_wins_when_both_are_set(env: pytest.MonkeyPatch) -> None:
    env.setenv("AION_BEDROCK_MODEL_ID", "anthropic.claude-3-haiku")
    env.setenv("AION_LLM_ENDPOINT", "http://127.0.0.1:9/v1")
    assert provider_name() == "bedrock"


# --- Bedrock Converse ------------------------------------------------------------------------

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def bedrock(env: pytest.MonkeyPatch) -> Iterator[Stubber]:
    from chalicelib.llm import bedrock as bedrock_module

    env.setenv("AION_BEDROCK_MODEL_ID", MODEL)
    client = bedrock_module.client_for(30)
    with Stubber(client) as stub:
        yield stub


def _converse_reply(text: str, stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 42},
    }


def test_bedrock_reply(bedrock: Stubber) -> None:
    bedrock.add_response(
        "converse",
        _converse_reply("Waves fold into foam."),
        {
            "modelId": MODEL,
            "system": [{"text": SYSTEM_PROMPT}],
            "messages": [
                {
                    "role": "user",
                    "content": [{"text": "write a haiku about the sea\n\nInput:\nthe sea"}],
                }
            ],
            "inferenceConfig": {"maxTokens": 1024, "temperature": 0.2},
        },
    )
    assert generate("write a haiku about the sea", "the sea", 30) == "Waves fold into foam."
    bedrock.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("ThrottlingException", 429, True),
        ("ServiceUnavailableException", 503, True),
        ("ModelTimeoutException", 408, True),
        ("ValidationException", 400, False),
        ("AccessDeniedException", 403, False),
    ],
)
def test_bedrock_errors(bedrock: Stubber, code: str, status: int, retryable: bool) -> None:
    bedrock.add_client_error("converse", service_error_code=code, http_status_code=status)
    with pytest.raises(LlmError) as err:
        generate("write", "", 30)
    assert err.value.retryable is retryable
    assert code in str(err.value)


def test_bedrock_empty_reply_is_permanent(bedrock: Stubber) -> None:
    reply = _converse_reply("", stop="content_filtered")
    reply["output"]["message"]["content"] = []
    bedrock.add_response("converse", reply)
    with pytest.raises(LlmError) as err:
        generate("write", "", 30)
    assert not err.value.retryable
    assert "content_filtered" in str(err.value)


def test_bedrock_timeout_is_retryable(env: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ReadTimeoutError

    from chalicelib.llm import bedrock as bedrock_module

    env.setenv("AION_BEDROCK_MODEL_ID", MODEL)
    client = bedrock_module.client_for(10)

    def slow(**kwargs: Any) -> None:
        raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    env.setattr(client, "converse", slow)
    with pytest.raises(LlmError) as err:
        generate("write", "", 10)
    assert err.value.retryable
    assert err.value.code == "llm_timeout"


def test_bedrock_clients_are_reused_per_timeout_bucket(env: pytest.MonkeyPatch) -> None:
    from chalicelib.llm import bedrock as bedrock_module

    a = bedrock_module.client_for(25)
    assert bedrock_module.client_for(39) is a  # same bucket (20 s)
    assert bedrock_module.client_for(40) is not a
    assert a.meta.config.read_timeout == 20  # never longer than the caller's budget
    assert bedrock_module.client_for(1).meta.config.read_timeout == 5


# --- OpenAI-compatible endpoint over loopback HTTP ------------------------------------------


class _Server:
    def __init__(self) -> None:
        self.behaviour = "ok"
        self.requests: list[dict[str, Any]] = []
        # "held": the reply waits for this (the test sets it once the client has given up).
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                mode = server.behaviour
                if mode == "held":
                    server.release.wait(30)
                    mode = "ok"
                if mode == "ok":
                    self._send(
                        200,
                        {
                            "choices": [
                                {"message": {"role": "assistant", "content": "Hello there."}}
                            ]
                        },
                    )
                elif mode == "parts":
                    self._send(
                        200,
                        {
                            "choices": [
                                {
                                    "message": {
                                        "content": [
                                            {"type": "text", "text": "Hel"},
                                            {"type": "text", "text": "lo"},
                                        ]
                                    }
                                }
                            ]
                        },
                    )
                elif mode == "malformed":
                    self._send(200, b"<html>not json</html>")
                elif mode == "no_choices":
                    self._send(200, {"choices": []})
                elif mode.isdigit():
                    self._send(int(mode), {"error": {"message": "nope"}}, {"Retry-After": "3"})

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                # The client may have given up first (the timeout test).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(env: pytest.MonkeyPatch) -> Iterator[_Server]:
    srv = _Server()
    env.setenv("AION_LLM_ENDPOINT", srv.url + "/v1")
    env.setenv("AION_LLM_MODEL", "tiny-model")
    yield srv
    srv.close()


def test_openai_reply_and_request_shape(server: _Server, env: pytest.MonkeyPatch) -> None:
    env.setenv("AION_LLM_API_KEY", "sk-test-secret")
    assert provider_name() == "openai_compatible"
    assert generate("greet me", "Ana", 5) == "Hello there."
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer sk-test-secret"
    assert sent["body"]["model"] == "tiny-model"
    assert sent["body"]["messages"][0]["role"] == "system"
    assert sent["body"]["messages"][1] == {"role": "user", "content": "greet me\n\nInput:\nAna"}


def test_openai_full_completions_url_is_used_as_is(
    server: _Server, env: pytest.MonkeyPatch
) -> None:
    env.setenv("AION_LLM_ENDPOINT", server.url + "/custom/chat/completions")
    generate("hi", "", 5)
    assert server.requests[0]["path"] == "/custom/chat/completions"
    assert "Authorization" not in server.requests[0]["headers"]


def test_openai_content_parts(server: _Server) -> None:
    server.behaviour = "parts"
    assert generate("hi", "", 5) == "Hello"


@pytest.mark.parametrize(
    ("status", "retryable", "code"),
    [
        ("429", True, "llm_throttled"),
        ("503", True, "llm_provider_error"),
        ("500", True, "llm_provider_error"),
        ("400", False, "llm_provider_error"),
        ("401", False, "llm_provider_error"),
    ],
)
def test_openai_http_errors(
    server: _Server, env: pytest.MonkeyPatch, status: str, retryable: bool, code: str
) -> None:
    env.setenv("AION_LLM_API_KEY", "sk-never-leaks")
    server.behaviour = status
    with pytest.raises(LlmError) as err:
        generate("hi", "", 5)
    assert (err.value.retryable, err.value.code) == (retryable, code)
    assert status in str(err.value)
    assert "sk-never-leaks" not in str(err.value)


@pytest.mark.parametrize("mode", ["malformed", "no_choices"])
def test_openai_malformed_reply_is_permanent(server: _Server, mode: str) -> None:
    server.behaviour = mode
    with pytest.raises(LlmError) as err:
        generate("hi", "", 5)
    assert not err.value.retryable
    assert err.value.code == "llm_bad_reply"


def test_openai_timeout_is_retryable(server: _Server) -> None:
    server.behaviour = "held"  # no reply until the client has given up: a timeout or a hang
    try:
        with pytest.raises(LlmError) as err:
            generate("hi", "", 0.3)
        assert err.value.retryable
        assert err.value.code == "llm_timeout"
    finally:
        server.release.set()


def test_openai_unreachable_is_retryable(env: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.setenv("AION_LLM_ENDPOINT", f"http://127.0.0.1:{port}/v1")
    with pytest.raises(LlmError) as err:
        generate("hi", "", 2)
    assert err.value.retryable


def test_openai_endpoint_must_be_http(env: pytest.MonkeyPatch) -> None:
    env.setenv("AION_LLM_ENDPOINT", "file:///etc/passwd")
    with pytest.raises(LlmError) as err:
        generate("hi", "", 2)
    assert not err.value.retryable


def test_long_input_is_truncated_in_the_prompt(server: _Server, env: pytest.MonkeyPatch) -> None:
    env.setenv("AION_LLM_MAX_INPUT_CHARS", "100")
    generate("summarize", "x" * 5000, 5)
    content = server.requests[0]["body"]["messages"][1]["content"]
    assert content.endswith("[input truncated]")
    assert len(content) < 200


def test_api_key_comes_from_secrets_manager_when_an_arn_is_set(env: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    from chalicelib.llm.config import api_key

    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="aion/llm-key", SecretString="sk-from-secrets-manager"
        )["ARN"]
        env.setenv("AION_LLM_API_KEY", "sk-from-env")
        env.setenv("AION_LLM_API_KEY_ARN", arn)
        assert api_key() == "sk-from-secrets-manager"


def test_api_key_unreadable_secret_is_retryable_and_names_no_value(
    env: pytest.MonkeyPatch,
) -> None:
    from moto import mock_aws

    from chalicelib.llm.config import api_key

    with mock_aws():
        env.setenv(
            "AION_LLM_API_KEY_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf",
        )
        with pytest.raises(LlmError) as err:
            api_key()
    assert err.value.retryable
    assert err.value.code == "llm_secret_unavailable"
