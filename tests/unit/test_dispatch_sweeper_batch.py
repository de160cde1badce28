"""The lease sweeper and the SQS batch contract (backoff, deletes, DLQ-bound failures)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from chalicelib.config import get_settings
from chalicelib.dal.models import Task, project_status_key
from chalicelib.executor_client import ExecutorUnavailable
from chalicelib.logic import dispatch, sweeper
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    fake_executor,
    install_fakes,
    realtime,
    seed_project,
    seed_task,
)

__all__ = ["realtime"]


def _running(task: Task, *, expires_in: float, attempts: int = 1, cancel: bool = False) -> None:
    Task(task.id).update(
        actions=[
            Task.status.set("running"),
            Task.project_status.set(project_status_key(task.project_id, "running")),
            Task.lease_owner.set("lease_dead"),
            Task.lease_expires_at.set(time.time() + expires_in),
            Task.attempts.set(attempts),
            Task.cancel_requested.set(cancel),
        ],
        add_version_condition=False,
    )


def _queued_messages(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_expired_lease_is_requeued_as_the_next_attempt(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    _running(task, expires_in=-5)
    live = seed_task(seed_project())
    _running(live, expires_in=60)
    report = sweeper.sweep()
    assert report.requeued == [task.id]
    stored = Task.get(task.id)
    assert (stored.status, stored.attempts, stored.lease_owner) == ("queued", 2, None)
    assert stored.project_status == project_status_key(task.project_id, "queued")
    assert activity_of(task.id)[-1].status == "queued"
    assert _queued_messages(realtime.queue_url) == [{"taskId": task.id, "attempt": 2}]
    assert Task.get(live.id).status == "running"


def test_expired_lease_on_the_last_attempt_fails_with_a_reason(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    _running(task, expires_in=-5, attempts=get_settings().dispatch.max_attempts)
    report = sweeper.sweep()
    assert report.failed == [task.id]
    stored = Task.get(task.id)
    assert stored.status == "failed"
    assert stored.error["code"] == "lease_expired"
    assert stored.finished_at
    assert _queued_messages(realtime.queue_url) == []


def test_expired_lease_with_cancel_requested_is_canceled(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    _running(task, expires_in=-5, cancel=True)
    assert sweeper.sweep().canceled == [task.id]
    assert Task.get(task.id).status == "canceled"


def test_a_renewed_lease_wins_over_the_sweeper(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = seed_task(seed_project())
    _running(task, expires_in=-5)
    original = sweeper._take_back

    def renew_first(found: Task, report: sweeper.SweepReport) -> None:
        Task(task.id).update(
            actions=[Task.lease_expires_at.set(time.time() + 60)], add_version_condition=False
        )
        original(found, report)

    monkeypatch.setattr(sweeper, "_take_back", renew_first)
    report = sweeper.sweep()
    assert (report.examined, report.requeued, report.failed) == (1, [], [])
    assert Task.get(task.id).status == "running"


def _record(body: str, *, receive_count: int = 1, message_id: str = "m-1") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:aion-test-dispatch",
    }


def test_batch_runs_records_and_raises_only_for_failures(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str, int]] = []

    class RecordingSqs:
        def change_message_visibility(self, **kw: Any) -> None:
            calls.append(("visibility", kw["ReceiptHandle"], kw["VisibilityTimeout"]))

        def delete_message_batch(self, **kw: Any) -> None:
            for entry in kw["Entries"]:
                calls.append(("delete", entry["ReceiptHandle"], 0))

    monkeypatch.setattr("chalicelib.aws_clients.client", lambda name: RecordingSqs())
    install_fakes(monkeypatch)
    good = seed_task(seed_project())
    records = [
        _record(json.dumps({"taskId": good.id, "attempt": 1}), message_id="ok"),
        _record("not json", receive_count=3, message_id="poison"),
    ]
    with pytest.raises(dispatch.BatchRetry) as raised:
        dispatch.handle_batch(records)
    assert raised.value.message_ids == ["poison"]
    assert Task.get(good.id).status == "completed"
    assert ("delete", "rh-ok", 0) in calls
    visibility = [c for c in calls if c[0] == "visibility"]
    assert len(visibility) == 1
    assert visibility[0][1] == "rh-poison"
    assert 1 <= visibility[0][2] <= 8  # base 2 s * 2**(3-1), full jitter


def test_transient_failure_leaves_the_message_for_redelivery(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fakes(monkeypatch, executor=fake_executor(ExecutorUnavailable("executor unavailable")))
    sqs = boto3.client("sqs", region_name="us-east-1")
    task = seed_task(seed_project())
    sqs.send_message(
        QueueUrl=realtime.queue_url, MessageBody=json.dumps({"taskId": task.id, "attempt": 1})
    )
    got = sqs.receive_message(
        QueueUrl=realtime.queue_url, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"][0]
    record = {
        "messageId": got["MessageId"],
        "receiptHandle": got["ReceiptHandle"],
        "body": got["Body"],
        "attributes": got["Attributes"],
    }
    with pytest.raises(dispatch.BatchRetry):
        dispatch.handle_batch([record])
    assert Task.get(task.id).status == "queued"
    # Not deleted: still in flight (its visibility was pushed out), so not receivable now.
    attrs = sqs.get_queue_attributes(QueueUrl=realtime.queue_url, AttributeNames=["All"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_backoff_grows_exponentially_and_is_capped() -> None:
    config = get_settings().dispatch
    for receive in range(1, 12):
        ceiling = min(config.backoff_cap_seconds, config.backoff_base_seconds * 2 ** (receive - 1))
        samples = [dispatch.backoff_seconds(receive, config) for _ in range(50)]
        assert all(1 <= s <= max(1, ceiling) for s in samples)
    assert max(dispatch.backoff_seconds(20, config) for _ in range(200)) > 60
