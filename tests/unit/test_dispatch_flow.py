"""Dispatch of one message: claim, route, relay, terminal write — with a fake executor/router."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from chalicelib.config import get_settings
from chalicelib.dal.models import Task, project_status_key
from chalicelib.dal.task_updates import event_of
from chalicelib.executor_client import ExecEvent, ExecutorUnavailable
from chalicelib.llm import LlmError
from chalicelib.logic import dispatch, dispatch_run, fanout, progress, sweeper
from tests.unit.realtime_fakes import (
    Fakes,
    Realtime,
    activity_of,
    decision,
    fake_executor,
    install_fakes,
    realtime,
    seed_project,
    seed_task,
    serialize_task_updates,
)

__all__ = ["realtime"]


def _fakes(monkeypatch: pytest.MonkeyPatch, **kw: Any) -> Fakes:
    return install_fakes(monkeypatch, **kw)


def _body(task: Task, attempt: int = 1) -> str:
    return json.dumps({"taskId": task.id, "attempt": attempt})


def _kinds(task_id: str) -> list[tuple[str, str]]:
    return [(a.kind, a.status) for a in activity_of(task_id)]


def test_executor_task_runs_to_completed_with_ordered_events(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = _fakes(monkeypatch)
    task = seed_task(seed_project())
    outcome = dispatch.handle_message(_body(task))
    assert outcome.status == "completed"
    assert _kinds(task.id) == [
        ("status", "queued"),
        ("routed", "running"),
        ("status", "running"),
        ("progress", "running"),  # "started" relayed as progress 0
        ("progress", "running"),
        ("progress", "running"),
        ("log", "running"),
        ("status", "completed"),
    ]
    seqs = [int(a.seq) for a in activity_of(task.id)]
    assert seqs == sorted(set(seqs))
    done = Task.get(task.id)
    assert (done.status, done.result, done.result_ref) == ("completed", {"words": 3}, None)
    assert done.project_status == project_status_key(task.project_id, "completed")
    assert done.lease_owner is None
    assert done.route["module"] == "text.stats"
    assert done.started_at
    assert done.finished_at
    assert done.last_seq == seqs[-1]
    assert done.version > task.version
    call = fakes.executor_calls[0]
    assert (call["module"], call["input_text"], call["attempt"]) == ("text.stats", "a b c", 1)
    assert isinstance(call["cancel"], threading.Event)
    assert fakes.route_outcomes == [("executor", True)]
    # What was stored is exactly what the outcome reports (seq 1 was written by POST /tasks).
    stored = [event_of(a) for a in activity_of(task.id)][1:]
    assert stored == outcome.events


def test_events_are_published_to_task_subscribers(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from chalicelib.dal.realtime_models import Subscription, task_topic

    _fakes(monkeypatch)
    task = seed_task(seed_project())
    Subscription(
        task_topic(task.id), "c-1", user_id="u", created_at=0, expires_at=timedelta(hours=1)
    ).save()
    dispatch.handle_message(_body(task))
    received = realtime.mgmt.messages_to("c-1")
    assert [m["seq"] for m in received] == list(range(2, 2 + len(received)))
    assert received[-1]["status"] == "completed"
    assert received[-1]["data"] == {"result": {"words": 3}}


def test_duplicate_and_stale_deliveries_do_nothing(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = _fakes(monkeypatch)
    task = seed_task(seed_project())
    assert dispatch.handle_message(_body(task, attempt=2)).status == "skipped"
    assert dispatch.handle_message(_body(task)).status == "completed"
    events = len(activity_of(task.id))
    assert dispatch.handle_message(_body(task)).status == "skipped"
    assert len(fakes.executor_calls) == 1
    assert len(activity_of(task.id)) == events
    assert dispatch.handle_message(json.dumps({"taskId": "tsk_nope", "attempt": 1})).status == (
        "skipped"
    )


def test_concurrent_duplicate_deliveries_execute_once(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = _fakes(monkeypatch)
    serialize_task_updates(monkeypatch)
    task = seed_task(seed_project())
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(dispatch.handle_message(_body(task)).status)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["completed", "skipped", "skipped", "skipped"]
    assert len(fakes.executor_calls) == 1
    assert [k for k in _kinds(task.id) if k[1] == "completed"] == [("status", "completed")]


def test_review_route_goes_to_needs_review(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = decision("llm.generate", target="review", stage="threshold", reason="no LLM configured")
    fakes = _fakes(monkeypatch, route=route)
    task = seed_task(seed_project(), instruction="write a poem about the sea")
    outcome = dispatch.handle_message(_body(task))
    assert outcome.status == "needs_review"
    assert _kinds(task.id)[1:] == [("routed", "needs_review"), ("status", "needs_review")]
    stored = Task.get(task.id)
    assert stored.status == "needs_review"
    assert stored.route["target"] == "review"
    assert fakes.executor_calls == []


def test_review_because_a_configured_route_is_down_is_retried(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = decision(target="review", stage="health", reason="breaker open")
    _fakes(monkeypatch, route=route)
    task = seed_task(seed_project())
    with pytest.raises(dispatch.RetryLater):
        dispatch.handle_message(_body(task), receive_count=1)
    assert Task.get(task.id).status == "queued"


def test_review_for_an_unconfigured_llm_or_low_confidence_is_a_verdict(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = decision("llm.generate", target="review", stage="health")
    _fakes(monkeypatch, route=llm, llm_configured=False)
    task = seed_task(seed_project(), instruction="write a poem")
    assert dispatch.handle_message(_body(task)).status == "needs_review"
    unsure = decision(target="review", stage="threshold")
    _fakes(monkeypatch, route=unsure)
    other = seed_task(seed_project(), instruction="do something vague")
    assert dispatch.handle_message(_body(other)).status == "needs_review"


def test_review_because_the_executor_is_down_is_retried_until_the_last_delivery(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = decision(target="review", stage="health", reason="executor unavailable")
    _fakes(monkeypatch, route=route)
    task = seed_task(seed_project())
    with pytest.raises(dispatch.RetryLater):
        dispatch.handle_message(_body(task), receive_count=1)
    assert Task.get(task.id).status == "queued"
    # On the last delivery the router's verdict stands.
    outcome = dispatch.handle_message(
        _body(task), receive_count=get_settings().dispatch.max_receives
    )
    assert outcome.status == "needs_review"


def test_executor_unavailable_requeues_then_fails_on_last_delivery(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = _fakes(monkeypatch, executor=fake_executor(ExecutorUnavailable("down")))
    task = seed_task(seed_project())
    with pytest.raises(dispatch.RetryLater):
        dispatch.handle_message(_body(task), receive_count=1)
    back = Task.get(task.id)
    assert (back.status, back.lease_owner, back.attempts) == ("queued", None, 1)
    assert _kinds(task.id)[-1] == ("status", "queued")
    last = get_settings().dispatch.max_receives
    outcome = dispatch.handle_message(_body(task), receive_count=last)
    assert outcome.status == "failed"
    failed = Task.get(task.id)
    assert failed.error["code"] == "retries_exhausted"
    assert ("executor", False) in fakes.route_outcomes


def test_stream_error_that_is_permanent_fails_at_once(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [
        ExecEvent("started"),
        ExecEvent("error", message="bad expression", error_code="invalid_input"),
    ]
    _fakes(monkeypatch, executor=fake_executor(script))
    task = seed_task(seed_project())
    outcome = dispatch.handle_message(_body(task), receive_count=1)
    assert outcome.status == "failed"
    stored = Task.get(task.id)
    assert stored.error == {"code": "invalid_input", "message": "bad expression"}
    assert outcome.events[-1].data == {"error": stored.error}


def test_retryable_stream_error_and_missing_result_are_transient(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [ExecEvent("error", message="busy", error_code="resource_exhausted", retryable=True)]
    _fakes(monkeypatch, executor=fake_executor(script))
    task = seed_task(seed_project())
    with pytest.raises(dispatch.RetryLater):
        dispatch.handle_message(_body(task))
    _fakes(monkeypatch, executor=fake_executor([ExecEvent("started")]))
    with pytest.raises(dispatch.RetryLater):
        dispatch.handle_message(_body(task), receive_count=2)
    assert Task.get(task.id).status == "queued"


def test_large_result_goes_to_s3_and_task_keeps_a_reference(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = {"text": "x" * 50_000}
    _fakes(monkeypatch, executor=fake_executor([ExecEvent("result", result=big)]))
    task = seed_task(seed_project())
    outcome = dispatch.handle_message(_body(task))
    stored = Task.get(task.id)
    assert stored.result is None
    assert stored.result_ref == f"results/{task.id}/1.json"
    body = (
        boto3.client("s3", region_name="us-east-1")
        .get_object(Bucket="aion-test-files", Key=stored.result_ref)["Body"]
        .read()
    )
    assert json.loads(body) == big
    assert outcome.events[-1].data["resultRef"] == stored.result_ref


def test_chatty_progress_is_coalesced(realtime: Realtime, monkeypatch: pytest.MonkeyPatch) -> None:
    realtime.setenv("AION_PROGRESS_EVENTS_PER_SECOND", "2")
    script = [ExecEvent("progress", i / 500, f"step {i}") for i in range(500)]
    script.append(ExecEvent("result", result={"ok": True}))
    _fakes(monkeypatch, executor=fake_executor(script))
    task = seed_task(seed_project())
    dispatch.handle_message(_body(task))
    progress = [a for a in activity_of(task.id) if a.kind == "progress"]
    # The first value goes out at once, the last one is flushed before the terminal event.
    assert 2 <= len(progress) <= 6
    assert progress[-1].message == "step 499"


def test_progress_coalescer_rate_and_change() -> None:
    now = [0.0]
    coalescer = progress.ProgressCoalescer(4, clock=lambda: now[0])
    assert coalescer.offer(0.1, "a") == (0.1, "a")
    assert coalescer.offer(0.2, "b") is None  # too soon
    now[0] = 0.3
    assert coalescer.offer(0.3, "c") == (0.3, "c")
    now[0] = 1.0
    assert coalescer.offer(0.3, "c") is None  # no change
    assert coalescer.flush() is None
    assert coalescer.offer(0.4, "d") == (0.4, "d")
    assert coalescer.offer(0.5, "e") is None
    assert coalescer.flush() == (0.5, "e")


def test_log_lines_are_capped(realtime: Realtime, monkeypatch: pytest.MonkeyPatch) -> None:
    realtime.setenv("AION_MAX_LOG_EVENTS", "3")
    script = [ExecEvent("log", message=f"line {i}") for i in range(20)]
    script.append(ExecEvent("result", result=1))
    _fakes(monkeypatch, executor=fake_executor(script))
    task = seed_task(seed_project())
    dispatch.handle_message(_body(task))
    logs = [a.message for a in activity_of(task.id) if a.kind == "log"]
    assert logs == ["line 0", "line 1", "line 2", "Further log lines are not relayed."]


def _blocking_script(started: threading.Event, release: threading.Event | None = None) -> Any:
    def script(cancel: threading.Event) -> Any:
        yield ExecEvent("progress", 0.1, "working")
        started.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            # Like the gRPC client: a set cancel event ends the call.
            if cancel.wait(0.02):
                yield ExecEvent("error", message="canceled", error_code="canceled")
                return
            if release is not None and release.is_set():
                break
        yield ExecEvent("result", result="finished late")

    return script


def test_cancel_requested_stops_the_running_call(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()
    _fakes(monkeypatch, executor=fake_executor(_blocking_script(started)))
    task = seed_task(seed_project())
    result: list[dispatch_run.Outcome] = []
    worker = threading.Thread(target=lambda: result.append(dispatch.handle_message(_body(task))))
    worker.start()
    assert started.wait(5)
    Task(task.id).update(actions=[Task.cancel_requested.set(True)], add_version_condition=False)
    worker.join(10)
    assert result[0].status == "canceled"
    stored = Task.get(task.id)
    assert stored.status == "canceled"
    assert stored.lease_owner is None
    assert _kinds(task.id)[-1] == ("status", "canceled")


def test_cancel_before_start_cancels_without_running(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = _fakes(monkeypatch)
    task = seed_task(seed_project())
    Task(task.id).update(actions=[Task.cancel_requested.set(True)], add_version_condition=False)
    assert dispatch.handle_message(_body(task)).status == "canceled"
    assert fakes.executor_calls == []


def test_lease_taken_back_by_sweeper_means_no_second_terminal_event(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that lost its lease (sweeper re-queued it) writes nothing more."""
    started, release = threading.Event(), threading.Event()
    _fakes(monkeypatch, executor=fake_executor(_blocking_script(started, release)))
    # The dispatcher is frozen: its heartbeats stop reaching DynamoDB.
    monkeypatch.setattr(dispatch.Lease, "renew", lambda self: True)
    task = seed_task(seed_project())
    result: list[dispatch_run.Outcome] = []
    worker = threading.Thread(target=lambda: result.append(dispatch.handle_message(_body(task))))
    worker.start()
    assert started.wait(5)
    report = sweeper.sweep(now=time.time() + 3600)
    assert report.requeued == [task.id]
    release.set()
    worker.join(10)
    assert result[0].status == "lost"
    stored = Task.get(task.id)
    assert (stored.status, stored.attempts) == ("queued", 2)
    assert [k for k in _kinds(task.id) if k[1] in ("completed", "failed", "canceled")] == []


