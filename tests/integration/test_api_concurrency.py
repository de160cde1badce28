"""Optimistic locking under contention: 20 PATCHes with the same If-Match, exactly one wins.

The threads call the logic layer (what the route calls after parsing): chalice.test.Client
keeps the current request on the app object, so it cannot serve concurrent requests.
DynamoDB evaluates a condition and applies the write atomically; in-process moto does not
(check and write can interleave between threads), so the ``atomic_dynamodb`` fixture gives
moto's write operations that one guarantee with a lock. Without our conditions, every
writer would still succeed; the assertions below would catch that.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import ApiClient

WRITERS = 20


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def _race(attempt) -> list[str]:  # type: ignore[no-untyped-def]
    from chalicelib.errors import PreconditionFailed

    barrier = threading.Barrier(WRITERS)

    def one(i: int) -> str:
        barrier.wait(timeout=10)
        try:
            attempt(i)
            return "ok"
        except PreconditionFailed:
            return "stale"

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(one, range(WRITERS), timeout=60))


def test_twenty_concurrent_task_patches_one_wins(api: ApiClient, atomic_dynamodb: None) -> None:
    from chalicelib.auth.principal import Principal
    from chalicelib.logic import tasks
    from chalicelib.models.tasks import TaskUpdate

    alice = api.user()
    task = api.task(alice, api.project(alice)["id"])
    me = Principal(alice.id, "member")
    outcomes = _race(
        lambda i: tasks.update_task(me, task["id"], TaskUpdate(title=f"writer {i}"), version=1)
    )
    assert outcomes.count("ok") == 1
    assert outcomes.count("stale") == WRITERS - 1
    final = api.get(f"/tasks/{task['id']}", who=alice).body
    assert final["version"] == 2
    assert final["title"].startswith("writer ")
    events = api.get(f"/tasks/{task['id']}/activity", who=alice).body["items"]
    assert [e["kind"] for e in events] == ["status", "update"]  # losers left no event behind


def test_twenty_concurrent_project_patches_one_wins(api: ApiClient, atomic_dynamodb: None) -> None:
    from chalicelib.auth.principal import Principal
    from chalicelib.logic import projects
    from chalicelib.models.projects import ProjectUpdate

    alice = api.user()
    project = api.project(alice)
    me = Principal(alice.id, "member")
    outcomes = _race(
        lambda i: projects.update_project(
            me, project["id"], ProjectUpdate(name=f"writer {i}"), version=project["version"]
        )
    )
    assert outcomes.count("ok") == 1
    assert outcomes.count("stale") == WRITERS - 1
