"""The executor client without an executor: error mapping, deadlines, lazy import, channel
reuse, and UNAVAILABLE retried by the service config (against a fake server)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from chalicelib import executor_client
from chalicelib.executor_client import (
    ExecutorClient,
    ExecutorError,
    ExecutorUnavailable,
    _to_error,
    get_executor_client,
)
from chalicelib.executor_proto import executor_pb2 as pb
from chalicelib.executor_proto import executor_pb2_grpc as pb_grpc

ROOT = Path(__file__).resolve().parents[2]


class FakeRpcError(grpc.RpcError):
    def __init__(self, status: grpc.StatusCode, details: str = "", refusal: str = "") -> None:
        self._status, self._details = status, details
        self._trailing = (("aion-error-code", refusal),) if refusal else ()

    def code(self) -> grpc.StatusCode:
        return self._status

    def details(self) -> str:
        return self._details

    def trailing_metadata(self):  # type: ignore[no-untyped-def]
        return self._trailing


@pytest.mark.parametrize(
    ("status", "refusal", "lambda_bound", "code", "retryable"),
    [
        (grpc.StatusCode.UNAVAILABLE, "", False, "unavailable", True),
        (grpc.StatusCode.UNAVAILABLE, "draining", False, "draining", True),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "", False, "timeout", False),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "", True, "timeout", True),
        (grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", False, "unauthenticated", False),
        (grpc.StatusCode.INVALID_ARGUMENT, "invalid_params", False, "invalid_params", False),
        (grpc.StatusCode.NOT_FOUND, "unknown_module", False, "unknown_module", False),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "input_too_large", False, "input_too_large", False),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "", False, "resource_exhausted", True),
        (
            grpc.StatusCode.PERMISSION_DENIED,
            "bucket_not_allowed",
            False,
            "bucket_not_allowed",
            False,
        ),
        (grpc.StatusCode.CANCELLED, "", False, "cancelled", False),
        (grpc.StatusCode.INTERNAL, "", False, "internal", True),
    ],
)
def test_status_maps_to_domain_error(
    status: grpc.StatusCode, refusal: str, lambda_bound: bool, code: str, retryable: bool
) -> None:
    error = _to_error(FakeRpcError(status, "details", refusal), lambda_bound=lambda_bound)
    assert (error.code, error.retryable) == (code, retryable)
    assert isinstance(error, ExecutorUnavailable) == (status == grpc.StatusCode.UNAVAILABLE)


def test_deadline_is_the_earlier_of_budget_and_lambda_time_left() -> None:
    client = ExecutorClient("127.0.0.1:1", "token", margin_s=2.0)
    assert client._timeout(30.0, None) == (30.0, False)
    assert client._timeout(30.0, lambda: 60_000) == (30.0, False)
    assert client._timeout(30.0, lambda: 12_000) == (10.0, True)


def test_no_time_left_is_retryable_and_sends_nothing() -> None:
    client = ExecutorClient("127.0.0.1:1", "token", margin_s=5.0)
    with pytest.raises(ExecutorError) as info:
        list(
            client.execute(
                task_id="t",
                attempt=1,
                module="text.stats",
                timeout_s=30,
                remaining_time_ms=lambda: 3_000,
            )
        )
    assert (info.value.code, info.value.retryable) == ("no_time_left", True)
    assert client._channel is None


def test_only_one_input_kind() -> None:
    client = ExecutorClient("127.0.0.1:1", "token")
    with pytest.raises(ValueError, match="at most one"):
        list(
            client.execute(
                task_id="t",
                attempt=1,
                module="m",
                input_text="a",
                input_bytes=b"a",
                timeout_s=1,
            )
        )


def test_unconfigured_executor_is_unavailable_and_unhealthy() -> None:
    client = ExecutorClient("", "")
    with pytest.raises(ExecutorUnavailable) as info:
        client.list_modules()
    assert info.value.code == "not_configured"
    assert client.health() is False


def test_unreachable_executor_is_unavailable() -> None:
    client = ExecutorClient("127.0.0.1:1", "token")
    try:
        with pytest.raises(ExecutorUnavailable):
            client.list_modules(timeout_s=1.0)
        assert client.health(timeout_s=0.3) is False
    finally:
        client.close()


def test_channel_is_reused_then_recreated_after_idle() -> None:
    client = ExecutorClient("127.0.0.1:1", "token", idle_reset_s=3600)
    first = client._get_rpc()
    assert client._get_rpc() is first
    client._idle_reset_s = 0.0
    client._last_used -= 1
    assert client._get_rpc() is not first
    client.close()


def test_grpc_is_imported_lazily() -> None:
    code = (
        "import sys, chalicelib.executor_client as c; "
        "c.ExecutorClient('127.0.0.1:1', 't'); "
        "assert 'grpc' not in sys.modules, 'grpc imported at module load'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_process_wide_client_uses_settings_and_bridge_token(monkeypatch, reset_caches) -> None:
    monkeypatch.setenv("AION_EXECUTOR_TARGET", "127.0.0.1:50099")
    monkeypatch.setattr(executor_client, "_bridge_token", lambda: "token-from-secrets")
    reset_caches()
    client = get_executor_client()
    assert client is get_executor_client()
    assert client.target == "dns:///127.0.0.1:50099"  # every address, resolved again
    assert client._token == "token-from-secrets"


class FlakyExecutor(pb_grpc.ExecutorServicer):
    """Refuses the first call with UNAVAILABLE, then answers."""

    def __init__(self) -> None:
        self.calls = 0

    def Execute(self, request, context):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 1:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        yield pb.ExecuteEvent(started=pb.Started(module=request.module, module_version="1"))
        yield pb.ExecuteEvent(result=pb.Result(json='{"ok": true}'))


@pytest.fixture
def flaky() -> Iterator[tuple[FlakyExecutor, int]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = FlakyExecutor()
    pb_grpc.add_ExecutorServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(0)


def test_unavailable_is_retried_by_the_service_config(flaky) -> None:  # type: ignore[no-untyped-def]
    servicer, port = flaky
    client = ExecutorClient(f"127.0.0.1:{port}", "token")
    try:
        events = list(
            client.execute(task_id="t", attempt=1, module="text.stats", input_text="x", timeout_s=5)
        )
    finally:
        client.close()
    assert servicer.calls == 2
    assert [e.kind for e in events] == ["started", "result"]
    assert events[-1].result == {"ok": True}
