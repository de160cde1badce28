"""Results too large to keep on the task: one S3 object per attempt in the files bucket, at
``results/{task}/{attempt}.json``; the task keeps the key in ``result_ref``.

The keys of every attempt are known from the task alone, so deleting them needs no listing
(and no ``s3:ListBucket``).
"""

from __future__ import annotations

import logging

from chalicelib import aws_clients
from chalicelib.config import get_settings
from chalicelib.dal.models import Task

log = logging.getLogger(__name__)


def result_prefix(task_id: str) -> str:
    return f"results/{task_id}/"


def result_key(task_id: str, attempt: int) -> str:
    return f"{result_prefix(task_id)}{attempt}.json"


def store_result(task_id: str, attempt: int, encoded: bytes) -> str:
    """Put the JSON result of ``attempt``; return its key."""
    key = result_key(task_id, attempt)
    aws_clients.client("s3").put_object(
        Bucket=get_settings().files_bucket, Key=key, Body=encoded, ContentType="application/json"
    )
    return key


def delete_results(task: Task) -> None:
    """Delete the stored results of every attempt of ``task`` (best effort: logged)."""
    keys = {result_key(task.id, n) for n in range(1, int(task.attempts or 1) + 1)}
    if task.result_ref and task.result_ref.startswith(result_prefix(task.id)):
        keys.add(task.result_ref)
    try:
        aws_clients.client("s3").delete_objects(
            Bucket=get_settings().files_bucket,
            Delete={"Objects": [{"Key": k} for k in sorted(keys)], "Quiet": True},
        )
    except Exception:
        log.warning("could not delete result objects", extra={"task_id": task.id})
