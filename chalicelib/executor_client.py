"""Client of the gRPC executor, for the Lambdas (dispatch, router, health).

grpc is imported on first use only: the API Lambda must not pay ≈200 ms for it at cold start.
One channel per process is reused across invocations and recreated after a long idle (a
frozen Lambda stops keepalive pings; a load balancer may have dropped the connection).
UNAVAILABLE is retried by gRPC itself through the service config; every other failure
becomes an ``ExecutorError`` (a ``chalicelib.shared.failures.Failure``) whose ``retryable`` says
whether trying later can help.

``execute`` yields the streamed events. A module refusing its input ends with an ``error``
event (``kind="error"``); transport and protocol failures raise ``ExecutorError``.

Several executor tasks answer behind one name (Fargate tasks registered in Cloud Map: one DNS A
record each). gRPC's default ``pick_first`` would pin every Lambda to the first address for the
channel's life; the service config asks for ``round_robin`` over every address the ``dns:///``
resolver returns, and the resolver resolves again whenever a connection drops (an executor
stopped, or its server closing connections at ``max_connection_age``: scale-out is seen).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.config import get_settings
from chalicelib.secrets import get_bridge_token
from chalicelib.shared.caches import on_reset
from chalicelib.shared.failures import Failure

TOKEN_METADATA_KEY = "x-bridge-token"  # noqa: S105 (a header name)
ERROR_CODE_METADATA_KEY = "aion-error-code"
SERVICE = "aion.executor.v1.Executor"
# Time kept back from the Lambda's remaining time to record the outcome.
DEFAULT_MARGIN_S = 5.0
IDLE_RESET_S = 300.0
MAX_SEND_BYTES = 64 * 1024 * 1024
CANCEL_POLL_S = 0.1
# grpc.experimental.ChannelOptions.SingleThreadedUnaryStream (a Python-side channel option).
SINGLE_THREADED_UNARY_STREAM = "SingleThreadedUnaryStream"

SERVICE_CONFIG = json.dumps(
    {
        # Every resolved address, in turn (not pick_first: one executor task per Lambda).
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{"service": SERVICE}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.2s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)

# Refusals the executor names in trailing metadata that trying again later can fix.
_RETRYABLE_REFUSALS = {"busy", "draining", "s3_error"}

EventKind = Literal["started", "progress", "log", "result", "error"]


@dataclass(frozen=True)
class ExecEvent:
    kind: EventKind
    progress: float | None = None
    message: str = ""
    result: Any | None = None
    error_code: str | None = None
    retryable: bool = False


@dataclass(frozen=True)
class ModuleInfo:
    name: str
    description: str
    params_schema: dict[str, Any]
    max_input_bytes: int
    version: str
    timeout_seconds: float = 0.0


class ExecutorError(Failure):
    """The executor call failed; ``retryable`` says whether another attempt may succeed."""


class ExecutorUnavailable(ExecutorError):
    """The executor (the route itself) cannot take the call now: always transient."""

    def __init__(self, message: str, *, code: str = "executor_unavailable") -> None:
        super().__init__(message, code=code, retryable=True)


# gRPC name resolvers a target may name itself; a bare host:port gets DNS.
_RESOLVER_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:")


def channel_target(target: str) -> str:
    """``host:port`` as a ``dns:///`` target (every A record, resolved again on reconnects);
    a target that names its resolver already is kept."""
    if not target or target.startswith(_RESOLVER_SCHEMES):
        return target
    return f"dns:///{target}"


def _grpc() -> Any:
    import grpc  # lazily: see the module docstring

    return grpc


def _generated_modules() -> tuple[Any, Any]:
    # Deferred with grpc: protobuf and the stubs load with the first call.
    from chalicelib.executor_proto import executor_pb2, executor_pb2_grpc

    return executor_pb2, executor_pb2_grpc


class ExecutorClient:
    def __init__(
        self,
        target: str,
        bridge_token: str,
        *,
        margin_s: float = DEFAULT_MARGIN_S,
        idle_reset_s: float = IDLE_RESET_S,
    ) -> None:
        # "tls://host:port" asks for TLS; anything else is a plain target (inside the VPC).
        self._tls = target.startswith("tls://")
        self._target = channel_target(target.removeprefix("tls://"))
        self._token = bridge_token
        self._margin_s = margin_s
        self._idle_reset_s = idle_reset_s
        self._lock = threading.Lock()
        self._channel: Any = None
        self._rpc: Any = None
        self._last_used = 0.0

    @property
    def target(self) -> str:
        return self._target

    # -- channel ---------------------------------------------------------------------------

    def _get_rpc(self) -> Any:
        if not self._target:
            raise ExecutorUnavailable("no executor configured", code="not_configured")
        grpc = _grpc()
        _, pb_grpc = _generated_modules()
        with self._lock:
            now = time.monotonic()
            if self._channel is not None and now - self._last_used > self._idle_reset_s:
                self._channel.close()
                self._channel = None
            if self._channel is None:
                options = [
                    ("grpc.service_config", SERVICE_CONFIG),
                    ("grpc.enable_retries", 1),
                    ("grpc.max_send_message_length", MAX_SEND_BYTES),
                    ("grpc.keepalive_time_ms", 30_000),
                    ("grpc.keepalive_timeout_ms", 10_000),
                    # Streams are read on the caller's thread: no extra thread per call.
                    (SINGLE_THREADED_UNARY_STREAM, 1),
                ]
                if self._tls:
                    credentials = grpc.ssl_channel_credentials()
                    self._channel = grpc.secure_channel(self._target, credentials, options)
                else:
                    self._channel = grpc.insecure_channel(self._target, options)
                self._rpc = pb_grpc.ExecutorStub(self._channel)
            self._last_used = now
            return self._rpc

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = self._rpc = None

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((TOKEN_METADATA_KEY, self._token),)

    # -- calls -----------------------------------------------------------------------------

    def _timeout(
        self, timeout_s: float, remaining_time_ms: Callable[[], int] | None
    ) -> tuple[float, bool]:
        """(seconds for the call, whether the Lambda's time left is what limits it)."""
        if remaining_time_ms is None:
            return timeout_s, False
        lambda_left = remaining_time_ms() / 1000 - self._margin_s
        if lambda_left < timeout_s:
            return lambda_left, True
        return timeout_s, False

    def execute(
        self,
        *,
        task_id: str,
        attempt: int,
        module: str,
        input_text: str | None = None,
        input_bytes: bytes | None = None,
        input_ref: tuple[str, str] | None = None,
        params: dict[str, Any] | None = None,
        timeout_s: float,
        cancel: threading.Event | None = None,
        remaining_time_ms: Callable[[], int] | None = None,
    ) -> Iterator[ExecEvent]:
        """Run ``module``; yields started, progress/log events and one result or error.

        ``remaining_time_ms`` is the Lambda context's ``get_remaining_time_in_millis``: the
        call's deadline is the earlier of ``timeout_s`` and that time minus a margin.
        Raises ``ExecutorError`` (``retryable`` set) when the call itself fails.
        """
        if sum(x is not None for x in (input_text, input_bytes, input_ref)) > 1:
            raise ValueError("give at most one of input_text, input_bytes, input_ref")
        timeout, lambda_bound = self._timeout(timeout_s, remaining_time_ms)
        if timeout <= 0:
            raise ExecutorError(
                "not enough time left to run the module", code="no_time_left", retryable=True
            )
        pb, _ = _generated_modules()
        request = pb.ExecuteRequest(
            task_id=task_id,
            attempt=attempt,
            module=module,
            params_json=json.dumps(params or {}),
            deadline_unix_ms=int((time.time() + timeout) * 1000),
        )
        if input_text is not None:
            request.text = input_text
        elif input_bytes is not None:
            request.data = input_bytes
        elif input_ref is not None:
            request.s3.bucket, request.s3.key = input_ref
        rpc = self._get_rpc()
        call = rpc.Execute(request, timeout=timeout, metadata=self._metadata())
        watcher = _CancelWatcher(call, cancel) if cancel is not None else None
        try:
            for event in call:
                yield _to_event(event)
        except _grpc().RpcError as exc:
            if watcher is not None and watcher.fired:
                raise ExecutorError("call cancelled", code="cancelled", retryable=False) from exc
            raise _to_error(exc, lambda_bound=lambda_bound) from exc
        finally:
            if watcher is not None:
                watcher.stop()
            call.cancel()  # no-op after a normal end; stops the module if the caller quits

    def list_modules(self, timeout_s: float = 2.0) -> list[ModuleInfo]:
        pb, _ = _generated_modules()
        rpc = self._get_rpc()
        try:
            response = rpc.ListModules(
                pb.ListModulesRequest(), timeout=timeout_s, metadata=self._metadata()
            )
        except _grpc().RpcError as exc:
            raise _to_error(exc, lambda_bound=False) from exc
        return [
            ModuleInfo(
                name=m.name,
                description=m.description,
                params_schema=json.loads(m.params_schema_json or "{}"),
                max_input_bytes=m.max_input_bytes,
                version=m.version,
                timeout_seconds=m.timeout_seconds,
            )
            for m in response.modules
        ]

    def health(self, timeout_s: float = 1.0) -> bool:
        """True when the executor answers SERVING; False on anything else (never raises)."""
        if not self._target:
            return False
        try:
            from grpc_health.v1 import health_pb2, health_pb2_grpc  # deferred: GET /health only

            self._get_rpc()
            health_rpc = health_pb2_grpc.HealthStub(self._channel)
            response = health_rpc.Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout_s
            )
        except Exception:  # unreachable, not serving, not configured: all mean "not healthy"
            return False
        return response.status == health_pb2.HealthCheckResponse.SERVING


