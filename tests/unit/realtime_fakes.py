"""Stand-ins and seed data for the dispatch/telemetry/websocket unit tests (tests only).

The executor client, the router and the LLM are replaced by ``unittest.mock.create_autospec``
of the real functions and classes, and return the real types (``ExecEvent``, ``RouteDecision``):
when an interface changes, these tests fail instead of passing against a stale copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import MagicMock, NonCallableMagicMock, create_autospec

import pytest

from chalicelib import executor_client, llm
from chalicelib.clock import now_iso
from chalicelib.dal.models import Activity, Project, Task, project_status_key
from chalicelib.executor_client import ExecEvent, ExecutorClient
from chalicelib.ids import new_id
from chalicelib.logic import routing
from chalicelib.router.models import RouteDecision

# The real interfaces, taken before any test patches them (autospecs are made from these).
_get_executor_client = executor_client.get_executor_client
_route_for_task = routing.route_for_task
_record_route_outcome = routing.record_route_outcome
_generate = llm.generate
_llm_configured = llm.llm_configured


def seed_project(owner: str = "usr_owner", members: tuple[str, ...] = ()) -> Project:
    now = now_iso()
    project = Project(
        id=new_id("prj"),
        name="p",
        owner_id=owner,
        member_ids=[owner, *members],
        created_at=now,
        updated_at=now,
    )
    project.save()
    return project


def seed_task(project: Project, *, instruction: str = "count words", input: Any = "a b c") -> Task:
    """A queued task with its first event, as POST /tasks writes it."""
    now = now_iso()
    task = Task(
        id=new_id("tsk"),
        project_id=project.id,
        project_status=project_status_key(project.id, "queued"),
        title="t",
        instruction=instruction,
        input=input,
        status="queued",
        attempts=1,
        created_by=project.owner_id,
        created_at=now,
        updated_at=now,
        last_seq=1,
        cancel_requested=False,
    )
    task.save()
    Activity(
        task_id=task.id,
        seq=1,
        project_id=project.id,
        kind="status",
        status="queued",
        message="Task queued",
        at=now,
        actor=project.owner_id,
    ).save()
    return task


def activity_of(task_id: str) -> list[Activity]:
    return list(Activity.query(task_id))


def default_script() -> list[ExecEvent]:
    return [
        ExecEvent("started"),
        ExecEvent("progress", 0.25, "a quarter"),
        ExecEvent("progress", 0.75, "three quarters"),
        ExecEvent("log", message="counted"),
        ExecEvent("result", 1.0, result={"words": 3}),
    ]


Script = list[ExecEvent] | Exception | Callable[[threading.Event], Iterator[ExecEvent]]


def fake_executor(script: Script | None = None, *, healthy: bool = True) -> NonCallableMagicMock:
    """An ``ExecutorClient`` (autospec: a call the real client would refuse fails the test)
    that plays ``script``: events, an exception to raise, or a callable(cancel) yielding events.
    """
    played = default_script() if script is None else script
    client = create_autospec(ExecutorClient, instance=True)

    def execute(**kwargs: Any) -> Iterator[ExecEvent]:
        if isinstance(played, Exception):
            raise played
        if callable(played):
            return iter(played(kwargs["cancel"]))
        return iter(list(played))

    client.execute.side_effect = execute
    client.health.return_value = healthy
    return client


def decision(
    module: str = "text.stats", *, target: str = "executor", stage: str = "rules", **fields: Any
) -> RouteDecision:
    """A route decision as the router makes it (its own model, validated)."""
    return RouteDecision.model_validate(
        {
            "target": target,
            "module": module,
            "params": {},
            "confidence": 0.97,
            "reason": "rule",
            "alternatives": [],
            "decided_by": "rule",
            "micros": 12,
            "stage": stage,
            **fields,
        }
    )


@dataclass
class Fakes:
    """The dispatcher's collaborators, each an autospec of the real function or class."""

    executor: NonCallableMagicMock
    route_for_task: MagicMock
    record_route_outcome: MagicMock
    generate: MagicMock

    @property
    def executor_calls(self) -> list[dict[str, Any]]:
        return [call.kwargs for call in self.executor.execute.call_args_list]

    @property
    def route_outcomes(self) -> list[tuple[str, bool]]:
        return [call.args for call in self.record_route_outcome.call_args_list]


