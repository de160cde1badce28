"""One claimed attempt of a task: the claim, the lease, its events and its end.

The claim is the conditional move ``queued -> running`` (same attempt, no cancel requested) that
sets a lease (owner + expiry) and writes the ``routed`` and ``running`` events. While the attempt
runs, ``Lease`` renews the lease in the background; the renewal fails once a cancel was requested
or the sweeper took the task back, and then sets the ``threading.Event`` the executor client
watches. Every event and the end are conditional on still holding the lease
(``chalicelib.logic.lifecycle``), so a task taken back never gets a second terminal event.

The end: ``completed`` (result inline, or in S3 when large), ``failed`` (a permanent failure,
or a transient one on the last delivery), ``canceled``, or back to ``queued`` for another
delivery (``RetryLater``). Whether a failure is retried is decided in one place,
``Run.settle_failure``, from the failure's ``retryable`` (``chalicelib.shared.failures``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import llm
from chalicelib.clock import now_iso
from chalicelib.config import DispatchSettings
from chalicelib.dal.item_size import ITEM_LIMIT_BYTES, is_validation_error, size_after
from chalicelib.dal.models import Task
from chalicelib.dal.task_updates import update_task
from chalicelib.ids import new_id
from chalicelib.logic import fanout, lifecycle, results
from chalicelib.logic.lifecycle import (
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    ConditionFailed,
    attempt_is,
    lease_held,
    not_cancelled,
    status_is,
)
from chalicelib.models.tasks import (
    DispatchMessage,
    EventDraft,
    EventKind,
    Status,
    TelemetryEvent,
)
from chalicelib.router.catalog import ROUTE_LLM, route_of
from chalicelib.shared.failures import Failure

if TYPE_CHECKING:
    from chalicelib.router.models import RouteDecision

log = logging.getLogger(__name__)


class Places(Protocol):
    """What a lease renews with the task's (``chalicelib.logic.admission.Places``: the run's
    places of fair dispatch; admission imports this module, not the other way round)."""

    def renew(self, expires_at: float) -> None: ...


ACTOR = "dispatch"
# What the terminal write adds besides the result (status, times, version, the error removed).
TERMINAL_WRITE_BYTES = 1024
ERROR_MESSAGE_CHARS = 2000
# How long a run reuses its subscriber lookup for progress/log events.
WATCHERS_MAX_AGE_S = 1.0


class RetryLater(Exception):
    """A transient failure: the message goes back to SQS with backoff."""


class LeaseLost(Exception):
    """Another actor (sweeper, cancel) moved the task on; stop without writing."""


@dataclass
class Outcome:
    status: str  # completed | failed | canceled | needs_review | skipped | lost
    detail: str = ""
    events: list[TelemetryEvent] = field(default_factory=list)


@dataclass(frozen=True)
class RoutePlan:
    """What dispatch reads of the router's decision (``chalicelib.router.models.RouteDecision``):
    only fields every decision has. ``stored`` is the whole decision as the task keeps it (and
    as the ``routed`` event carries it)."""

    target: str
    module: str
    params: dict[str, Any]
    stage: str
    reason: str
    inline_input: str | None
    stored: dict[str, Any]
    # Why a review decision waits (None: not review, or a decision made before reason codes).
    reason_code: str | None = None

    @classmethod
    def of(cls, decision: RouteDecision) -> RoutePlan:
        return cls(
            target=decision.target,
            module=decision.module or "",
            params=dict(decision.params or {}),
            stage=decision.stage,
            reason=decision.reason,
            inline_input=decision.inline_input,
            stored=decision.model_dump(mode="json", by_alias=True),
            reason_code=decision.reason_code,
        )

    def route_down(self) -> bool:
        """Review only because the module's route is down right now: transient, not a verdict.

        The router says so with ``reason_code == "route_unavailable"`` (a decision without a
        reason code: ``stage == "health"``). A route that is not configured at all (no LLM)
        is a verdict, not an outage.
        """
        if self.target != "review":
            return False
        if self.reason_code is not None:
            if self.reason_code != "route_unavailable":
                return False
        elif self.stage != "health":
            return False
        if route_of(self.module) == ROUTE_LLM:
            return llm.llm_configured()
        return True


class Lease:
    """Renews the task's lease (and the run's places) in the background; sets ``cancel`` when
    asked to stop."""

    def __init__(
        self, task_id: str, owner: str, config: DispatchSettings, places: Places | None = None
    ) -> None:
        self.task_id = task_id
        self.owner = owner
        self.config = config
        self.places = places
        self.cancel = threading.Event()
        self.cancel_requested = False
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{task_id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.config.heartbeat_seconds):
            if not self.renew():
                return

    def renew(self) -> bool:
        """Extend the lease; False (and cancel) when the task was canceled or taken back."""
        expires = time.time() + self.config.lease_seconds
        try:
            update_task(
                self.task_id,
                [Task.lease_expires_at.set(expires)],
                condition=status_is(RUNNING) & lease_held(self.owner) & not_cancelled(),
            )
        except ConditionFailed:
            pass
        except Exception:  # a failed renewal is retried at the next beat
            log.exception("lease renewal failed")
            return True
        else:
            if self.places is not None:
                self.places.renew(expires)
            return True
        try:
            task = Task.get(self.task_id, consistent_read=True)
            holding = task.status == RUNNING and task.lease_owner == self.owner
            self.cancel_requested = holding and bool(task.cancel_requested)
            self.lost = not holding
        except Task.DoesNotExist:
            self.lost = True
        self.cancel.set()
        return False


class Run:
    """State of one claimed attempt: its task as read, route, lease owner and events."""

    def __init__(
        self,
        task: Task,
        route: RoutePlan,
        owner: str,
        receive_count: int,
        config: DispatchSettings,
        last_seq: int,
    ) -> None:
        self.task = task
        self.route = route
        self.owner = owner
        self.receive_count = receive_count
        self.config = config
        # The task's highest seq as this run knows it (it wrote every seq since the claim), so
        # each event is one transaction; another writer's seq only costs a fallback write.
        self.last_seq = last_seq
        self.events: list[TelemetryEvent] = []
        self._watchers: list[str] = []
        self._watchers_at = float("-inf")

    # -- publishing ----------------------------------------------------------------------

    def remember_watchers(self, connection_ids: list[str]) -> None:
        self._watchers, self._watchers_at = connection_ids, time.monotonic()

    def watchers(self) -> list[str]:
        """Subscribers for progress/log events: a lookup at most ``WATCHERS_MAX_AGE_S`` old.

        Status events always look up afresh, so a client that subscribes mid-run can miss at
        most that long of progress (it has the backlog and dedupes by seq), never a status.
        """
        if time.monotonic() - self._watchers_at > WATCHERS_MAX_AGE_S:
            self.remember_watchers(fanout.subscribers_of(self.task.id, self.task.project_id))
        return self._watchers

    def publish_fresh(self, events: list[TelemetryEvent]) -> None:
        """Post with a fresh lookup, and keep it for the progress that follows."""
        self.remember_watchers(fanout.publish_all(events))

    def publish_progress(self, events: list[TelemetryEvent]) -> None:
        for event in events:
            fanout.publish(event, connection_ids=self.watchers())

    def publish_status(self, events: list[TelemetryEvent]) -> None:
        """Post to the connections this run knows at once, then to those that subscribed since.

        A status event must reach every subscriber, so the lookup still happens after the
        write (a subscribe stores its subscription before reading the backlog: either the
        lookup sees it or the backlog has the event); the known watchers just do not wait
        for that lookup. Each connection gets each event once.
        """
        known = list(self._watchers)
        wire = [event.to_wire() for event in events]
        for message in wire:
            fanout.post_many(known, message)
        fresh = fanout.subscribers_of(self.task.id, self.task.project_id)
        already = set(known)
        newcomers = [c for c in fresh if c not in already]
        for message in wire:
            fanout.post_many(newcomers, message)
        self.remember_watchers(fresh)

    # -- writes --------------------------------------------------------------------------

    def emit(
        self,
        kind: EventKind,
        message: str,
        *,
        progress: float | None = None,
        actor: str = "executor",
        data: Any = None,
    ) -> None:
        """A progress or log event of the running attempt; ``LeaseLost`` if no longer held."""
        draft = EventDraft(kind, message, actor, progress=progress, data=data)
        try:
            written = lifecycle.transition(
                self.task,
                RUNNING,
                None,
                guard=lease_held(self.owner),
                events=[draft],
                last_seq=self.last_seq,
                publish=self.publish_progress,
            )
        except ConditionFailed as exc:
            raise LeaseLost(self.task.id) from exc
        self.last_seq = written.events[-1].seq
        self.events.extend(written.events)

    def finish(
        self,
        status: Status,
        message: str,
        *,
        actions: list[Any] | None = None,
        data: Any = None,
        before: list[EventDraft] | None = None,
    ) -> Outcome:
        """The terminal write; ``before``: events stored and posted just ahead of it."""
        end = EventDraft(
            "status",
            message,
            ACTOR,
            progress=1.0 if status == COMPLETED else None,
            data=data,
        )
        try:
            written = lifecycle.transition(
                self.task,
                RUNNING,
                status,
                guard=lease_held(self.owner),
                actions=actions or [],
                events=[*(before or []), end],
                last_seq=self.last_seq,
                publish=self.publish_status,
            )
        except ConditionFailed:
            return Outcome("lost", "the lease was taken back before the terminal write")
        except Exception as exc:
            if not is_validation_error(exc):
                raise
            return self._end_unwritable(exc)
        self.events.extend(written.events)
        return Outcome(status, message, self.events)

    def _end_unwritable(self, exc: Exception) -> Outcome:
        """The terminal write can never succeed (DynamoDB refuses it): end the task failed
        with a small error instead of leaving it running until its lease expires."""
        log.error("the end of task %s cannot be written; failing it", self.task.id, exc_info=exc)
        try:
            written = lifecycle.end_unwritable(
                self.task,
                RUNNING,
                guard=lease_held(self.owner),
                actor=ACTOR,
                cause="DynamoDB refused the terminal write",
                last_seq=self.last_seq,
                publish=self.publish_status,
            )
        except ConditionFailed:
            return Outcome("lost", "the lease was taken back before the terminal write")
        self.events.extend(written.events)
        return Outcome(FAILED, "the task's item is too large", self.events)

    def _fits_inline(self, result: Any, encoded: bytes) -> bool:
        """Whether the result can stay on the task: under the inline limit, and the item
        with it (and the terminal write's own attributes) still under DynamoDB's limit."""
        if len(encoded) > self.config.result_inline_bytes:
            return False
        attributes = lifecycle.item_attributes(self.task)
        after = size_after(attributes, [Task.result.set(result), Task.error.remove()])
        return after + TERMINAL_WRITE_BYTES <= ITEM_LIMIT_BYTES

    def complete(self, result: Any, started: float, before: list[EventDraft]) -> Outcome:
        encoded = json.dumps(result, default=str).encode()
        took_ms = int((time.monotonic() - started) * 1000)
        message = f"Completed in {took_ms} ms."
        if not self._fits_inline(result, encoded):
            key = results.store_result(self.task.id, int(self.task.attempts or 1), encoded)
            return self.finish(
                COMPLETED,
                message,
                actions=[Task.result.remove(), Task.result_ref.set(key), Task.error.remove()],
                data={"resultRef": key, "resultBytes": len(encoded)},
                before=before,
            )
        return self.finish(
            COMPLETED,
            message,
            actions=[Task.result.set(result), Task.result_ref.remove(), Task.error.remove()],
            data={"result": result},
            before=before,
        )

    def fail(self, code: str, message: str) -> Outcome:
        # A module's message is for people: bounded, so the error always fits the item.
        message = (
            message if len(message) <= ERROR_MESSAGE_CHARS else message[:ERROR_MESSAGE_CHARS] + "…"
        )
        error = {"code": code, "message": message}
        return self.finish(FAILED, message, actions=[Task.error.set(error)], data={"error": error})

    def settle_failure(self, failure: Failure, *, retry_reason: str) -> Outcome:
        """The one place a failure becomes a retry or the end of the task, by ``retryable``."""
        if failure.retryable:
            return self.release_for_retry(retry_reason)
        return self.fail(failure.code, failure.message or failure.code)

    def release_for_retry(self, reason: str) -> Outcome:
        """Transient failure: back to queued and RetryLater, or failed on the last delivery."""
        if self.receive_count >= self.config.max_receives:
            error = {"code": "retries_exhausted", "message": reason}
            return self.finish(
                FAILED,
                f"Gave up after {self.receive_count} deliveries: {reason}",
                actions=[Task.error.set(error)],
                data={"error": error},
            )
        retry = EventDraft(
            "status",
            f"Will retry ({reason}); delivery {self.receive_count} of {self.config.max_receives}.",
            ACTOR,
        )
        try:
            lifecycle.transition(
                self.task,
                RUNNING,
                QUEUED,
                guard=lease_held(self.owner),
                events=[retry],
                last_seq=self.last_seq,
            )
        except ConditionFailed:
            return Outcome("lost", "the lease was taken back before the retry")
        raise RetryLater(reason)


def claim(
    task: Task,
    message: DispatchMessage,
    route: RoutePlan,
    receive_count: int,
    config: DispatchSettings,
    *,
    owner: str | None = None,
) -> Run | None:
    """``queued -> running`` for ``message``'s attempt with a new lease (``owner``: its id,
    already holding the run's places); None if another delivery claimed it first (or it was
    canceled or moved on meanwhile)."""
    owner = owner or new_id("lease")
    run = Run(task, route, owner, receive_count, config, int(task.last_seq or 0))
    where = "the LLM" if route.target == "llm" else "the executor"
    started_at = now_iso()
    try:
        written = lifecycle.transition(
            task,
            QUEUED,
            RUNNING,
            guard=attempt_is(message.attempt) & not_cancelled(),
            actions=[
                Task.route.set(route.stored),
                Task.lease_owner.set(run.owner),
                Task.lease_expires_at.set(time.time() + config.lease_seconds),
                Task.started_at.set(started_at),
                Task.redrives.remove(),
                Task.waiting.remove(),
            ],
            events=[
                EventDraft(
                    "routed",
                    f"Routed to {route.target}: {route.module}.",
                    "router",
                    data=route.stored,
                ),
                EventDraft(
                    "status",
                    f"Running {route.module} on {where} (attempt {message.attempt}).",
                    ACTOR,
                    data={"attempt": message.attempt, "delivery": receive_count},
                ),
            ],
            last_seq=run.last_seq,
            publish=run.publish_fresh,
        )
    except ConditionFailed:
        return None
    # The run's copy is what later writes measure the item by: it now holds the route.
    task.route = route.stored
    run.last_seq = written.events[-1].seq
    run.events.extend(written.events)
    task.started_at = started_at  # the run's copy: its terminal write records the duration
    return run