def test_llm_route_completes_with_generated_text(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []

    def generate(instruction: str, text: str, timeout_s: float) -> str:
        seen.append((instruction, text))
        return "the sea, the sea"

    fakes = _fakes(monkeypatch, route=decision("llm.generate", target="llm"), generate=generate)
    task = seed_task(seed_project(), instruction="write a poem", input=None)
    outcome = dispatch.handle_message(_body(task))
    assert outcome.status == "completed"
    assert Task.get(task.id).result == {"text": "the sea, the sea"}
    assert seen == [("write a poem", "")]
    assert fakes.route_outcomes == [("llm", True)]


def test_llm_permanent_error_fails(realtime: Realtime, monkeypatch: pytest.MonkeyPatch) -> None:
    def generate(instruction: str, text: str, timeout_s: float) -> str:
        raise LlmError("content refused", retryable=False)

    _fakes(monkeypatch, route=decision("llm.generate", target="llm"), generate=generate)
    task = seed_task(seed_project())
    assert dispatch.handle_message(_body(task)).status == "failed"
    assert Task.get(task.id).error["code"] == "llm_error"


def test_file_input_is_passed_as_a_reference(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.dal.models import File

    fakes = _fakes(monkeypatch)
    project = seed_project()
    task = seed_task(project, input="fil_abcdef123456")
    File(
        id="fil_abcdef123456",
        task_id=task.id,
        project_id=project.id,
        filename="a.csv",
        content_type="text/csv",
        size=10,
        key="uploads/x/a.csv",
        status="ready",
        created_by="u",
        created_at="t",
        updated_at="t",
    ).save()
    dispatch.handle_message(_body(task))
    assert fakes.executor_calls[0]["input_ref"] == ("aion-test-files", "uploads/x/a.csv")


def test_poison_message_is_rejected() -> None:
    for body in ("", "{", "[]", '{"taskId": 3, "attempt": 1}', '{"taskId": "t"}'):
        with pytest.raises(dispatch.PoisonMessage):
            dispatch.parse_message(body)


def test_data_found_in_the_instruction_is_the_input(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = _fakes(monkeypatch, route=decision("crypto.hash", inline_input="abc"))
    task = seed_task(seed_project(), instruction="sha256 of 'abc'", input=None)
    dispatch.handle_message(_body(task))
    assert fakes.executor_calls[0]["input_text"] == "abc"


def test_progress_reuses_the_runs_subscriber_lookup_status_events_look_up_afresh(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fakes(monkeypatch)
    # The run's lookup is reused for a second at most: a loaded machine must not age it here.
    monkeypatch.setattr(dispatch_run, "WATCHERS_MAX_AGE_S", 600.0)
    lookups: list[str] = []
    original = fanout.subscribers_of

    def counting(task_id: str, project_id: str | None) -> list[str]:
        lookups.append(task_id)
        return original(task_id, project_id)

    monkeypatch.setattr(fanout, "subscribers_of", counting)
    task = seed_task(seed_project())
    outcome = dispatch.handle_message(_body(task))
    relayed = [e for e in outcome.events if e.kind in ("progress", "log")]
    assert len(relayed) == 4
    # One lookup for the claim's two events (reused by the relayed ones), one for completed.
    assert len(lookups) == 2
