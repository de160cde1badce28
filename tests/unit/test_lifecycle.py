"""The task state machine: the table of moves, and the one call that writes a move."""

from __future__ import annotations

import itertools
import json
import threading
import time
import types
from typing import Any

import boto3
import pytest

from chalicelib.dal.models import Task, project_status_key
from chalicelib.dal.task_updates import event_of
from chalicelib.logic import lifecycle
from chalicelib.logic.lifecycle import (
    CANCELED,
    COMPLETED,
    FAILED,
    NEEDS_REVIEW,
    QUEUED,
    RUNNING,
    ConditionFailed,
    IllegalTransition,
)
from chalicelib.models.tasks import STATUSES, EventDraft, TelemetryEvent
from tests.unit.realtime_fakes import (
    Realtime,
    activity_of,
    realtime,
    seed_project,
    seed_task,
    serialize_task_updates,
)

__all__ = ["realtime"]

# The moves the product makes, spelled here independently of the table under test.
LEGAL = {
    ("queued", "running"),  # dispatch claims it
    ("queued", "needs_review"),  # no route can take it
    ("queued", "canceled"),  # canceled before it ran
    ("queued", "failed"),  # no run can take it: unwritable, or no dispatcher within the bound
    ("running", "completed"),
    ("running", "failed"),
    ("running", "canceled"),
    ("running", "queued"),  # transient failure, or the sweeper took it back
    ("needs_review", "queued"),  # a person picked a module or gave input
    ("needs_review", "completed"),  # a person answered
    ("needs_review", "failed"),  # a person rejected it
    ("needs_review", "canceled"),
    ("failed", "queued"),  # retry
    ("canceled", "queued"),  # retry
}
ALL_MOVES = list(itertools.product(STATUSES, STATUSES))


@pytest.mark.parametrize(("frm", "to"), ALL_MOVES)
def test_every_move_is_legal_exactly_when_the_product_makes_it(frm: str, to: str) -> None:
    assert lifecycle.can_move(frm, to) is ((frm, to) in LEGAL)


def test_named_groups_agree_with_the_table() -> None:
    assert set(lifecycle.TRANSITIONS) == set(STATUSES)
    assert set(STATUSES) == {QUEUED, RUNNING, NEEDS_REVIEW, COMPLETED, FAILED, CANCELED}
    # Terminal: nothing but a retry (a new attempt) leaves them.
    for status in lifecycle.TERMINAL:
        assert lifecycle.TRANSITIONS[status] <= {QUEUED}
    assert lifecycle.TRANSITIONS[COMPLETED] == frozenset()
    assert all(lifecycle.can_move(s, QUEUED) for s in lifecycle.RETRYABLE)
    assert all(lifecycle.can_move(s, CANCELED) for s in lifecycle.CANCELABLE_NOW)
    assert RUNNING not in lifecycle.CANCELABLE_NOW  # a run is asked to stop, not overwritten
    assert not set(lifecycle.OPEN) & set(lifecycle.TERMINAL)
    assert RUNNING not in lifecycle.CONTENT_EDITABLE
    assert COMPLETED not in lifecycle.CONTENT_EDITABLE
    assert lifecycle.INITIAL == QUEUED
    assert project_status_key("prj_1", "queued") == "prj_1#queued"


def _put_in(task: Task, status: str) -> Task:
    """Put a seeded task in ``status`` directly (test setup, not a move)."""
    task.update(
        actions=[
            Task.status.set(status),
            Task.project_status.set(project_status_key(task.project_id, status)),
            Task.lease_owner.set("lease_x"),
            Task.lease_expires_at.set(time.time() + 60),
        ],
        add_version_condition=False,
    )
    return Task.get(task.id, consistent_read=True)


def _draft(message: str = "moved", **extra: Any) -> EventDraft:
    return EventDraft("status", message, "tester", **extra)


