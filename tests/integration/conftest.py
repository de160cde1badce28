"""REST API fixtures: the Chalice app under chalice.test.Client over moto, users with tokens."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

QUEUE_NAME = "aion-test-dispatch"
BUCKET = "aion-test-files"
_counter = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower())

    @property
    def error_code(self) -> str | None:
        return (
            (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None
        )


@dataclass
class Who:
    id: str
    email: str
    password: str
    role: str
    token: str


class ApiClient:
    """Thin wrapper over chalice.test.Client returning decoded JSON."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def call(
        self,
        method: str,
        path: str,
        *,
        who: Who | None = None,
        json_body: Any = None,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Content-Type": "application/json"}
        if who is not None:
            sent["Authorization"] = f"Bearer {who.token}"
        sent.update(headers or {})
        body = raw if raw is not None else (json.dumps(json_body) if json_body is not None else b"")
        response = self.client.http.request(method.upper(), path, headers=sent, body=body)
        text = response.body.decode() if response.body else ""
        decoded = json.loads(text) if text else None
        return Reply(response.status_code, decoded, dict(response.headers))

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> Reply:
        return self.call("PATCH", path, json_body=json_body, **kw)

    def put(self, path: str, **kw: Any) -> Reply:
        return self.call("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)

    # ------------------------------------------------------------------ fixtures as helpers

    def user(self, role: str = "member", *, name: str = "Someone") -> Who:
        from chalicelib.auth.tokens import issue_access_token
        from chalicelib.logic.users import create_user
        from chalicelib.models.users import UserCreate

        n = next(_counter)
        email, password = f"user{n}@example.test", f"pass-{n}-word"
        created = create_user(UserCreate(email=email, name=name, password=password, role=role))
        token, _ = issue_access_token(created.id, role)
        return Who(created.id, email, password, role, token)

    def project(self, owner: Who, *members: Who, name: str = "Project") -> dict[str, Any]:
        reply = self.post("/projects", {"name": name}, who=owner)
        assert reply.status == 201, reply.body
        for member in members:
            added = self.put(f"/projects/{reply.body['id']}/members/{member.id}", who=owner)
            assert added.status == 200, added.body
        return self.get(f"/projects/{reply.body['id']}", who=owner).body

    def task(self, who: Who, project_id: str, **fields: Any) -> dict[str, Any]:
        body = {"projectId": project_id, "instruction": "count the words", **fields}
        reply = self.post("/tasks", body, who=who)
        assert reply.status == 202, reply.body
        return reply.body

    def queue_messages(self) -> list[dict[str, Any]]:
        import boto3

        sqs = boto3.client("sqs", region_name="us-east-1")
        out: list[dict[str, Any]] = []
        for _ in range(10):
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            batch = got.get("Messages", [])
            if not batch:
                break
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return out


def set_task_fields(task_id: str, **fields: Any) -> None:
    """Move a task where the dispatcher would (tests only): e.g. status="running"."""
    from chalicelib.dal.models import Task, project_status_key
    from chalicelib.dal.task_updates import update_task

    task = Task.get(task_id)
    actions = [getattr(Task, k).set(v) for k, v in fields.items()]
    if "status" in fields:
        actions.append(
            Task.project_status.set(project_status_key(task.project_id, fields["status"]))
        )
    update_task(task_id, actions)  # like the dispatcher: no version bump


@pytest.fixture
def api(
    aws: None, monkeypatch: pytest.MonkeyPatch, reset_caches: Callable[[], None]
) -> Iterator[ApiClient]:
    import boto3
    from chalice.test import Client

    queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName=QUEUE_NAME)[
        "QueueUrl"
    ]
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("AION_DISPATCH_QUEUE_URL", queue_url)
    reset_caches()
    import app

    with Client(app.app) as client:
        yield ApiClient(client, queue_url)
