"""Fakes and seed data for the dispatch/telemetry/websocket unit tests (tests only)."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.clock import now_iso
from chalicelib.dal.models import Activity, Project, Task
from chalicelib.ids import new_id


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
        project_status=f"{project.id}#queued",
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


@dataclass
class ExecEvent:
    """Shape of chalicelib.executor_client.ExecEvent (the agreed interface)."""

    kind: str
    progress: float | None = None
    message: str = ""
    result: Any = None
    error_code: str | None = None
    retryable: bool = False


class ExecutorError(Exception):
    def __init__(self, message: str = "", *, code: str = "executor_error", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class ExecutorUnavailable(ExecutorError):
    def __init__(self, message: str = "executor unavailable") -> None:
        super().__init__(message, code="unavailable", retryable=True)


class FakeExecutor:
    """Plays a script: a list of ExecEvents, or a callable(cancel) yielding them."""

    def __init__(self, script: Any = None, *, healthy: bool = True) -> None:
        self.script = script if script is not None else default_script()
        self.healthy = healthy
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def execute(self, **kwargs: Any) -> Iterator[ExecEvent]:
        with self.lock:
            self.calls.append(kwargs)
        if isinstance(self.script, Exception):
            raise self.script
        if callable(self.script):
            yield from self.script(kwargs["cancel"])
            return
        yield from self.script

    def health(self, timeout_s: float = 1.0) -> bool:
        return self.healthy


def default_script() -> list[ExecEvent]:
    return [
        ExecEvent("started"),
        ExecEvent("progress", 0.25, "a quarter"),
        ExecEvent("progress", 0.75, "three quarters"),
        ExecEvent("log", message="counted"),
        ExecEvent("result", 1.0, result={"words": 3}),
    ]


class FakeRouting:
    def __init__(self, route: dict[str, Any] | None = None) -> None:
        self.route = route or executor_route()
        self.outcomes: list[tuple[str, bool]] = []

    def route_for_task(self, task: Task) -> dict[str, Any]:
        return dict(self.route)

    def record_route_outcome(self, target: str, ok: bool) -> None:
        self.outcomes.append((target, ok))


def executor_route(module: str = "text.stats") -> dict[str, Any]:
    return {
        "target": "executor",
        "module": module,
        "params": {},
        "confidence": 0.97,
        "reason": "rule",
        "alternatives": [],
        "decidedBy": "rule",
        "micros": 12,
    }


@dataclass
class Fakes:
    executor: FakeExecutor
    routing: FakeRouting
    llm_generate: Callable[..., str]


class LlmError(Exception):
    def __init__(self, message: str = "", *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def install_fakes(monkeypatch: pytest.MonkeyPatch, fakes: Fakes) -> None:
    """Replace the executor client, router and LLM modules the dispatcher imports lazily."""
    import chalicelib
    import chalicelib.logic

    executor_module = types.ModuleType("chalicelib.executor_client")
    executor_module.get_executor_client = lambda: fakes.executor  # type: ignore[attr-defined]
    executor_module.ExecutorError = ExecutorError  # type: ignore[attr-defined]
    executor_module.ExecutorUnavailable = ExecutorUnavailable  # type: ignore[attr-defined]
    executor_module.ExecEvent = ExecEvent  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chalicelib.executor_client", executor_module)
    monkeypatch.setattr(chalicelib, "executor_client", executor_module, raising=False)

    routing_module = types.ModuleType("chalicelib.logic.routing")
    routing_module.route_for_task = fakes.routing.route_for_task  # type: ignore[attr-defined]
    routing_module.record_route_outcome = fakes.routing.record_route_outcome  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chalicelib.logic.routing", routing_module)
    monkeypatch.setattr(chalicelib.logic, "routing", routing_module, raising=False)

    llm_module = types.ModuleType("chalicelib.llm")
    llm_module.generate = fakes.llm_generate  # type: ignore[attr-defined]
    llm_module.LlmError = LlmError  # type: ignore[attr-defined]
    llm_module.llm_configured = lambda: True  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chalicelib.llm", llm_module)
    monkeypatch.setattr(chalicelib, "llm", llm_module, raising=False)


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


@pytest.fixture
def realtime(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Realtime]:
    """Moto tables + queue + bucket, a recording management client, fast dispatch timings."""
    import boto3

    from chalicelib import aws_clients
    from chalicelib.config import get_settings
    from chalicelib.logic import dispatch, telemetry

    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="aion-test-dispatch")["QueueUrl"]
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="aion-test-files")
    monkeypatch.setenv("AION_DISPATCH_QUEUE_URL", queue_url)
    monkeypatch.setenv("AION_WS_MANAGEMENT_ENDPOINT", "http://127.0.0.1:9/ws-mgmt")
    monkeypatch.setenv("AION_LEASE_SECONDS", "3")
    monkeypatch.setenv("AION_HEARTBEAT_SECONDS", "0.05")
    monkeypatch.setenv("AION_PROGRESS_EVENTS_PER_SECOND", "1000")
    get_settings.cache_clear()
    dispatch.get_config.cache_clear()
    aws_clients.reset_clients()
    mgmt = RecordingManagementClient()
    monkeypatch.setattr(telemetry, "_client", mgmt)
    yield Realtime(mgmt, queue_url)
    monkeypatch.undo()
    get_settings.cache_clear()
    dispatch.get_config.cache_clear()
    aws_clients.reset_clients()
    telemetry.reset_management_client()


def serialize_task_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each write atomically; in-process moto does not across threads.

    Concurrency tests serialize the task writes (the UpdateItem and the seq-known transaction,
    only those calls) to get DynamoDB's semantics.
    """
    from chalicelib.logic import telemetry

    lock = threading.Lock()

    def atomic(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(*args, **kwargs)

        return call

    monkeypatch.setattr(telemetry, "update_task", atomic(telemetry.update_task))
    monkeypatch.setattr(telemetry, "write_at_seq", atomic(telemetry.write_at_seq))