def test_an_illegal_move_is_refused_before_anything_is_written(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    published: list[list[TelemetryEvent]] = []
    for frm, to in ALL_MOVES:
        if (frm, to) in LEGAL:
            continue
        before = _put_in(task, frm)
        with pytest.raises(IllegalTransition):
            lifecycle.transition(before, frm, to, events=[_draft()], publish=published.append)  # type: ignore[arg-type]
        after = Task.get(task.id, consistent_read=True)
        assert (after.status, after.version, after.last_seq) == (
            frm,
            before.version,
            before.last_seq,
        )
    assert len(activity_of(task.id)) == 1
    assert published == []


@pytest.mark.parametrize(("frm", "to"), sorted(LEGAL))
def test_a_legal_move_writes_the_status_its_key_time_and_version(
    realtime: Realtime, frm: str, to: str
) -> None:
    task = _put_in(seed_task(seed_project()), frm)
    written = lifecycle.transition(task, frm, to, events=[_draft()], return_task=True)  # type: ignore[arg-type]
    after = written.task
    assert after is not None
    assert after.status == to
    assert after.project_status == project_status_key(task.project_id, to)
    assert after.version == task.version + 1
    assert after.updated_at >= task.updated_at
    assert [(e.seq, e.status) for e in written.events] == [(2, to)]
    # A task that ends has finished and holds no lease; one leaving a run holds no lease.
    if to in lifecycle.TERMINAL:
        assert after.finished_at
    if to in lifecycle.TERMINAL or frm == RUNNING:
        assert (after.lease_owner, after.lease_expires_at) == (None, None)
    else:
        assert after.lease_owner == "lease_x"


def test_a_failed_condition_writes_nothing_and_publishes_nothing(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    published: list[list[TelemetryEvent]] = []
    # Not in the status the caller read.
    with pytest.raises(ConditionFailed):
        lifecycle.transition(task, RUNNING, COMPLETED, events=[_draft()], publish=published.append)
    # In it, but the guard does not hold (another run's lease).
    running = _put_in(task, RUNNING)
    for last_seq in (None, 1):  # the two-step path and the one-transaction path
        with pytest.raises(ConditionFailed):
            lifecycle.transition(
                running,
                RUNNING,
                COMPLETED,
                guard=lifecycle.lease_held("lease_other"),
                actions=[Task.result.set({"no": "way"})],
                events=[_draft(), _draft("again")],
                last_seq=last_seq,
                publish=published.append,
            )
    after = Task.get(task.id, consistent_read=True)
    assert (after.status, after.version, after.last_seq, after.result) == (
        RUNNING,
        running.version,
        1,
        None,
    )
    assert len(activity_of(task.id)) == 1
    assert published == []


def test_events_get_consecutive_seqs_on_both_write_paths(realtime: Realtime) -> None:
    task = seed_task(seed_project())
    drafts = [_draft("a"), EventDraft("log", "b", "tester"), _draft("c")]
    first = lifecycle.transition(task, QUEUED, None, events=drafts)
    assert [e.seq for e in first.events] == [2, 3, 4]
    # The caller knows last_seq: one transaction, the next seqs.
    known = lifecycle.transition(task, QUEUED, None, events=drafts, last_seq=4)
    assert [e.seq for e in known.events] == [5, 6, 7]
    # A stale last_seq (another writer took seqs): the fallback takes fresh ones, no duplicate.
    stale = lifecycle.transition(task, QUEUED, None, events=drafts, last_seq=2)
    assert [e.seq for e in stale.events] == [8, 9, 10]
    stored = [event_of(a) for a in activity_of(task.id)]
    assert [e.seq for e in stored] == list(range(1, 11))
    assert stored[1:] == [*first.events, *known.events, *stale.events]
    assert Task.get(task.id).last_seq == 10


def test_events_take_the_new_status_unless_they_name_one(realtime: Realtime) -> None:
    task = _put_in(seed_task(seed_project()), RUNNING)
    written = lifecycle.transition(
        task,
        RUNNING,
        COMPLETED,
        events=[EventDraft("progress", "last", "executor", status=RUNNING, progress=0.9), _draft()],
    )
    assert [(e.kind, e.status) for e in written.events] == [
        ("progress", RUNNING),
        ("status", COMPLETED),
    ]
    stays = lifecycle.transition(
        Task.get(task.id), COMPLETED, None, events=[EventDraft("log", "note", "tester")]
    )
    assert stays.events[0].status == COMPLETED


def test_publish_comes_after_the_write_with_exactly_the_stored_events(
    realtime: Realtime,
) -> None:
    task = seed_task(seed_project())
    seen: list[tuple[list[TelemetryEvent], str, list[int]]] = []

    def publisher(events: list[TelemetryEvent]) -> None:
        # Everything is stored by the time subscribers hear of it.
        stored = Task.get(task.id, consistent_read=True)
        seen.append((events, stored.status, [int(a.seq) for a in activity_of(task.id)]))

    written = lifecycle.transition(
        task,
        QUEUED,
        NEEDS_REVIEW,
        events=[EventDraft("routed", "to review", "router"), _draft("waits")],
        publish=publisher,
    )
    assert seen == [(written.events, NEEDS_REVIEW, [1, 2, 3])]


def test_the_default_publish_reaches_subscribers_and_a_failing_one_loses_nothing(
    realtime: Realtime,
) -> None:
    from datetime import timedelta

    from chalicelib.dal.realtime_models import Subscription, task_topic

    task = seed_task(seed_project())
    Subscription(
        task_topic(task.id), "c-1", user_id="u", created_at=0, expires_at=timedelta(hours=1)
    ).save()
    written = lifecycle.transition(task, QUEUED, None, events=[_draft()])
    assert realtime.mgmt.messages_to("c-1") == [written.events[0].to_wire()]

    def broken(events: list[TelemetryEvent]) -> None:
        raise RuntimeError("fan-out down")

    # The write stands (the activity log is the truth); the failure is only logged.
    again = lifecycle.transition(task, QUEUED, CANCELED, events=[_draft()], publish=broken)
    assert again.events[0].seq == 3
    assert Task.get(task.id).status == CANCELED


def test_racing_reviewers_from_needs_review_get_exactly_one_winner(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a review action is on top of the state machine: a ``reviewed`` event, then the move,
    in one write conditional on ``needs_review``."""
    serialize_task_updates(monkeypatch)
    task = _put_in(seed_task(seed_project()), NEEDS_REVIEW)
    barrier = threading.Barrier(8)
    winners: list[str] = []
    losers: list[str] = []

    def answer(person: str) -> None:
        barrier.wait()
        try:
            lifecycle.transition(
                task,
                NEEDS_REVIEW,
                COMPLETED,
                actions=[Task.result.set({"answer": person})],
                events=[
                    EventDraft("reviewed", "Answered", person, data={"action": "answer"}),
                    EventDraft("status", "Completed with a person's answer.", person),
                ],
            )
            winners.append(person)
        except ConditionFailed:
            losers.append(person)

    threads = [threading.Thread(target=answer, args=(f"usr_{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert len(losers) == 7
    done = Task.get(task.id)
    assert (done.status, done.result) == (COMPLETED, {"answer": winners[0]})
    assert [(a.kind, a.status, a.actor) for a in activity_of(task.id)][1:] == [
        ("reviewed", COMPLETED, winners[0]),
        ("status", COMPLETED, winners[0]),
    ]


def test_cancel_is_immediate_when_nothing_runs_and_a_request_while_running(
    realtime: Realtime,
) -> None:
    queued = seed_task(seed_project())
    canceled = lifecycle.cancel(queued, actor="usr_a")
    assert canceled is not None
    assert (canceled.status, canceled.cancel_requested) == (CANCELED, False)
    running = _put_in(seed_task(seed_project()), RUNNING)
    asked = lifecycle.cancel(running, actor="usr_a")
    assert asked is not None
    assert (asked.status, asked.cancel_requested, asked.version) == (
        RUNNING,
        True,
        running.version + 1,
    )
    assert lifecycle.cancel(asked, actor="usr_a") is asked  # already asked: no second write
    assert [a.message for a in activity_of(running.id)][-1] == "Cancel requested"
    with pytest.raises(lifecycle.InvalidState):
        lifecycle.cancel(canceled, actor="usr_a")


def test_enqueue_sends_the_dispatch_message_of_the_attempt(realtime: Realtime) -> None:
    lifecycle.enqueue("tsk_1", 3)
    got = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=realtime.queue_url, WaitTimeSeconds=0
    )
    assert [json.loads(m["Body"]) for m in got["Messages"]] == [{"taskId": "tsk_1", "attempt": 3}]


def test_a_waiting_task_is_sent_again_later_within_what_sqs_allows(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    sqs = boto3.client("sqs", region_name="us-east-1")
    monkeypatch.setattr(
        lifecycle.aws_clients, "client", lambda name: types.SimpleNamespace(send_message=record)
    )

    def record(**call: Any) -> None:
        sent.append(call)
        sqs.send_message(**call)

    lifecycle.enqueue("tsk_1", 2, delay_seconds=5_000, deferrals=3)
    lifecycle.enqueue("tsk_2", 1, delay_seconds=-4)
    assert [(json.loads(c["MessageBody"]), c["DelaySeconds"]) for c in sent] == [
        ({"taskId": "tsk_1", "attempt": 2, "deferrals": 3}, 900),  # SQS's longest delay
        ({"taskId": "tsk_2", "attempt": 1}, 0),
    ]


def test_an_unwritable_end_keeps_its_guard(realtime: Realtime) -> None:
    task = _put_in(seed_task(seed_project()), RUNNING)
    with pytest.raises(lifecycle.ConditionFailed):
        lifecycle.end_unwritable(
            task, RUNNING, guard=lifecycle.attempt_is(99), actor="dispatcher", cause="refused"
        )
    assert Task.get(task.id, consistent_read=True).status == RUNNING


def test_a_task_that_started_running_meanwhile_is_not_deleted(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.auth.principal import Principal
    from chalicelib.logic import tasks

    task = seed_task(seed_project(owner="usr_owner"))
    read = Task.get(task.id)  # queued, as the request read it
    _put_in(task, RUNNING)  # dispatch claimed it since
    monkeypatch.setattr(tasks, "get_task_for", lambda principal, task_id: read)
    with pytest.raises(lifecycle.InvalidState, match="started running"):
        tasks.delete_task(Principal(user_id="usr_owner", role="member"), task.id)
    assert Task.get(task.id).status == RUNNING
    assert len(activity_of(task.id)) == 1


def _holds(task: Task, guard: Any) -> bool:
    """Whether a stay-in-place write guarded by ``guard`` goes through on ``task`` as stored."""
    try:
        lifecycle.transition(
            task,
            task.status,  # type: ignore[arg-type]
            None,
            events=[EventDraft("log", "checked", "tester")],
            guard=guard,
        )
    except ConditionFailed:
        return False
    return True


def test_each_guard_holds_exactly_while_its_fact_is_true(realtime: Realtime) -> None:
    task = _put_in(seed_task(seed_project()), QUEUED)  # attempt 1, lease_x, no cancel
    assert _holds(task, lifecycle.attempt_is(1))
    assert not _holds(task, lifecycle.attempt_is(2))
    assert _holds(task, lifecycle.queued_for_attempt(1))
    assert not _holds(task, lifecycle.queued_for_attempt(2))
    assert _holds(task, lifecycle.lease_held("lease_x"))
    assert not _holds(task, lifecycle.lease_held("lease_y"))
    assert _holds(task, lifecycle.same_lease(task))
    assert _holds(task, lifecycle.version_is(task.version))
    assert not _holds(task, lifecycle.version_is(task.version + 1))
    assert _holds(task, lifecycle.not_cancelled())
    assert _holds(task, lifecycle.status_is(QUEUED, RUNNING))
    assert not _holds(task, lifecycle.status_is(RUNNING, FAILED))
    # Someone renewed the lease since it was read: the take-back's guard no longer holds.
    stale = Task.get(task.id, consistent_read=True)
    task.update(actions=[Task.lease_expires_at.set(time.time() + 120)])
    assert not _holds(task, lifecycle.same_lease(stale))
    task.update(actions=[Task.lease_owner.set("lease_y")])
    assert not _holds(task, lifecycle.same_lease(stale))
    task.update(actions=[Task.cancel_requested.set(True)])
    assert not _holds(task, lifecycle.not_cancelled())
    running = _put_in(task, RUNNING)
    assert not _holds(running, lifecycle.queued_for_attempt(1))
    # A task stored without the attribute was never asked to cancel.
    fresh = seed_task(seed_project())
    fresh.update(actions=[Task.cancel_requested.remove()])
    assert _holds(Task.get(fresh.id, consistent_read=True), lifecycle.not_cancelled())


def test_a_new_attempt_keeps_nothing_of_the_previous_run(realtime: Realtime) -> None:
    task = _put_in(seed_task(seed_project()), RUNNING)
    task.update(
        actions=[
            Task.cancel_requested.set(True),
            Task.result.set({"value": 1}),
            Task.result_ref.set("s3://bucket/key"),
            Task.error.set({"code": "boom", "message": "x"}),
            Task.route.set({"target": "executor"}),
            Task.started_at.set("2026-01-01T00:00:00.000Z"),
        ]
    )
    failed = lifecycle.transition(
        Task.get(task.id, consistent_read=True),
        RUNNING,
        FAILED,
        events=[_draft()],
        return_task=True,
    ).task
    assert failed is not None
    assert failed.finished_at
    assert failed.duration_ms is not None
    again = lifecycle.transition(
        failed,
        FAILED,
        QUEUED,
        events=[_draft()],
        actions=lifecycle.new_attempt_actions(2),
        return_task=True,
    ).task
    assert again is not None
    assert again.attempts == 2
    assert again.cancel_requested is False
    left = {
        name: getattr(again, name)
        for name in (
            "result",
            "result_ref",
            "error",
            "route",
            "started_at",
            "finished_at",
            "duration_ms",
            "lease_owner",
            "lease_expires_at",
        )
    }
    assert left == dict.fromkeys(left)


def test_terminal_statuses_and_run_times() -> None:
    assert [s for s in STATUSES if lifecycle.is_terminal(s)] == [
        s for s in STATUSES if s in {COMPLETED, FAILED, CANCELED}
    ]
    assert not lifecycle.is_terminal("unknown")
    assert lifecycle.run_ms(None, "2026-01-01T00:00:01.000Z") == 0
    assert lifecycle.run_ms("", "2026-01-01T00:00:01.000Z") == 0
    assert lifecycle.run_ms("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.250Z") == 1250
    # A clock that went back never makes a negative run time.
    assert lifecycle.run_ms("2026-01-01T00:00:02.000Z", "2026-01-01T00:00:01.000Z") == 0


def test_a_task_dynamodb_cannot_store_ends_failed_with_a_short_error(realtime: Realtime) -> None:
    task = _put_in(seed_task(seed_project()), RUNNING)
    task.update(
        actions=[Task.route.set({"module": "text.stats"}), Task.result.set({"words": 3})],
        add_version_condition=False,
    )
    task = Task.get(task.id, consistent_read=True)
    published: list[list[TelemetryEvent]] = []
    written = lifecycle.end_unwritable(
        task,
        RUNNING,
        guard=None,
        actor="dispatcher",
        cause="DynamoDB refused the write",
        publish=published.append,
    )
    message = "The task could not be stored (DynamoDB refused the write); its data is too large."
    error = {"code": "item_too_large", "message": message}
    after = Task.get(task.id, consistent_read=True)
    assert (after.status, after.error, after.result, after.route) == ("failed", error, None, None)
    assert after.version == task.version + 1
    assert [(e.kind, e.status, e.message, e.actor, e.data) for e in written.events] == [
        ("status", "failed", message, "dispatcher", {"error": error})
    ]
    assert published == [written.events]
    # From any other status than the one named, nothing is written.
    with pytest.raises(lifecycle.ConditionFailed):
        lifecycle.end_unwritable(after, RUNNING, guard=None, actor="dispatcher", cause="again")
    assert Task.get(task.id, consistent_read=True).version == after.version