class _CancelWatcher:
    """Cancels the gRPC call when the caller's ``threading.Event`` is set."""

    def __init__(self, call: Any, cancel: threading.Event) -> None:
        self.fired = False
        self._call = call
        self._cancel = cancel
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._cancel.wait(CANCEL_POLL_S):
                self.fired = True
                self._call.cancel()
                return

    def stop(self) -> None:
        self._done.set()


def _to_event(event: Any) -> ExecEvent:
    kind = event.WhichOneof("event")
    if kind == "started":
        return ExecEvent(
            "started", message=f"{event.started.module} {event.started.module_version}"
        )
    if kind == "progress":
        return ExecEvent(
            "progress", progress=event.progress.fraction, message=event.progress.message
        )
    if kind == "log":
        return ExecEvent("log", message=event.log.message)
    if kind == "result":
        return ExecEvent("result", progress=1.0, result=json.loads(event.result.json))
    if kind == "error":
        return ExecEvent(
            "error",
            message=event.error.message,
            error_code=event.error.code,
            retryable=event.error.retryable,
        )
    raise ExecutorError(
        f"unknown event {kind!r} from the executor", code="protocol", retryable=False
    )


def _to_error(exc: Any, *, lambda_bound: bool) -> ExecutorError:
    grpc = _grpc()
    status = exc.code() if callable(getattr(exc, "code", None)) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if callable(getattr(exc, "details", None)) else "") or str(status)
    refusal = ""
    trailing = getattr(exc, "trailing_metadata", None)
    for key, value in (trailing() if callable(trailing) else None) or ():
        if key == ERROR_CODE_METADATA_KEY:
            refusal = value
    if status == grpc.StatusCode.UNAVAILABLE:
        return ExecutorUnavailable(
            f"executor unavailable: {details}", code=refusal or "unavailable"
        )
    if status == grpc.StatusCode.DEADLINE_EXCEEDED:
        # Out of Lambda time: another attempt gets a fresh budget. Out of module time: no.
        return ExecutorError("executor call timed out", code="timeout", retryable=lambda_bound)
    if status == grpc.StatusCode.CANCELLED:
        return ExecutorError("call cancelled", code="cancelled", retryable=False)
    if status == grpc.StatusCode.RESOURCE_EXHAUSTED:
        # Too large an input is final; anything else (an overloaded server) is not.
        final = refusal == "input_too_large" or "max_input_bytes" in details
        return ExecutorError(details, code=refusal or "resource_exhausted", retryable=not final)
    permanent = {
        grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
        grpc.StatusCode.PERMISSION_DENIED: "permission_denied",
        grpc.StatusCode.INVALID_ARGUMENT: "invalid_argument",
        grpc.StatusCode.NOT_FOUND: "not_found",
        grpc.StatusCode.FAILED_PRECONDITION: "failed_precondition",
        grpc.StatusCode.UNIMPLEMENTED: "unimplemented",
    }
    if status in permanent:
        code = refusal or permanent[status]
        return ExecutorError(details, code=code, retryable=code in _RETRYABLE_REFUSALS)
    # UNKNOWN, INTERNAL, ABORTED, DATA_LOSS...: a fault on the way; worth another try.
    return ExecutorError(f"executor failed: {details}", code=refusal or "internal", retryable=True)


_client: ExecutorClient | None = None
_client_lock = threading.Lock()


def _bridge_token() -> str:

    return get_bridge_token()


def get_executor_client() -> ExecutorClient:
    """The process-wide client (settings' executor target, bridge token from secrets)."""
    global _client
    with _client_lock:
        if _client is None:
            target = get_settings().executor_target
            _client = ExecutorClient(target, _bridge_token() if target else "")
        return _client


@on_reset
def reset_executor_client() -> None:
    """Forget the process-wide client (tests; settings changed)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None
