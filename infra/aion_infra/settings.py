"""Per-stage settings (``-c stage=dev|prod``): sizes, retention, limits. Nothing secret here."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

STAGES = ("dev", "prod")


@dataclass(frozen=True)
class StageSettings:
    stage: str
    # Data (tables, files bucket, secrets) survives `cdk destroy` in prod; dev cleans up.
    retain_data: bool
    log_retention: logs.RetentionDays
    nat_gateways: int
    executor_min_tasks: int
    executor_max_tasks: int
    executor_cpu: int
    executor_memory_mib: int
    api_rate_limit: int  # requests per second, steady state, per stage
    api_burst_limit: int
    dispatch_max_concurrency: int  # concurrent dispatcher invocations the queue may drive
    alarm_email: str | None = None

    @property
    def prefix(self) -> str:
        return f"aion-{self.stage}-"

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        return cdk.RemovalPolicy.RETAIN if self.retain_data else cdk.RemovalPolicy.DESTROY

    @property
    def executor_workers(self) -> int:
        """Worker processes per executor task: one per half vCPU."""
        return max(1, self.executor_cpu // 512)

    @property
    def long_lane_slots(self) -> int:
        """Long runs at once (fair dispatch): the long places of the executor's minimum fleet
        (workers less the one each task keeps for short calls, executor_container.pool)."""
        workers = self.executor_workers
        reserved = 1 if workers >= 2 else 0
        return self.executor_min_tasks * (workers - reserved)

    @property
    def llm_lane_slots(self) -> int:
        """LLM runs at once (fair dispatch): each holds a dispatcher invocation, so at most
        half of the dispatcher's concurrency (the rest stays free for executor runs)."""
        return max(1, self.dispatch_max_concurrency // 2)

    def stack_name(self, part: str) -> str:
        return f"aion-{self.stage}-{part}"


_DEFAULTS: dict[str, StageSettings] = {
    "dev": StageSettings(
        stage="dev",
        retain_data=False,
        log_retention=logs.RetentionDays.TWO_WEEKS,
        nat_gateways=1,
        executor_min_tasks=1,
        executor_max_tasks=2,
        executor_cpu=512,
        executor_memory_mib=1024,
        api_rate_limit=50,
        api_burst_limit=100,
        dispatch_max_concurrency=5,
    ),
    "prod": StageSettings(
        stage="prod",
        retain_data=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        nat_gateways=2,
        executor_min_tasks=2,
        executor_max_tasks=6,
        executor_cpu=1024,
        executor_memory_mib=2048,
        api_rate_limit=200,
        api_burst_limit=400,
        dispatch_max_concurrency=20,
    ),
}


def settings_for(stage: str, *, alarm_email: str | None = None) -> StageSettings:
    if stage not in _DEFAULTS:
        raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
    base = _DEFAULTS[stage]
    if alarm_email:
        return StageSettings(**{**base.__dict__, "alarm_email": alarm_email})
    return base
