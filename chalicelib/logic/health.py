"""Health: DynamoDB always; executor and queue when configured ("unconfigured" otherwise).

Liveness (``GET /health``) answers 200 with what it found, ``degraded`` when anything is down.
Readiness (``GET /health/ready``) is what a load balancer or deploy gate asks: not ready (503)
while a core dependency is down, one without which no task can be written or dispatched.
The executor is not core: tasks wait in the queue (and are retried) while it is away.
"""

from __future__ import annotations

import logging

from chalicelib import aws_clients, executor_client
from chalicelib.config import get_settings
from chalicelib.dal.models import User
from chalicelib.models.health import CheckState, HealthOut

log = logging.getLogger(__name__)

# Without these the API can neither store nor dispatch a task.
CORE_DEPENDENCIES = ("dynamodb", "queue")


def _dynamodb() -> CheckState:
    try:
        User._get_connection().describe_table()
        return "ok"
    except Exception:
        log.warning("health: dynamodb check failed", exc_info=True)
        return "error"


def _queue() -> CheckState:
    url = get_settings().dispatch_queue_url
    if not url:
        return "unconfigured"
    try:
        aws_clients.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return "ok"
    except Exception:
        log.warning("health: queue check failed", exc_info=True)
        return "error"


def _executor() -> CheckState:
    if not get_settings().executor_target:
        return "unconfigured"
    try:
        return "ok" if executor_client.get_executor_client().health(timeout_s=1.0) else "error"
    except Exception:
        log.warning("health: executor check failed", exc_info=True)
        return "error"


def health() -> HealthOut:
    checks: dict[str, CheckState] = {
        "dynamodb": _dynamodb(),
        "executor": _executor(),
        "queue": _queue(),
    }
    degraded = any(state == "error" for state in checks.values())
    return HealthOut(
        status="degraded" if degraded else "ok",
        checks=checks,
        version=get_settings().version,
    )


def unready(out: HealthOut) -> list[str]:
    """The core dependencies that are not "ok" in ``out`` (empty: ready)."""
    return [name for name in CORE_DEPENDENCIES if out.checks.get(name) != "ok"]