def install_fakes(
    monkeypatch: pytest.MonkeyPatch,
    *,
    executor: NonCallableMagicMock | None = None,
    route: RouteDecision | None = None,
    generate: Callable[[str, str, float], str] | None = None,
    llm_configured: bool = True,
) -> Fakes:
    """Stand in for the executor client, the router and the LLM where the dispatcher calls
    them, with autospecs of the real interfaces (a changed signature fails here)."""
    fakes = Fakes(
        executor=executor if executor is not None else fake_executor(),
        route_for_task=create_autospec(
            _route_for_task, return_value=route if route is not None else decision()
        ),
        record_route_outcome=create_autospec(_record_route_outcome, return_value=None),
        generate=create_autospec(
            _generate, side_effect=generate or (lambda instruction, text, timeout_s: "a poem")
        ),
    )
    monkeypatch.setattr(
        executor_client,
        "get_executor_client",
        create_autospec(_get_executor_client, return_value=fakes.executor),
    )
    monkeypatch.setattr(routing, "route_for_task", fakes.route_for_task)
    monkeypatch.setattr(routing, "record_route_outcome", fakes.record_route_outcome)
    monkeypatch.setattr(llm, "generate", fakes.generate)
    monkeypatch.setattr(
        llm, "llm_configured", create_autospec(_llm_configured, return_value=llm_configured)
    )
    return fakes


class RecordingManagementClient:
    """Stands in for the apigatewaymanagementapi client: records posts, 410 for ``gone`` ids."""

    def __init__(self, gone: set[str] | None = None) -> None:
        self.gone = gone or set()
        self.posts: list[tuple[str, bytes]] = []
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if ConnectionId in self.gone:
            raise ClientError(
                {
                    "Error": {"Code": "GoneException", "Message": "gone"},
                    "ResponseMetadata": {"HTTPStatusCode": 410},
                },
                "PostToConnection",
            )
        with self.lock:
            self.posts.append((ConnectionId, Data))
        return {}

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:
        with self.lock:
            self.deleted.append(ConnectionId)
        return {}

    def messages_to(self, connection_id: str) -> list[dict[str, Any]]:
        import json

        return [json.loads(data) for cid, data in self.posts if cid == connection_id]


@dataclass
class Realtime:
    mgmt: RecordingManagementClient
    queue_url: str
    monkeypatch: pytest.MonkeyPatch = field(repr=False)
    reset_caches: Callable[[], None] = field(repr=False)

    def setenv(self, name: str, value: str) -> None:
        """Change a setting mid-test: settings and clients are read afresh, and the recording
        management client stays in place."""
        from chalicelib.logic import connections

        self.monkeypatch.setenv(name, value)
        self.reset_caches()
        self.monkeypatch.setattr(connections, "_client", self.mgmt)


@pytest.fixture
def realtime(
    aws: None, monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> Iterator[Realtime]:
    """Moto tables + queue + bucket, a recording management client, fast dispatch timings."""
    import boto3

    from chalicelib.logic import connections

    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="aion-test-dispatch")["QueueUrl"]
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="aion-test-files")
    monkeypatch.setenv("AION_DISPATCH_QUEUE_URL", queue_url)
    monkeypatch.setenv("AION_WS_MANAGEMENT_ENDPOINT", "http://127.0.0.1:9/ws-mgmt")
    monkeypatch.setenv("AION_LEASE_SECONDS", "3")
    monkeypatch.setenv("AION_HEARTBEAT_SECONDS", "0.05")
    monkeypatch.setenv("AION_PROGRESS_EVENTS_PER_SECOND", "1000")
    reset_caches()
    mgmt = RecordingManagementClient()
    monkeypatch.setattr(connections, "_client", mgmt)
    yield Realtime(mgmt, queue_url, monkeypatch, reset_caches)
    monkeypatch.undo()
    reset_caches()


def serialize_task_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each write atomically; in-process moto does not across threads.

    Concurrency tests serialize the task writes (the UpdateItem and the seq-known transaction,
    only those calls) to get DynamoDB's semantics.
    """
    from chalicelib.dal import task_updates

    lock = threading.Lock()

    def atomic(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(*args, **kwargs)

        return call

    monkeypatch.setattr(task_updates, "update_task", atomic(task_updates.update_task))
    monkeypatch.setattr(task_updates, "write_at_seq", atomic(task_updates.write_at_seq))
