"""Take back running tasks whose lease expired, and re-drive queued tasks nobody dispatched.

Running: one Query on the ``by-status`` index (partition ``running``) with a filter on the lease
expiry; no Scan. Each task is moved with a write conditional on the exact lease it had when read,
so a heartbeat that renews in the meantime, or a second sweeper, wins and nothing happens twice:
- attempts left: ``running -> queued`` with ``attempts + 1`` and a new SQS message for that
  attempt (the old attempt's messages no longer match and are ignored by dispatch);
- cancel requested: ``canceled``;
- otherwise: ``failed`` with the reason.

Queued: one Query on the same index (partition ``queued``, ``updated_at`` older than
``queued_redrive_seconds``) finds tasks whose SQS message was lost or never sent (POST /tasks
leaves a task queued when SQS refuses the send). Each gets its message again, for the same
attempt: dispatch's claim makes a duplicate a no-op. A conditional touch of ``updated_at``
first makes one sweeper the sender and spaces re-sends of a task by the threshold, so a task
that stays queued for a long time (its route is down) gains one message per period, not one
per sweep. The touch counts the re-sends (``redrives``, reset by a claim); after
``max_redrives`` the task fails (``dispatch_stalled``): whatever keeps it from being
dispatched (a message refused at every delivery until the DLQ), it ends within a bound.

A write DynamoDB refuses for good (the item too large) ends the task with
``lifecycle.end_unwritable`` instead of failing every sweep.

Deleted projects: each sweep continues their purges within a count and time budget
(``chalicelib.logic.purge``; markers found with one Query).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.config import get_settings
from chalicelib.dal.item_size import is_validation_error
from chalicelib.dal.models import Task
from chalicelib.dal.task_updates import update_task
from chalicelib.logic import lifecycle
from chalicelib.logic.lifecycle import (
    CANCELED,
    FAILED,
    QUEUED,
    RUNNING,
    ConditionFailed,
    enqueue,
    queued_for_attempt,
    same_lease,
)
from chalicelib.logic.purge import PurgeReport, continue_purges
from chalicelib.models.tasks import EventDraft, Status

log = logging.getLogger(__name__)

ACTOR = "sweeper"
MAX_PER_SWEEP = 200


@dataclass
class SweepReport:
    examined: int = 0
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    redriven: list[str] = field(default_factory=list)  # queued tasks whose message was re-sent
    stalled: list[str] = field(default_factory=list)  # queued tasks failed: never dispatched
    purge: PurgeReport = field(default_factory=PurgeReport)  # deleted projects' purges


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def sweep(now: float | None = None) -> SweepReport:
    """Re-queue or end every running task whose lease expired before ``now``; re-drive stale
    queued tasks."""
    now = time.time() if now is None else now
    report = SweepReport()
    _take_back_expired(now, report)
    _redrive_queued(now, report)
    # After the take-back: a purge's running task whose run died is canceled by now.
    try:
        report.purge = continue_purges()
    except Exception:
        log.exception("continuing project purges failed")
    return report


def _take_back_expired(now: float, report: SweepReport) -> None:
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


def _redrive_queued(now: float, report: SweepReport) -> None:
    config = get_settings().dispatch
    cutoff = _iso(now - config.queued_redrive_seconds)
    stale = Task.by_status.query(QUEUED, Task.updated_at < cutoff, limit=MAX_PER_SWEEP)
    for task in stale:
        report.examined += 1
        attempt = int(task.attempts or 1)
        # Only if nothing changed since the read (same attempt, not touched): one sender.
        unchanged = queued_for_attempt(attempt) & (Task.updated_at == task.updated_at)
        if int(task.redrives or 0) >= config.max_redrives:
            _give_up(task, unchanged, report)
            continue
        try:
            update_task(
                task.id,
                [Task.updated_at.set(_iso(now)), Task.redrives.add(1)],
                condition=unchanged,
            )
        except ConditionFailed:
            continue  # dispatched, edited or re-driven by someone else meanwhile
        except Exception:
            log.exception("re-driving task %s failed", task.id)
            continue
        try:
            enqueue(task.id, attempt)
        except Exception:
            # Touched but not sent: the next sweep after the threshold tries again.
            log.exception("re-sending the dispatch message of task %s failed", task.id)
            continue
        log.info("re-sent the dispatch message of queued task %s", task.id)
        report.redriven.append(task.id)


def _give_up(task: Task, unchanged: Condition, report: SweepReport) -> None:
    """A queued attempt re-sent ``max_redrives`` times and never claimed: it fails."""
    config = get_settings().dispatch
    minutes = (config.max_redrives + 1) * config.queued_redrive_seconds / 60
    error = {
        "code": "dispatch_stalled",
        "message": f"No dispatcher took the task in about {minutes:.0f} minutes "
        f"({config.max_redrives} re-sends); retry it.",
    }
    event = EventDraft("status", error["message"], ACTOR, data={"error": error})
    try:
        _transition_or_end(
            task, QUEUED, FAILED, guard=unchanged, actions=[Task.error.set(error)], event=event
        )
    except ConditionFailed:
        return  # dispatched or edited meanwhile
    except Exception:
        log.exception("failing stalled task %s failed", task.id)
        return
    log.warning("queued task %s was never dispatched; failed it", task.id)
    report.stalled.append(task.id)


def _transition_or_end(
    task: Task,
    frm: Status,
    to: Status,
    *,
    guard: Condition,
    actions: list[Action],
    event: EventDraft,
) -> Status:
    """``lifecycle.transition``, or ``end_unwritable`` when DynamoDB refuses it for good."""
    try:
        lifecycle.transition(task, frm, to, guard=guard, actions=actions, events=[event])
        return to
    except Exception as exc:
        if not is_validation_error(exc):
            raise
    log.error("task %s cannot be written; ending it", task.id)
    lifecycle.end_unwritable(task, frm, guard=guard, actor=ACTOR, cause="the sweeper's write")
    return FAILED


def _take_back(task: Task, report: SweepReport) -> None:
    attempts = int(task.attempts or 1)
    max_attempts = get_settings().dispatch.max_attempts
    status: Status
    actions: list[Action]
    if task.cancel_requested:
        status, actions = CANCELED, []
        event = EventDraft("status", "Canceled (its run stopped responding).", ACTOR)
    elif attempts < max_attempts:
        status, actions = QUEUED, [Task.attempts.add(1)]
        event = EventDraft(
            "status",
            f"Lease expired; re-queued as attempt {attempts + 1} of {max_attempts}.",
            ACTOR,
            data={"attempt": attempts + 1},
        )
    else:
        error = {
            "code": "lease_expired",
            "message": f"The run stopped responding on attempt {attempts} of {max_attempts}.",
        }
        status, actions = FAILED, [Task.error.set(error)]
        event = EventDraft("status", error["message"], ACTOR, data={"error": error})
    # Only if the lease is still the one read: a renewal or another sweeper wins.
    status = _transition_or_end(
        task, RUNNING, status, guard=same_lease(task), actions=actions, event=event
    )
    if status == QUEUED:
        enqueue(task.id, attempts + 1)
        report.requeued.append(task.id)
    elif status == CANCELED:
        report.canceled.append(task.id)
    else:
        report.failed.append(task.id)
