"""Executor settings, read once from the environment (README, "The executor", names them)."""

from __future__ import annotations

import os
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

    @classmethod
    def from_env(cls) -> ExecutorConfig:
        return cls(
            host=_env("AION_EXECUTOR_HOST", "127.0.0.1"),
            port=int(_env("AION_EXECUTOR_PORT", "50051")),
            bridge_token=_env("AION_BRIDGE_TOKEN"),
            files_bucket=_env("AION_FILES_BUCKET"),
            reflection=_flag("AION_EXECUTOR_REFLECTION"),
            grace_seconds=float(_env("AION_EXECUTOR_GRACE_SECONDS", "25")),
            workers=int(_env("AION_EXECUTOR_WORKERS", str(_cpus()))),
            worker_memory_bytes=int(_env("AION_EXECUTOR_WORKER_MEMORY_MB", "2048")) * MiB,
            worker_max_calls=int(_env("AION_EXECUTOR_WORKER_MAX_CALLS", "5000")),
            max_output_bytes=int(_env("AION_EXECUTOR_MAX_OUTPUT_BYTES", str(MiB))),
            max_message_bytes=int(_env("AION_EXECUTOR_MAX_MESSAGE_MB", "64")) * MiB,
        )
