"""The dispatcher's settings (environment), read once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


@dataclass(frozen=True)
class DispatchConfig:
    lease_seconds: float
    heartbeat_seconds: float
    max_receives: int  # must match the queue's redrive maxReceiveCount
    max_attempts: int  # sweeper re-queues (attempt + 1) up to this many attempts
    executor_timeout_seconds: float
    progress_per_second: float
    max_log_events: int
    result_inline_bytes: int
    backoff_base_seconds: float
    backoff_cap_seconds: float
    # A task queued this long without any change gets its SQS message again (sweeper). Longer
    # than the backoff cap, so a message merely waiting out its backoff is not doubled.
    queued_redrive_seconds: float
    # Re-sends after which a queued task nobody dispatches fails (``dispatch_stalled``): a
    # task ends within about (max_redrives + 1) x queued_redrive_seconds whatever fails.
    max_redrives: int
    # Fair dispatch (chalicelib.logic.admission): runs at once per person, per project, and
    # of long tasks; 0 turns a cap off.
    user_concurrency: int
    project_concurrency: int
    long_lane_slots: int
    # A task waiting for a place is looked at again after a delay growing from the base to
    # the cap (seconds; SQS allows at most 900).
    wait_base_seconds: float
    wait_cap_seconds: float


@lru_cache(maxsize=1)
def get_config() -> DispatchConfig:
    lease = _env_float("AION_LEASE_SECONDS", 60)
    return DispatchConfig(
        lease_seconds=lease,
        heartbeat_seconds=min(_env_float("AION_HEARTBEAT_SECONDS", 5), lease / 3),
        max_receives=int(_env_float("AION_DISPATCH_MAX_RECEIVES", 5)),
        max_attempts=int(_env_float("AION_DISPATCH_MAX_ATTEMPTS", 3)),
        executor_timeout_seconds=_env_float("AION_EXECUTOR_TIMEOUT_SECONDS", 120),
        progress_per_second=_env_float("AION_PROGRESS_EVENTS_PER_SECOND", 4),
        max_log_events=int(_env_float("AION_MAX_LOG_EVENTS", 50)),
        result_inline_bytes=int(_env_float("AION_RESULT_INLINE_BYTES", 32 * 1024)),
        backoff_base_seconds=_env_float("AION_RETRY_BASE_SECONDS", 2),
        backoff_cap_seconds=_env_float("AION_RETRY_CAP_SECONDS", 300),
        queued_redrive_seconds=_env_float("AION_QUEUED_REDRIVE_SECONDS", 600),
        max_redrives=int(_env_float("AION_DISPATCH_MAX_REDRIVES", 3)),
        user_concurrency=int(_env_float("AION_USER_CONCURRENCY", 4)),
        project_concurrency=int(_env_float("AION_PROJECT_CONCURRENCY", 8)),
        long_lane_slots=int(_env_float("AION_LONG_LANE_SLOTS", 4)),
        wait_base_seconds=_env_float("AION_DISPATCH_WAIT_BASE_SECONDS", 1),
        wait_cap_seconds=min(900.0, _env_float("AION_DISPATCH_WAIT_CAP_SECONDS", 20)),
    )
