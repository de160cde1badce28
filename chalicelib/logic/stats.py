"""Dashboard numbers for one project, from Queries on the by-project-status index only."""

from __future__ import annotations

import statistics

from chalicelib.auth.principal import Principal
from chalicelib.clock import parse_iso
from chalicelib.dal.models import Task, project_status_key
from chalicelib.logic.access import get_project_for
from chalicelib.logic.lifecycle import COMPLETED, FAILED
from chalicelib.models.stats import Duration, StatsOut
from chalicelib.models.tasks import STATUSES

RECENT = 20  # finished tasks per terminal status in the duration sample


def project_stats(principal: Principal, project_id: str) -> StatsOut:
    project = get_project_for(principal, project_id)
    counts: dict[str, int] = {
        status: Task.by_project_status.count(project_status_key(project.id, status))
        for status in STATUSES
    }
    durations: list[Duration] = []
    for status in (COMPLETED, FAILED):
        recent = Task.by_project_status.query(
            project_status_key(project.id, status),
            scan_index_forward=False,
            limit=RECENT,
            page_size=RECENT,
            attributes_to_get=["id", "status", "started_at", "finished_at"],
        )
        for task in recent:
            if task.started_at and task.finished_at:
                seconds = (parse_iso(task.finished_at) - parse_iso(task.started_at)).total_seconds()
                durations.append(
                    Duration(
                        task_id=task.id,
                        status=status,
                        finished_at=task.finished_at,
                        seconds=max(0.0, round(seconds, 3)),
                    )
                )
    durations.sort(key=lambda d: d.finished_at, reverse=True)
    return StatsOut(
        project_id=project.id,
        counts=counts,
        total=sum(counts.values()),
        recent_durations=durations[:RECENT],
        median_seconds=statistics.median(d.seconds for d in durations) if durations else None,
    )
