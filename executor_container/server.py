"""The gRPC executor: Execute / ListModules, health, optional reflection, graceful drain.

How an Execute call ends (one shape per cause, whichever side notices first):

- the module's result or refusal: a ``result`` or ``error`` event;
- the module's own time limit (``timeout_seconds``): an ``error`` event ``timeout``, not
  retryable (the module is too slow for its input);
- the caller's deadline (the gRPC deadline or ``deadline_unix_ms``, when it comes before the
  module's limit): the call ends with status DEADLINE_EXCEEDED, the same status gRPC gives
  the caller when its own timer fires first; the caller knows whether another attempt would
  get more time;
- no worker free before the caller's deadline: status RESOURCE_EXHAUSTED ``busy``, sent a
  margin before that deadline;
- the worker died before the module began (``worker_lost``, retryable: nothing ran) or while
  it ran (``module_crashed``, the module's failure). An idle worker found dead is replaced
  before any call is handed to it.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pydantic import ValidationError

from chalicelib.shared import cost
from executor_container.config import ExecutorConfig
from executor_container.pool import Worker, WorkerPool
from executor_container.proto_gen import executor_pb2 as pb
from executor_container.proto_gen import executor_pb2_grpc as pb_grpc
from executor_container.registry import ModuleSpec, catalogue
from executor_container.worker import CallRequest, WorkerLimits

log = logging.getLogger("aion.executor")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Executor"].full_name
TOKEN_METADATA_KEY = "x-bridge-token"  # noqa: S105 (a header name)
ERROR_CODE_METADATA_KEY = "aion-error-code"
POLL_INTERVAL_S = 0.05
# Time kept back from the caller's deadline to refuse a call no worker could take.
REFUSAL_MARGIN_S = 0.25
# Marks, in the relay, that the caller's deadline passed (see ``ExecutorService._relay``).
_CALLER_DEADLINE = object()
MAX_S3_KEY_CHARS = 1024
# Validated params by (module, params JSON): callers repeat the same few params, and
# validation is deterministic. Bounded in entries and key size.
PARAMS_CACHE_ENTRIES = 512
PARAMS_CACHE_MAX_CHARS = 2048
MAX_CONNECTION_AGE_MS = 5 * 60_000
MAX_CONNECTION_AGE_GRACE_MS = 5 * 60_000


class _Refused(Exception):
    def __init__(self, status: grpc.StatusCode, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _abort(context: grpc.ServicerContext, refusal: _Refused) -> None:
    context.set_trailing_metadata(((ERROR_CODE_METADATA_KEY, refusal.code),))
    context.abort(refusal.status, refusal.message)


class ExecutorService(pb_grpc.ExecutorServicer):
    def __init__(self, config: ExecutorConfig, pool: WorkerPool) -> None:
        self._config = config
        self._token = config.bridge_token.encode()
        self._pool = pool
        self._modules = catalogue()
        # The first event of every call, built once per module (never mutated).
        self._started = {
            spec.name: pb.ExecuteEvent(
                started=pb.Started(module=spec.name, module_version=spec.version)
            )
            for spec in self._modules.values()
        }
        self._params_cache: dict[tuple[str, str], dict[str, Any]] = {}
        self._inflight = 0
        self._idle = threading.Condition()
        self.draining = False

    # -- lifecycle -------------------------------------------------------------------------

    def _call_ended(self) -> None:
        with self._idle:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait for in-flight calls to finish; False if some are still running."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    # -- ListModules -----------------------------------------------------------------------

    def _check_token(self, context: grpc.ServicerContext) -> None:
        """Executor methods need the bridge token (health and reflection stay open)."""
        presented = b""
        for key, value in context.invocation_metadata():
            if key == TOKEN_METADATA_KEY:
                presented = value.encode() if isinstance(value, str) else value
        if not hmac.compare_digest(presented, self._token):
            raise _Refused(
                grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", "missing or wrong bridge token"
            )

    def ListModules(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            self._check_token(context)
        except _Refused as refusal:
            _abort(context, refusal)
        return pb.ListModulesResponse(
            modules=[
                pb.ModuleInfo(
                    name=spec.name,
                    description=spec.description,
                    params_schema_json=json.dumps(spec.params_schema, sort_keys=True),
                    max_input_bytes=spec.max_input_bytes,
                    version=spec.version,
                    timeout_seconds=spec.timeout_seconds,
                )
                for spec in self._modules.values()
            ]
        )

    # -- Execute ---------------------------------------------------------------------------

    def Execute(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            self._check_token(context)
            if self.draining:
                raise _Refused(grpc.StatusCode.UNAVAILABLE, "draining", "executor is shutting down")
            spec = self._module(request.module)
            params = self._params(spec, request.params_json)
            source, size = self._source(spec, request)
        except _Refused as refusal:
            _abort(context, refusal)
            return
        with self._idle:
            self._inflight += 1
        try:
            yield from self._run(spec, params, source, size, request, context)
        finally:
            self._call_ended()

    def _module(self, name: str) -> ModuleSpec:
        spec = self._modules.get(name)
        if spec is None:
            known = ", ".join(self._modules)
            raise _Refused(
                grpc.StatusCode.NOT_FOUND,
                "unknown_module",
                f"unknown module {name!r}; known: {known}",
            )
        return spec

    def _params(self, spec: ModuleSpec, params_json: str) -> dict[str, Any]:
        key = (spec.name, params_json)
        params = self._params_cache.get(key)
        if params is None:
            params = self._validate_params(spec, params_json)
            if (
                len(params_json) <= PARAMS_CACHE_MAX_CHARS
                and len(self._params_cache) < PARAMS_CACHE_ENTRIES
            ):
                self._params_cache[key] = params
        return params

    def _validate_params(self, spec: ModuleSpec, params_json: str) -> dict[str, Any]:
        try:
            raw = json.loads(params_json) if params_json.strip() else {}
        except json.JSONDecodeError as exc:
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT, "invalid_params", f"params are not JSON: {exc}"
            ) from exc
        if not isinstance(raw, dict):
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT, "invalid_params", "params must be a JSON object"
            )
        try:
            return spec.params.model_validate(raw).model_dump(mode="json")
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'params'}: {err['msg']}"
                for err in exc.errors()
            )
            raise _Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                "invalid_params",
                f"invalid params for {spec.name}: {problems}",
            ) from exc

    def _source(self, spec: ModuleSpec, request: Any) -> tuple[tuple[Any, ...], int]:
        kind = request.WhichOneof("input")
        if kind == "text":
            source: tuple[Any, ...] = ("text", request.text)
            size = len(request.text.encode("utf-8"))
        elif kind == "data":
            source, size = ("bytes", request.data), len(request.data)
        elif kind == "s3":
            source, size = self._s3_source(request.s3.bucket, request.s3.key)
        else:
            source, size = ("none",), 0
        if size > spec.max_input_bytes:
            raise _Refused(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "input_too_large",
                f"input is {size} bytes; {spec.name} accepts at most {spec.max_input_bytes} "
                "bytes (max_input_bytes)",
            )
        return source, size

    @cached_property
    def _s3(self) -> Any:
        import boto3  # only when S3 inputs are used

        return boto3.client("s3")

    def _s3_source(self, bucket: str, key: str) -> tuple[tuple[Any, ...], int]:
        # Only the configured files bucket: the executor never fetches arbitrary locations.
        if not self._config.files_bucket:
            raise _Refused(
                grpc.StatusCode.FAILED_PRECONDITION, "s3_disabled", "no files bucket configured"
            )
        if bucket != self._config.files_bucket:
            raise _Refused(
                grpc.StatusCode.PERMISSION_DENIED,
                "bucket_not_allowed",
                "S3 inputs must come from the configured files bucket",
            )
        if not key or len(key) > MAX_S3_KEY_CHARS:
            raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, "invalid_input_ref", "bad S3 key")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            status = str(exc.response.get("Error", {}).get("Code", ""))
            if status in ("404", "NoSuchKey", "NotFound"):
                raise _Refused(
                    grpc.StatusCode.NOT_FOUND, "input_not_found", "input object not found"
                ) from exc
            raise _Refused(
                grpc.StatusCode.UNAVAILABLE, "s3_error", f"could not read input ({status})"
            ) from exc
        except BotoCoreError as exc:
            raise _Refused(
                grpc.StatusCode.UNAVAILABLE, "s3_error", "could not reach the files bucket"
            ) from exc
        return ("s3", bucket, key), int(head["ContentLength"])

    def _budget(
        self, spec: ModuleSpec, request: Any, context: grpc.ServicerContext
    ) -> tuple[float, bool]:
        """(seconds the module may run, whether the caller's deadline is what limits it).

        The caller's deadline is the gRPC deadline and the request's ``deadline_unix_ms``,
        whichever is earlier; the module's own limit is ``timeout_seconds``.
        """
        caller = math.inf
        remaining = context.time_remaining()
        if remaining is not None:
            caller = remaining
        if request.deadline_unix_ms:
            caller = min(caller, request.deadline_unix_ms / 1000 - time.time())
        if caller < spec.timeout_seconds:
            return caller, True
        return spec.timeout_seconds, False

    def _run(
        self,
        spec: ModuleSpec,
        params: dict[str, Any],
        source: tuple[Any, ...],
        size: int,
        request: Any,
        context: grpc.ServicerContext,
    ) -> Iterator[Any]:
        started_at = time.monotonic()
        budget, caller_bound = self._budget(spec, request, context)
        deadline = started_at + budget
        # A call that cannot get a worker in time is refused, not started: before the
        # caller's deadline (less a margin for the refusal to reach it), so the caller
        # always hears "busy" (retryable) and never a deadline it could blame the module for.
        wait = budget - min(REFUSAL_MARGIN_S, budget / 4) if caller_bound else budget
        # Long calls may not take the workers kept for short ones (chalicelib.shared.cost).
        long_call = cost.lane(spec.name, size) == cost.LONG
        worker = self._pool.acquire(timeout=wait, long_call=long_call) if wait > 0 else None
        if worker is None:  # refused before it started: the client may try again later
            lane = "long" if long_call else "short"
            message = (
                f"no worker of {self._pool.size} was free for this {lane} call within "
                f"{max(wait, 0):.1f} s"
            )
            _abort(context, _Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, "busy", message))
            return
        released = False
        try:
            call = CallRequest(spec.name, params, source, size, spec.cpu_seconds)
            relay = self._relay(worker, call, deadline, caller_bound, spec, context)
            for event, final, reusable in relay:
                if final:
                    # The worker is done: free it before the last event goes out, so a
                    # waiting call can use it while this one is still sending.
                    self._pool.release(worker, reusable=reusable)
                    released = True
                if event is _CALLER_DEADLINE:
                    _abort(context, _deadline_refusal(spec))
                    return
                if event is not None:
                    if event.HasField("result"):
                        event.result.duration_micros = int((time.monotonic() - started_at) * 1e6)
                    yield event
        finally:
            if not released:  # the caller went away mid-call: the worker may still be busy
                self._pool.release(worker, reusable=False)
            log.debug(
                "execute task=%s attempt=%s module=%s ms=%.1f",
                request.task_id,
                request.attempt,
                spec.name,
                (time.monotonic() - started_at) * 1000,
            )

    def _relay(
        self,
        worker: Worker,
        call: CallRequest,
        deadline: float,
        caller_bound: bool,
        spec: ModuleSpec,
        context: grpc.ServicerContext,
    ) -> Iterator[tuple[Any, bool, bool]]:
        """(event or None, final, worker reusable): started, ..., the terminal event.

        The final item is the terminal event; ``_CALLER_DEADLINE`` when the caller's
        deadline passed (the call then ends with DEADLINE_EXCEEDED, exactly as when gRPC
        itself ends it first); None when the caller went away.
        """
        started = self._started[spec.name]
        announced = begun = False
        try:
            # Hand the call over first: the worker computes while "started" is on the wire.
            worker.wire.send(call.to_wire())
            yield started, False, False
            announced = True
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if caller_bound:
                        yield _CALLER_DEADLINE, True, False
                    else:
                        message = (
                            f"{spec.name} did not finish within its {spec.timeout_seconds:g} s"
                        )
                        yield _error("timeout", message), True, False
                    return
                if not context.is_active():  # cancelled or past the gRPC deadline
                    yield None, True, False
                    return
                if not worker.wire.readable(min(remaining, POLL_INTERVAL_S)):
                    continue
                message = worker.wire.recv()
                kind = message[0]
                if kind == "begun":
                    begun = True
                elif kind == "progress":
                    progress = pb.Progress(fraction=message[1], message=message[2])
                    yield pb.ExecuteEvent(progress=progress), False, False
                elif kind == "log":
                    yield (
                        pb.ExecuteEvent(log=pb.Log(level=message[1], message=message[2])),
                        False,
                        False,
                    )
                elif kind == "result":
                    yield self._result(message[1]), True, True
                    return
                elif kind == "error":
                    _, code, text, retryable, recycle = message
                    yield _error(code, text, retryable=retryable), True, not recycle
                    return
        except (EOFError, OSError):  # WireClosed is an EOFError
            if not announced:
                yield started, False, False
            how = worker.exit_description()
            if not begun:
                # Lost before the module ran (killed between the health check and the
                # hand-over): nothing of the call happened, another attempt is safe.
                message = f"the worker for {spec.name} died before the module started ({how})"
                yield _error("worker_lost", message, retryable=True), True, False
            elif "SIGXCPU" in how:
                yield _error("cpu_limit", f"{spec.name} exceeded its CPU time limit"), True, False
            else:
                hint = " (out of memory?)" if "SIGKILL" in how else ""
                yield _error("module_crashed", f"{spec.name} crashed: {how}{hint}"), True, False

    def _result(self, text: str) -> Any:
        if len(text) > self._config.max_output_bytes:
            return _error("output_too_large", "result is larger than the output limit")
        return pb.ExecuteEvent(result=pb.Result(json=text))


def _deadline_refusal(spec: ModuleSpec) -> _Refused:
    return _Refused(
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "timeout",
        f"{spec.name} did not finish before the caller's deadline",
    )


def _error(code: str, message: str, *, retryable: bool = False) -> Any:
    return pb.ExecuteEvent(error=pb.Error(code=code, message=message, retryable=retryable))


def _add_executor_service(
    server: grpc.Server, service: ExecutorService, workers: int
) -> futures.ThreadPoolExecutor:
    """Register Execute and ListModules (as the generated add_ExecutorServicer_to_server).

    Execute gets its own threads, two per worker: one running a call, one ready to hand the
    next call over. More threads would only wait for a worker and contend for the GIL
    (measured at 16 concurrent calls on 2 CPUs: about half the context switches and a
    quarter less CPU per call); further calls wait in the queue of those threads. Health,
    reflection and ListModules keep the server's own threads, so they answer even while
    every Execute thread is busy.
    """
    threads = futures.ThreadPoolExecutor(
        max_workers=max(2, workers * 2), thread_name_prefix="aion-execute"
    )

    def execute(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        return service.Execute(request, context)

    # grpcio runs a behaviour on the pool named by this attribute (experimental API; a
    # grpcio without it uses the server's threads: slower, same behaviour).
    execute.experimental_thread_pool = threads  # type: ignore[attr-defined]
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "Execute": grpc.unary_stream_rpc_method_handler(
            execute,
            request_deserializer=pb.ExecuteRequest.FromString,
            response_serializer=pb.ExecuteEvent.SerializeToString,
        ),
        "ListModules": grpc.unary_unary_rpc_method_handler(
            service.ListModules,
            request_deserializer=pb.ListModulesRequest.FromString,
            response_serializer=pb.ListModulesResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)
    return threads


@dataclass
class RunningExecutor:
    """A started server and what is needed to stop it."""

    server: grpc.Server
    service: ExecutorService
    health: health.HealthServicer
    pool: WorkerPool
    port: int
    execute_threads: futures.ThreadPoolExecutor | None = None

    def drain(self, grace_seconds: float) -> bool:
        """Health NOT_SERVING, refuse new calls, let in-flight calls finish, stop.

        True when every in-flight call finished within the grace period.
        """
        self.service.draining = True
        self.health.enter_graceful_shutdown()
        finished = self.service.wait_idle(grace_seconds)
        self.server.stop(grace=0.5).wait()
        if self.execute_threads is not None:
            self.execute_threads.shutdown(wait=False)
        self.pool.close()
        return finished


def start_executor(config: ExecutorConfig) -> RunningExecutor:
    """Start the worker pool and the gRPC server; returns once the server is serving."""
    if not config.bridge_token:
        raise RuntimeError("AION_BRIDGE_TOKEN is not set: the executor refuses to run without it")
    pool = WorkerPool(
        config.workers,
        WorkerLimits(config.worker_memory_bytes, config.max_output_bytes),
        max_calls=config.worker_max_calls,
        short_reserved=config.short_reserved,
    )
    pool.start()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max(16, config.workers * 8)),
        options=[
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", 16 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
            # Clients reconnect (and resolve the service's name again) every few minutes, so
            # executor tasks started by a scale-out get calls too; calls in flight have the
            # grace to finish (longer than any module's time limit).
            ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
            ("grpc.max_connection_age_grace_ms", MAX_CONNECTION_AGE_GRACE_MS),
        ],
    )
    service = ExecutorService(config, pool)
    execute_threads = _add_executor_service(server, service, config.workers)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [SERVICE_NAME, health.SERVICE_NAME]
    if config.reflection:
        from grpc_reflection.v1alpha import reflection

        names.append(reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
    try:
        port = server.add_insecure_port(f"{config.host}:{config.port}")
    except RuntimeError:
        port = 0
    if port == 0:
        pool.close()
        raise RuntimeError(f"could not bind {config.host}:{config.port}")
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return RunningExecutor(server, service, health_servicer, pool, port, execute_threads)
