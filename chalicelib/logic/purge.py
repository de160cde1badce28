"""Purging a deleted project: its tasks, their activity, files and results, its own files and
the live subscriptions of its topics.

``DELETE /projects/{id}`` deletes the project and its memberships and writes a
``ProjectPurge`` marker in the same transaction; everything else goes here, in bounded
batches: a first small one right after the delete, the rest from the scheduled sweeper
(``continue_purges``), which finds pending purges with one Query on the marker's partition.

Per project, in this order, each step within the batch's budget:
1. running tasks get ``cancel_requested``, as ``POST /tasks/{id}/cancel`` does: the
   dispatcher's heartbeat stops the gRPC call and writes ``canceled`` (the sweeper does when the
   run died), so a later batch deletes them;
2. queued tasks and tasks in review are canceled (so a dispatch message still in flight finds
   them not queued and does nothing), then deleted like terminal tasks;
3. terminal tasks: their activity, files (rows and objects), large results and subscriptions
   first, then the row (conditional on being terminal), so a crash in between leaves the row to
   be found again;
4. the project's files (rows and objects), uploaded to the project or to its tasks;
5. the subscriptions of the project topic.
When a batch finds nothing left, the marker goes. Every step is idempotent and conditional, so
two purges of the same project (API and sweeper, or two sweeps) can overlap harmlessly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from pynamodb.exceptions import UpdateError

from chalicelib import aws_clients
from chalicelib.config import get_settings
from chalicelib.dal.models import (
    PURGE_PARTITION,
    File,
    ProjectMember,
    ProjectPurge,
    Task,
    project_status_key,
)
from chalicelib.dal.realtime_models import Subscription, project_topic
from chalicelib.errors import Conflict
from chalicelib.logic import lifecycle, task_children
from chalicelib.logic.lifecycle import (
    CANCELED,
    NEEDS_REVIEW,
    QUEUED,
    RUNNING,
    TERMINAL,
    is_terminal,
    status_is,
)
from chalicelib.models.tasks import STATUSES

log = logging.getLogger(__name__)

ACTOR = "purge"
# Statuses in the order a purge handles them (see the module docstring).
_ORDER = (RUNNING, QUEUED, NEEDS_REVIEW, *TERMINAL)
if sorted(_ORDER) != sorted(STATUSES):
    raise RuntimeError("a purge must handle tasks in every status")
# Items (tasks, files, subscriptions) one DELETE /projects/{id} removes before answering.
API_BUDGET = 20
# One sweep: at most this many items, and no longer than this many seconds, over all purges.
SWEEP_BUDGET = 400
SWEEP_SECONDS = 20.0
# The marker stays at least this long after the delete, whatever a batch finds: a task written
# just before the project went may show up late in the (eventually consistent) indexes.
SETTLE_SECONDS = 60.0


@dataclass
class PurgeReport:
    projects: list[str] = field(default_factory=list)  # projects worked on
    finished: list[str] = field(default_factory=list)  # projects with nothing left
    cancel_requested: list[str] = field(default_factory=list)  # running tasks asked to stop
    canceled: list[str] = field(default_factory=list)  # queued / in-review tasks canceled
    tasks_deleted: int = 0
    files_deleted: int = 0
    subscriptions_deleted: int = 0


class _Budget:
    def __init__(self, items: int, deadline: float | None) -> None:
        self.items = items
        self.deadline = deadline

    def left(self) -> int:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return 0
        return max(0, self.items)

    def spend(self, n: int = 1) -> None:
        self.items -= n


def pending_purges(limit: int = 100) -> list[ProjectPurge]:
    """Markers of projects still being purged, oldest project id first (one Query)."""
    return list(ProjectPurge.query(PURGE_PARTITION, limit=limit))


def purge_project(project_id: str, *, budget: int | None = None) -> PurgeReport:
    """One bounded batch of the purge of ``project_id`` (default: ``API_BUDGET`` items)."""
    report = PurgeReport()
    _purge(project_id, _Budget(API_BUDGET if budget is None else budget, None), report)
    return report


def continue_purges(*, budget: int | None = None, seconds: float | None = None) -> PurgeReport:
    """The sweeper's share: pending purges in turn until the count or time budget is spent
    (defaults: ``SWEEP_BUDGET`` items, ``SWEEP_SECONDS``)."""
    budget = SWEEP_BUDGET if budget is None else budget
    seconds = SWEEP_SECONDS if seconds is None else seconds
    report = PurgeReport()
    limit = _Budget(budget, time.monotonic() + seconds)
    for marker in pending_purges():
        if not limit.left():
            break
        try:
            _purge(marker.project_id, limit, report, marker=marker)
        except Exception:
            log.exception("purging project %s failed; the next sweep goes on", marker.project_id)
    return report


def _purge(
    project_id: str, budget: _Budget, report: PurgeReport, *, marker: ProjectPurge | None = None
) -> None:
    report.projects.append(project_id)
    if marker is None:
        try:
            marker = ProjectPurge.get(PURGE_PARTITION, project_id, consistent_read=True)
        except ProjectPurge.DoesNotExist:
            return  # finished by someone else (or never deleted)
    _drop_members(marker)
    left = False
    for status in _ORDER:
        left |= _purge_tasks(project_id, status, budget, report)
    left |= _purge_files(project_id, budget, report)
    left |= _purge_project_topic(project_id, budget, report)
    if left or not budget.left():
        return  # more next time (or the budget ran out right at the end: check again)
    if time.time() < float(marker.deleted_epoch) + SETTLE_SECONDS:
        return
    if _anything_left(project_id):
        return
    marker.delete()
    report.finished.append(project_id)


def _drop_members(marker: ProjectPurge) -> None:
    """Memberships the deleting transaction had no room for (legacy 99-member projects)."""
    if not marker.member_ids:
        return
    with ProjectMember.batch_write() as batch:
        for user_id in marker.member_ids:
            batch.delete(ProjectMember(user_id=user_id, project_id=marker.project_id))
    try:
        # Only while the marker exists: an update would recreate one a concurrent purge removed.
        marker.update(
            actions=[ProjectPurge.member_ids.set([])],
            condition=ProjectPurge.project_id.exists(),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def _purge_tasks(project_id: str, status: str, budget: _Budget, report: PurgeReport) -> bool:
    """Handle up to the budget of the project's tasks in ``status``; True if some remain."""
    size = budget.left()
    if not size:
        return True
    found = list(
        Task.by_project_status.query(project_status_key(project_id, status), limit=size + 1)
    )
    for task in found[:size]:
        budget.spend()
        _purge_task(task, report)
    # Running tasks stay until their run writes ``canceled``: a later batch deletes them.
    return len(found) > size or (status == RUNNING and bool(found))


