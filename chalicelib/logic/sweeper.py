"""Take back running tasks whose lease expired (the executor or the dispatching Lambda died).

One Query on the ``by-status`` index (partition ``running``) with a filter on the lease expiry;
no Scan. Each task is moved with a write conditional on the exact lease it had when read, so a
heartbeat that renews in the meantime, or a second sweeper, wins and nothing happens twice:
- attempts left: ``running -> queued`` with ``attempts + 1`` and a new SQS message for that
  attempt (the old attempt's messages no longer match and are ignored by dispatch);
- cancel requested: ``canceled``;
- otherwise: ``failed`` with the reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.clock import now_iso
from chalicelib.dal.models import Task
from chalicelib.dal.task_updates import ConditionFailed
from chalicelib.logic import telemetry
from chalicelib.logic.dispatch import (
    CANCELED,
    FAILED,
    QUEUED,
    RUNNING,
    get_config,
    send_dispatch_message,
)

log = logging.getLogger(__name__)

ACTOR = "sweeper"
MAX_PER_SWEEP = 200


@dataclass
class SweepReport:
    examined: int = 0
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)


def _base_actions(task: Task, status: str) -> list[Any]:
    return [
        Task.status.set(status),
        Task.project_status.set(f"{task.project_id}#{status}"),
        Task.updated_at.set(now_iso()),
        Task.version.add(1),
        Task.lease_owner.remove(),
        Task.lease_expires_at.remove(),
    ]


def _same_lease(task: Task) -> Any:
    return (
        (Task.status == RUNNING)
        & (Task.lease_owner == task.lease_owner)
        & (Task.lease_expires_at == task.lease_expires_at)
    )


def sweep(now: float | None = None) -> SweepReport:
    """Re-queue or end every running task whose lease expired before ``now``."""
    now = time.time() if now is None else now
    report = SweepReport()
    expired = Task.by_status.query(
        RUNNING, filter_condition=Task.lease_expires_at < now, limit=MAX_PER_SWEEP
    )
    for task in expired:
        report.examined += 1
        try:
            _take_back(task, report)
        except ConditionFailed:
            continue  # renewed, finished or swept by someone else meanwhile
        except Exception:
            log.exception("sweeping task %s failed", task.id)
    return report


def _take_back(task: Task, report: SweepReport) -> None:
    attempts = int(task.attempts or 1)
    max_attempts = get_config().max_attempts
    if task.cancel_requested:
        status, actions = CANCELED, [Task.finished_at.set(now_iso())]
        message = "Canceled (its run stopped responding)."
        data: Any = None
    elif attempts < max_attempts:
        status, actions = QUEUED, [Task.attempts.add(1)]
        message = f"Lease expired; re-queued as attempt {attempts + 1} of {max_attempts}."
        data = {"attempt": attempts + 1}
    else:
        error = {
            "code": "lease_expired",
            "message": f"The run stopped responding on attempt {attempts} of {max_attempts}.",
        }
        status = FAILED
        actions = [Task.finished_at.set(now_iso()), Task.error.set(error)]
        message, data = error["message"], {"error": error}
    events, _ = telemetry.transition(
        task.id,
        task.project_id,
        actions=[*_base_actions(task, status), *actions],
        condition=_same_lease(task),
        events=[
            {"kind": "status", "status": status, "message": message, "actor": ACTOR, "data": data}
        ],
    )
    if status == QUEUED:
        send_dispatch_message(task.id, attempts + 1)
        report.requeued.append(task.id)
    elif status == CANCELED:
        report.canceled.append(task.id)
    else:
        report.failed.append(task.id)
    telemetry.publish_all(events)
