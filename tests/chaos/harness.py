"""Drive tasks through their whole lifecycle in-process (moto), as SQS, the dispatch Lambda and
the one-minute schedule would, with faults injected at chosen AWS calls (tests only).

``Faults`` wraps botocore's ``BaseClient._make_api_call``, the one door every AWS call of the
product goes through (pynamodb included): it numbers the calls it is told to watch and raises
a ``ClientError`` at chosen indices, as the service would answer (a validation error, a
throttle, a 500). ``Lifecycle`` plays SQS: every message sent to the dispatch queue is
delivered to ``dispatch.handle_message`` with its receive count; one that raises is delivered
again, up to ``max_receives`` times, then dropped as the DLQ would take it. Between rounds the
sweeper runs on a virtual clock that jumps past every lease and re-drive threshold, so what
takes minutes on AWS takes one round here. ``assert_ended_once`` is what every chaos test
checks: the task ended (terminal or review), with exactly one end event, the last one, and
seqs strictly increasing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from chalicelib.dal.models import Activity, Task

log = logging.getLogger(__name__)

END_STATUSES = ("completed", "failed", "canceled", "needs_review")
DYNAMODB_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
)


def dynamodb_item_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process moto with DynamoDB's item limit, all or nothing (as the dev stack's moto).

    moto checks its own limit (405,000 of its units) attribute by attribute while it applies
    an update, and leaves the item half-updated when it trips; DynamoDB checks 400 KB on the
    result and changes nothing. The dev stack's patches do the latter; here for one test.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    from devstack.moto_server import _all_or_nothing

    monkeypatch.setattr(LimitedSizeDict, "__setitem__", dict.__setitem__)
    monkeypatch.setattr(
        DynamoDBBackend, "put_item", _all_or_nothing(DynamoDBBackend.put_item, update=False)
    )
    monkeypatch.setattr(
        DynamoDBBackend, "update_item", _all_or_nothing(DynamoDBBackend.update_item, update=True)
    )


def client_error(code: str, operation: str, *, status: int = 400, message: str = "") -> ClientError:
    """The ``ClientError`` botocore raises when the service answers ``code``."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": message or f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def validation_error(operation: str) -> ClientError:
    return client_error(
        "ValidationException", operation, message="Item size has exceeded the maximum allowed size"
    )


def throttled(operation: str) -> ClientError:
    return client_error("ThrottlingException", operation, message="Rate exceeded")


def server_error(operation: str) -> ClientError:
    return client_error("InternalServerError", operation, status=500)


ErrorFactory = Callable[[str], Exception]


@dataclass
class Faults:
    """Numbers the watched AWS calls and fails those at ``plan``'s indices."""

    watch: Callable[[str, str], bool] = lambda service, operation: (
        service == "dynamodb" and operation in DYNAMODB_WRITES
    )
    plan: dict[int, ErrorFactory] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)
    injected: list[tuple[int, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Faults:
        original = BaseClient._make_api_call

        def call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            if self.watch(service, operation):
                with self.lock:
                    index = len(self.seen)
                    self.seen.append((service, operation))
                    error = self.plan.get(index)
                    if error is not None:
                        self.injected.append((index, service, operation))
                if error is not None:
                    raise error(operation)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", call)
        return self


@dataclass
class Delivery:
    body: str
    receive_count: int = 1


@dataclass
class Lifecycle:
    """SQS + the dispatch Lambda + the schedule, in rounds (see the module docstring)."""

    queue_url: str
    max_receives: int
    pending: list[Delivery] = field(default_factory=list)
    dead: list[Delivery] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    clock: float = field(default_factory=time.time)
    # How far the schedule's clock jumps per round: past a lease and a re-drive period.
    step_s: float = 3_600.0

    def pull(self) -> None:
        """Take every message sent to the queue (deleted there: delivery is ours to play)."""
        sqs = boto3.client("sqs", region_name="us-east-1")
        while True:
            got = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = got.get("Messages", [])
            if not messages:
                return
            for message in messages:
                self.pending.append(Delivery(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def deliver(self, deliveries: Iterable[Delivery] | None = None) -> None:
        """Each pending message once; a failure counts a receive (the DLQ after the last)."""
        from chalicelib.logic import dispatch

        for delivery in list(deliveries if deliveries is not None else self.pending):
            try:
                outcome = dispatch.handle_message(
                    delivery.body, receive_count=delivery.receive_count
                )
            except Exception as exc:  # the batch handler would raise: SQS delivers it again
                note_failed_delivery(exc)
                self.outcomes.append(type(exc).__name__)
                delivery.receive_count += 1
                if delivery.receive_count > self.max_receives:
                    self.pending.remove(delivery)
                    self.dead.append(delivery)
                continue
            self.outcomes.append(outcome.status)
            self.pending.remove(delivery)

    def sweep(self) -> None:
        from chalicelib.logic import sweeper

        self.clock = max(self.clock, time.time()) + self.step_s
        try:
            sweeper.sweep(now=self.clock)
        except Exception as exc:  # a failed schedule run is run again a minute later
            self.outcomes.append(f"sweep:{type(exc).__name__}")

    def run(self, task_id: str, *, rounds: int = 20) -> Task:
        """Rounds of deliveries and sweeps until the task ends; the task as it ended."""
        for _ in range(rounds):
            self.pull()
            self.deliver()
            task = Task.get(task_id, consistent_read=True)
            if task.status in END_STATUSES and not self.pending:
                return task
            self.sweep()
        return Task.get(task_id, consistent_read=True)


def note_failed_delivery(exc: Exception) -> None:
    """Log an unexpected delivery failure with its traceback (a failing test's captured log
    then says why a message was delivered again or dead-lettered)."""
    from chalicelib.logic.dispatch_run import RetryLater

    if not isinstance(exc, RetryLater):
        log.warning("delivery failed", exc_info=exc)


def message_body(task_id: str, attempt: int = 1) -> str:
    return json.dumps({"taskId": task_id, "attempt": attempt})


def assert_ended_once(task_id: str) -> Task:
    """Ended (terminal or review) with exactly one end event, the last, seqs increasing."""
    task = Task.get(task_id, consistent_read=True)
    events = list(Activity.query(task_id, consistent_read=True))
    story = [(int(e.seq), e.kind, e.status, e.message) for e in events]
    assert task.status in END_STATUSES, (task.status, story)
    ends = [e for e in events if e.kind == "status" and e.status in END_STATUSES]
    assert len(ends) == 1, story
    assert ends[0].status == task.status, story
    assert int(events[-1].seq) == int(ends[0].seq), story  # nothing after the end
    seqs = [int(e.seq) for e in events]
    assert seqs == sorted(set(seqs)), story
    assert int(task.last_seq or 0) >= seqs[-1], story
    assert task.lease_owner is None, story
    return task
