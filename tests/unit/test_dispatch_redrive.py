"""Queued tasks without a dispatch message: POST /tasks keeps them, the sweeper re-sends them."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3
import pytest

from chalicelib.auth.principal import Principal
from chalicelib.config import get_settings
from chalicelib.dal.models import Task
from chalicelib.logic import dispatch, sweeper, tasks
from chalicelib.models.tasks import TaskCreate
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    install_fakes,
    realtime,
    seed_project,
    seed_task,
)

__all__ = ["realtime"]


def _messages(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def _later() -> float:
    return time.time() + get_settings().dispatch.queued_redrive_seconds + 1


def test_create_keeps_the_task_queued_when_sqs_refuses(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from chalicelib.aws_clients import client

    project = seed_project()
    sqs = client("sqs")

    def refuse(**_kw: Any) -> None:
        raise RuntimeError("queue down")

    monkeypatch.setattr(sqs, "send_message", refuse)
    owner = Principal(user_id=project.owner_id, role="member")
    with caplog.at_level(logging.ERROR, logger="chalicelib.logic.tasks"):
        created, was_new = tasks.create_task(
            owner, TaskCreate(project_id=project.id, instruction="x")
        )
    assert was_new
    assert created.status == "queued"
    stored = Task.get(created.id)
    assert (stored.status, stored.error, stored.finished_at) == ("queued", None, None)
    assert [(a.kind, a.status) for a in activity_of(created.id)] == [("status", "queued")]
    assert "stays queued for the sweeper" in caplog.text


def test_sweeper_resends_only_queued_tasks_older_than_the_threshold(realtime: Realtime) -> None:
    old = seed_task(seed_project())
    assert sweeper.sweep().redriven == []  # just created: its message may be on its way
    report = sweeper.sweep(now=_later())
    assert report.redriven == [old.id]
    assert _messages(realtime.queue_url) == [{"taskId": old.id, "attempt": 1}]
    # Touched when re-sent: the next sweeps leave it alone until a whole period has passed.
    assert sweeper.sweep(now=_later()).redriven == []
    stored = Task.get(old.id)
    assert (stored.status, stored.attempts, stored.version) == ("queued", 1, old.version)


def test_a_redriven_message_runs_the_task_once(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = install_fakes(monkeypatch)
    task = seed_task(seed_project())
    sweeper.sweep(now=_later())
    body = json.dumps({"taskId": task.id, "attempt": 1})
    assert dispatch.handle_message(body).status == "completed"
    # The original message turns up after all: a no-op.
    assert dispatch.handle_message(body).status == "skipped"
    assert len(fakes.executor_calls) == 1


def test_a_task_changed_since_the_read_is_not_resent(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = seed_task(seed_project())
    original = sweeper.update_task

    def claimed_first(*args: Any, **kwargs: Any) -> Any:
        # Dispatch claims it between the sweeper's Query and its conditional touch.
        Task(task.id).update(actions=[Task.status.set("running")], add_version_condition=False)
        return original(*args, **kwargs)

    monkeypatch.setattr(sweeper, "update_task", claimed_first)
    assert sweeper.sweep(now=_later()).redriven == []
    assert _messages(realtime.queue_url) == []


def test_a_failed_resend_is_tried_again_a_period_later(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = seed_task(seed_project())

    def refuse(task_id: str, attempt: int) -> None:
        raise RuntimeError("queue down")

    with monkeypatch.context() as patched:
        patched.setattr(sweeper, "enqueue", refuse)
        assert sweeper.sweep(now=_later()).redriven == []
    period = get_settings().dispatch.queued_redrive_seconds
    assert sweeper.sweep(now=_later() + period + 1).redriven == [task.id]
