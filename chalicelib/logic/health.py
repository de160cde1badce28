"""Health: DynamoDB always; executor and queue when configured ("unconfigured" otherwise)."""

from __future__ import annotations

import logging

from chalicelib import aws_clients, executor_client
from chalicelib.config import get_settings
from chalicelib.dal.models import User
from chalicelib.models.health import CheckState, HealthOut

log = logging.getLogger(__name__)


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
