"""The worker process: runs one module call at a time under resource limits.

Workers are forked from a forkserver (single-threaded, modules preloaded), so a crash, an
out-of-memory or a runaway loop ends only the worker; the parent reports it and replaces it.
Messages on the pipes (parent <-> worker, framed by ``wire.Wire``) are plain tuples:

  parent -> worker: ``CallRequest.to_wire()``; ``None`` to exit.
  worker -> parent: ("ready",), ("begun",) right before the module runs,
                    ("progress", fraction, message), ("log", level, message),
                    ("result", json_text), ("error", code, message, retryable, recycle).

The parent tells a worker that died before "begun" (the call is safe to run again) from a
module that crashed its worker (the module's failure).
"""

from __future__ import annotations

import json
import math
import resource
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from executor_container.registry import MiB, ModuleError, catalogue, decode_utf8
from executor_container.wire import Wire

PROGRESS_INTERVAL_S = 0.1
# One encoder for every call (json.dumps with options builds a new one each time).
_RESULT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
MAX_LOGS_PER_CALL = 100


@dataclass(frozen=True)
class WorkerLimits:
    memory_bytes: int
    max_output_bytes: int


@dataclass(frozen=True)
class CallRequest:
    module: str
    params: dict[str, Any]
    # ("none",) | ("text", str) | ("bytes", bytes) | ("s3", bucket, key)
    source: tuple[Any, ...]
    size: int
    cpu_seconds: float

    def to_wire(self) -> tuple[Any, ...]:
        return (self.module, self.params, self.source, self.size, self.cpu_seconds)

    @classmethod
    def from_wire(cls, message: tuple[Any, ...]) -> CallRequest:
        return cls(*message)


class CpuLimitExceeded(BaseException):
    """Raised by SIGXCPU; a BaseException so modules' ``except Exception`` cannot hide it."""


@lru_cache(maxsize=1)
def _s3_client() -> Any:
    import boto3

    return boto3.client("s3")


class WorkerInput:
    """The call's input as the module sees it (``ModuleInput``)."""

    def __init__(self, source: tuple[Any, ...], size: int) -> None:
        self._source = source
        self.size = size

    def chunks(self, size: int = MiB) -> Iterator[bytes]:
        kind = self._source[0]
        if kind == "s3":
            body = _s3_client().get_object(Bucket=self._source[1], Key=self._source[2])["Body"]
            yield from body.iter_chunks(size)
            return
        data = self.data()
        view = memoryview(data)
        for start in range(0, len(data), size):
            yield bytes(view[start : start + size])

    def data(self) -> bytes:
        kind = self._source[0]
        if kind == "bytes":
            return self._source[1]
        if kind == "text":
            return self._source[1].encode("utf-8")
        if kind == "s3":
            return b"".join(self.chunks(8 * MiB))
        return b""

    def text(self) -> str:
        if self._source[0] == "text":
            return self._source[1]
        return decode_utf8(self.data())


def _send(conn: Wire, message: tuple[Any, ...]) -> None:
    """Send one message whole: SIGXCPU is held back so it cannot cut a message in half."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGXCPU})
    try:
        conn.send(message)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGXCPU})


class WorkerContext:
    """Progress and logs back to the parent, throttled so a chatty module cannot flood it."""

    def __init__(self, conn: Wire) -> None:
        self._conn = conn
        self._last_progress = 0.0
        self._logs = 0

    def progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        fraction = min(max(float(fraction), 0.0), 1.0) if math.isfinite(fraction) else 0.0
        _send(self._conn, ("progress", fraction, str(message)[:500]))

    def log(self, message: str, level: str = "info") -> None:
        self._logs += 1
        if self._logs <= MAX_LOGS_PER_CALL:
            _send(self._conn, ("log", level, str(message)[:2000]))


def _on_sigxcpu(signum: int, frame: Any) -> None:
    raise CpuLimitExceeded


def _set_cpu_budget(seconds: float) -> None:
    # RLIMIT_CPU counts the whole process life; an idle worker uses no CPU, so moving the
    # soft limit to "used so far + budget" before each call gives each call its own budget.
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def run_call(call: CallRequest, conn: Wire, limits: WorkerLimits) -> tuple[Any, ...]:
    """Run one call; the returned tuple is the terminal message for the parent."""
    spec = catalogue()[call.module]
    _set_cpu_budget(call.cpu_seconds)
    try:
        params = spec.params.model_validate(call.params)
        _send(conn, ("begun",))
        result = spec.run(WorkerInput(call.source, call.size), params, WorkerContext(conn))
        text = _RESULT_ENCODER.encode(result)
    except ModuleError as exc:
        return ("error", exc.code, exc.message, exc.retryable, False)
    except CpuLimitExceeded:
        return (
            "error",
            "cpu_limit",
            f"module used more than {call.cpu_seconds:g} s of CPU",
            False,
            True,
        )
    except MemoryError:
        limit = limits.memory_bytes // MiB
        return (
            "error",
            "memory_limit",
            f"module exceeded the {limit} MB memory limit",
            False,
            True,
        )
    except RecursionError:
        return ("error", "module_error", "module exceeded the recursion limit", False, True)
    except Exception as exc:  # a module bug: report it, keep the worker
        return ("error", "module_error", f"{type(exc).__name__}: {exc}"[:500], False, False)
    if len(text.encode("utf-8")) > limits.max_output_bytes:
        size = limits.max_output_bytes
        return ("error", "output_too_large", f"result is larger than {size} bytes", False, False)
    return ("result", text)


def worker_main(calls: Any, replies: Any, limits: WorkerLimits) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    if limits.memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    for spec in catalogue().values():
        if spec.warm is not None:
            spec.warm()
    # The multiprocessing Connections only carry the pipes' file descriptors here.
    conn = Wire(calls.fileno(), replies.fileno())
    _send(conn, ("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        reply = run_call(CallRequest.from_wire(message), conn, limits)
        _send(conn, reply)
        if reply[0] == "error" and reply[4]:
            return  # after a resource limit the process state is suspect: start afresh
