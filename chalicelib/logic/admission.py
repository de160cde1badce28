"""Fair dispatch: no person, project or kind of task can take every run.

Before it claims a task, the dispatcher takes one place in each scope the task counts against
(``chalicelib.dal.admission_models.Slot``: DynamoDB items written conditionally, with leases):

- ``user#<creator>``: at most ``user_concurrency`` runs of one person at a time;
- ``project#<project>``: at most ``project_concurrency`` runs of one project;
- ``lane#long``: at most ``long_lane_slots`` long executor runs at a time (sized to the
  executors' workers for long calls). A run is long when its expected cost
  (``chalicelib.shared.cost``: the module and the size of its input) is over a second, or
  unbounded (modules the cost model does not know). Short runs skip this scope, so a trivial
  task never waits behind long ones; the executor keeps a worker for short calls too
  (``executor_container.pool``);
- ``lane#llm``: at most ``llm_lane_slots`` LLM runs at a time. They use no executor worker,
  but nothing bounds a provider's latency and each holds a dispatcher invocation while it
  runs: the cap keeps invocations free for everything else (sized to part of the dispatcher's
  concurrency).

A place is held by the run's lease owner, renewed with the task's lease and deleted when the
run ends; a run that dies frees its places when their lease expires. Nothing is kept in a
Lambda's memory: every invocation sees the same counts. A cap of 0 turns its scope off.

A task that cannot have every place waits, ``queued``: the dispatcher records why
(``Task.waiting``: code, message, since), tells subscribers once per reason, and sends the
task's message again with a growing delay (``chalicelib.logic.dispatch``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pynamodb.exceptions import TransactWriteError

from chalicelib.config import DispatchSettings
from chalicelib.dal.admission_models import Slot
from chalicelib.dal.transactions import transact_write
from chalicelib.logic.dispatch_run import RetryLater
from chalicelib.models.tasks import WaitingCode
from chalicelib.shared import cost

log = logging.getLogger(__name__)

USER_LIMIT: Final[WaitingCode] = "user_limit"
PROJECT_LIMIT: Final[WaitingCode] = "project_limit"
LONG_LANE_FULL: Final[WaitingCode] = "long_lane_full"
LLM_LANE_FULL: Final[WaitingCode] = "llm_lane_full"
LLM: Final = "llm"  # the lane of LLM runs (cost.SHORT and cost.LONG: executor runs)
# DynamoDB deletes a place this long after its lease expired (a run that died left it).
_FORGOTTEN_AFTER = timedelta(days=1)
# Races lost to other dispatchers before a task waits anyway.
_TAKE_TRIES = 3


@dataclass(frozen=True)
class Scope:
    key: str
    cap: int
    code: WaitingCode  # why a task waits when the scope is full
    message: str


@dataclass(frozen=True)
class Waiting:
    """No place in ``scope``: the task waits in the queue."""

    scope: Scope

    @property
    def code(self) -> WaitingCode:
        return self.scope.code

    @property
    def message(self) -> str:
        return self.scope.message


@dataclass
class Places:
    """The places one run holds; renewed with its lease, released when it ends. Each is one
    TransactWriteItems for every place of the run (a fallback place by place if one was
    taken meanwhile)."""

    owner: str
    task_id: str
    held: list[tuple[str, int]] = field(default_factory=list)

    def renew(self, expires_at: float) -> None:
        def renew_one(tx: Any, scope: str, index: int) -> None:
            tx.update(
                Slot(scope, index),
                actions=[Slot.expires_at.set(expires_at), Slot.ttl.set(_ttl(expires_at))],
                condition=Slot.holder == self.owner,
            )

        # Taken after it expired (this run's heartbeat stalled): the run goes on, the scope
        # over its cap by one until it ends.
        self._each(renew_one, "renew")

    def release(self) -> None:
        def release_one(tx: Any, scope: str, index: int) -> None:
            tx.delete(Slot(scope, index), condition=Slot.holder == self.owner)

        self._each(release_one, "free")
        self.held = []

    def _each(self, write: Callable[[Any, str, int], None], what: str) -> None:
        if not self.held:
            return
        try:
            with transact_write() as tx:
                for scope, index in self.held:
                    write(tx, scope, index)
            return
        except Exception:
            if len(self.held) == 1:
                log.info("could not %s place %s of task %s", what, self.held, self.task_id)
                return
        for scope, index in self.held:  # one of them was taken meanwhile: the others still
            try:
                with transact_write() as tx:
                    write(tx, scope, index)
            except Exception:  # it expires with the lease anyway
                log.info("could not %s place %s/%s of %s", what, scope, index, self.task_id)


def lane_of(target: str, module: str, input_bytes: int) -> str:
    """``LLM``, or ``cost.SHORT`` / ``cost.LONG`` for an executor run of ``module`` on
    ``input_bytes``."""
    if target != "executor":
        return LLM
    return cost.lane(module, input_bytes)


def scopes_for(
    created_by: str, project_id: str, lane: str, config: DispatchSettings
) -> list[Scope]:
    """The scopes a run counts against, most contended first (a full one costs no writes)."""
    found = []
    if lane == cost.LONG and config.long_lane_slots > 0:
        cap = config.long_lane_slots
        found.append(
            Scope(
                "lane#long",
                cap,
                LONG_LANE_FULL,
                f"Waiting for a place among long tasks: {cap} are running, at most {cap} at a "
                "time (short tasks go ahead).",
            )
        )
    if lane == LLM and config.llm_lane_slots > 0:
        cap = config.llm_lane_slots
        found.append(
            Scope(
                "lane#llm",
                cap,
                LLM_LANE_FULL,
                f"Waiting for a place among LLM tasks: {cap} are running, at most {cap} at a "
                "time (other tasks go ahead).",
            )
        )
    if config.project_concurrency > 0:
        cap = config.project_concurrency
        found.append(
            Scope(
                f"project#{project_id}",
                cap,
                PROJECT_LIMIT,
                f"Waiting: {cap} tasks of this project are running, at most {cap} at a time.",
            )
        )
    if config.user_concurrency > 0:
        cap = config.user_concurrency
        found.append(
            Scope(
                f"user#{created_by}",
                cap,
                USER_LIMIT,
                f"Waiting: {cap} tasks of the same person are running, at most {cap} at a time.",
            )
        )
    return found


def admit(
    *,
    task_id: str,
    created_by: str,
    project_id: str,
    lane: str,
    owner: str,
    config: DispatchSettings,
) -> Places | Waiting:
    """A place in every scope of the run, or why it must wait (holding none).

    One Query per scope (a full scope costs no write), then one TransactWriteItems taking a
    free place in each, conditional on it being free still; a race lost to another
    dispatcher picks again.
    """
    scopes = scopes_for(created_by, project_id, lane, config)
    if not scopes:
        return Places(owner, task_id)
    try:
        for _ in range(_TAKE_TRIES):
            now = time.time()
            chosen: list[tuple[Scope, int]] = []
            for scope in scopes:
                free = _free_places(scope, owner, now)
                if not free:
                    return Waiting(scope)
                chosen.append((scope, random.choice(free)))  # noqa: S311 (spreads racers)
            if _take(chosen, owner, task_id, now, now + config.lease_seconds):
                return Places(owner, task_id, [(scope.key, index) for scope, index in chosen])
    except Exception as exc:
        # The places' table, not the task: the delivery is retried (and bounded like any).
        raise RetryLater("the fair-dispatch places could not be read or taken") from exc
    return Waiting(scopes[0])  # every try lost its race: the scopes are busy


def _free_places(scope: Scope, owner: str, now: float) -> list[int]:
    live = {
        int(slot.index)
        for slot in Slot.query(scope.key, consistent_read=True)
        if float(slot.expires_at) >= now and slot.holder != owner
    }
    if len(live) >= scope.cap:
        return []
    return [i for i in range(scope.cap) if i not in live]


def _take(
    chosen: list[tuple[Scope, int]], owner: str, task_id: str, now: float, expires_at: float
) -> bool:
    """Every chosen place at once, each only if still free; False when one was taken."""
    try:
        with transact_write() as tx:
            for scope, index in chosen:
                tx.save(
                    Slot(
                        scope.key,
                        index,
                        holder=owner,
                        task_id=task_id,
                        expires_at=expires_at,
                        ttl=_ttl(expires_at),
                    ),
                    condition=Slot.scope.does_not_exist()
                    | (Slot.expires_at < now)
                    | (Slot.holder == owner),
                )
    except TransactWriteError as exc:
        reasons = {r.code for r in (exc.cancellation_reasons or []) if r is not None}
        if reasons & {"ConditionalCheckFailed", "TransactionConflict"}:
            return False
        raise
    return True


def _ttl(expires_at: float) -> datetime:
    return datetime.fromtimestamp(expires_at, UTC) + _FORGOTTEN_AFTER