def _purge_task(task: Task, report: PurgeReport) -> None:
    if not is_terminal(task.status):
        try:
            updated = lifecycle.cancel(task, actor=ACTOR)
        except Conflict:  # InvalidState included: it became terminal meanwhile
            updated = _reread(task.id)
        if updated is None:
            return  # deleted by a concurrent purge
        if updated.status == RUNNING:
            if not task.cancel_requested:
                report.cancel_requested.append(task.id)
            return
        if task.status != updated.status and updated.status == CANCELED:
            report.canceled.append(task.id)
        task = updated
        if not is_terminal(task.status):
            return  # changed again (re-queued by the sweeper): the next batch looks again
    removed = task_children.delete_task_children(task)
    report.files_deleted += removed.files
    report.subscriptions_deleted += removed.subscriptions
    try:
        task.delete(condition=status_is(*TERMINAL), add_version_condition=False)
    except Exception as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return  # gone already (a concurrent purge) or no longer terminal
        raise
    report.tasks_deleted += 1


def _reread(task_id: str) -> Task | None:
    try:
        return Task.get(task_id, consistent_read=True)
    except Task.DoesNotExist:
        return None


def _purge_files(project_id: str, budget: _Budget, report: PurgeReport) -> bool:

    size = budget.left()
    if not size:
        return True
    files = list(File.by_project.query(project_id, limit=size + 1))
    s3 = aws_clients.client("s3")
    for item in files[:size]:
        budget.spend()
        # The object first: a row without its object is harmless, an object without a row
        # would be found by nothing.
        s3.delete_object(Bucket=get_settings().files_bucket, Key=item.key)
        item.delete()
        report.files_deleted += 1
    return len(files) > size


def _purge_project_topic(project_id: str, budget: _Budget, report: PurgeReport) -> bool:
    size = budget.left()
    if not size:
        return True
    subs = list(
        Subscription.query(
            project_topic(project_id), attributes_to_get=["topic", "connection_id"], limit=size + 1
        )
    )
    with Subscription.batch_write() as batch:
        for sub in subs[:size]:
            batch.delete(sub)
    budget.spend(len(subs[:size]))
    report.subscriptions_deleted += len(subs[:size])
    return len(subs) > size


def _anything_left(project_id: str) -> bool:
    """A last look before the marker goes (one item per index suffices)."""
    if next(iter(Task.by_project.query(project_id, limit=1)), None) is not None:
        return True
    if next(iter(File.by_project.query(project_id, limit=1)), None) is not None:
        return True
    return next(iter(Subscription.query(project_topic(project_id), limit=1)), None) is not None
