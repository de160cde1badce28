"""What goes with a task: its activity log, files, large results and input, live subscriptions."""

from __future__ import annotations

import logging
from typing import NamedTuple

from chalicelib import aws_clients
from chalicelib.config import get_settings
from chalicelib.dal.models import Activity, File, Task
from chalicelib.dal.realtime_models import Subscription, task_topic
from chalicelib.logic import input_store, results

log = logging.getLogger(__name__)


class RemovedWithTask(NamedTuple):
    """What ``delete_task_children`` removed besides the activity log."""

    files: int
    subscriptions: int


def delete_task_children(task: Task) -> RemovedWithTask:
    """The task's events, files (rows and objects), large results and live subscriptions.

    Idempotent: run after the task row is gone (DELETE /tasks/{id}) or just before it goes
    (a project purge, so a crash in between leaves the row to find again).
    """

    with Activity.batch_write() as batch:
        for row in Activity.query(task.id, attributes_to_get=["task_id", "seq"]):
            batch.delete(row)
    s3 = aws_clients.client("s3")
    bucket = get_settings().files_bucket
    files = list(File.by_task.query(task.id))
    for item in files:
        try:
            s3.delete_object(Bucket=bucket, Key=item.key)
        except Exception:
            log.warning("could not delete file object", extra={"file_id": item.id})
        item.delete()
    results.delete_results(task)
    input_store.delete_input(task.input_ref)
    subscriptions = list(
        Subscription.query(task_topic(task.id), attributes_to_get=["topic", "connection_id"])
    )
    with Subscription.batch_write() as batch:
        for sub in subscriptions:
            batch.delete(sub)
    return RemovedWithTask(files=len(files), subscriptions=len(subscriptions))
