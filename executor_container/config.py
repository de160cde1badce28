"""Executor settings, read once from the environment (README, "The executor", names them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MiB = 1024 * 1024


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _cpus() -> int:
    # The CPUs this process may run on (container cpusets), not the host's count.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 2


def _flag(name: str) -> bool:
    return _env(name).lower() in ("1", "true", "yes", "on")


def worker_lanes(env: Mapping[str, str]) -> tuple[int, int]:
    """(workers, workers kept for short calls) as ``env`` sets them: one worker per CPU, and
    one of them kept for short calls when there are two or more."""
    workers = int((env.get("AION_EXECUTOR_WORKERS") or "").strip() or _cpus())
    reserved = (env.get("AION_EXECUTOR_SHORT_RESERVED") or "").strip()
    return workers, int(reserved) if reserved else (1 if workers >= 2 else 0)


@dataclass(frozen=True)
class ExecutorConfig:
    host: str
    port: int
    bridge_token: str
    files_bucket: str
    reflection: bool
    grace_seconds: float
    workers: int
    worker_memory_bytes: int
    worker_max_calls: int
    max_output_bytes: int
    max_message_bytes: int
    # Workers long calls may not take (kept for short ones, chalicelib.shared.cost).
    short_reserved: int = 0

    @classmethod
    def from_env(cls) -> ExecutorConfig:
        workers, short_reserved = worker_lanes(os.environ)
        return cls(
            host=_env("AION_EXECUTOR_HOST", "127.0.0.1"),
            port=int(_env("AION_EXECUTOR_PORT", "50051")),
            bridge_token=_env("AION_BRIDGE_TOKEN"),
            files_bucket=_env("AION_FILES_BUCKET"),
            reflection=_flag("AION_EXECUTOR_REFLECTION"),
            grace_seconds=float(_env("AION_EXECUTOR_GRACE_SECONDS", "25")),
            workers=workers,
            worker_memory_bytes=int(_env("AION_EXECUTOR_WORKER_MEMORY_MB", "2048")) * MiB,
            worker_max_calls=int(_env("AION_EXECUTOR_WORKER_MAX_CALLS", "5000")),
            max_output_bytes=int(_env("AION_EXECUTOR_MAX_OUTPUT_BYTES", str(MiB))),
            max_message_bytes=int(_env("AION_EXECUTOR_MAX_MESSAGE_MB", "64")) * MiB,
            short_reserved=short_reserved,
        )
