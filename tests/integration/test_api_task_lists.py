"""GET /tasks at scale: filters, text search, sort orders, bounded pages, signed cursors; every
page one DynamoDB Query (never a Scan)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.dal.models import Task
from chalicelib.logic import lifecycle, task_lists
from chalicelib.models.tasks import EventDraft
from tests.integration.conftest import ApiClient, set_task_fields


def _list(api: ApiClient, who: Any, **params: Any) -> Any:
    return api.get(f"/tasks?{urlencode(params)}", who=who)


def _ids(reply: Any) -> list[str]:
    assert reply.status == 200, reply.body
    return [t["id"] for t in reply.body["items"]]


def _all_pages(api: ApiClient, who: Any, **params: Any) -> tuple[list[str], list[dict]]:
    """Every page of a list: the ids in order and the pages' bodies."""
    ids: list[str] = []
    pages: list[dict] = []
    cursor = None
    for _ in range(100):
        extra = {"cursor": cursor} if cursor else {}
        reply = _list(api, who, **params, **extra)
        assert reply.status == 200, reply.body
        pages.append(reply.body)
        ids += [t["id"] for t in reply.body["items"]]
        cursor = reply.body["nextCursor"]
        if not cursor:
            return ids, pages
    raise AssertionError("the list never ended")


@contextmanager
def dynamodb_operations() -> Iterator[list[str]]:
    """The DynamoDB operations made inside the block (botocore's own event names)."""
    from pynamodb.connection.base import Connection

    seen: list[str] = []
    original = Connection._make_api_call

    def record(self: Any, operation_name: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(operation_name)
        return original(self, operation_name, *args, **kwargs)

    Connection._make_api_call = record  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Connection._make_api_call = original  # type: ignore[method-assign]


def test_filters_module_assignee_and_text_search(api: ApiClient) -> None:
    alice, bob = api.user(), api.user()
    pid = api.project(alice, bob)["id"]
    invoice = api.task(alice, pid, title="Invoice März", instruction="Sum the INVOICE totals")
    memo = api.task(alice, pid, title="Memo", instruction="count words of the invoice memo")
    pinned = api.task(alice, pid, title="Hash", instruction="hash it", module="crypto.hash")
    routed = api.task(alice, pid, title="Stats", instruction="stats", assigneeId=bob.id)
    # The router's choice counts as the task's module as much as a pinned one.
    set_task_fields(routed["id"], route={"target": "executor", "module": "crypto.hash"})

    assert _ids(_list(api, alice, projectId=pid, q="invoice")) == [memo["id"], invoice["id"]]
    # Every word must appear, in any case, in the title or the instruction.
    assert _ids(_list(api, alice, projectId=pid, q="MÄRZ totals")) == [invoice["id"]]
    assert _ids(_list(api, alice, projectId=pid, q="invoice nothing")) == []
    assert _ids(_list(api, alice, projectId=pid, module="crypto.hash")) == [
        routed["id"],
        pinned["id"],
    ]
    assert _ids(_list(api, alice, projectId=pid, module="crypto.hash", assigneeId=bob.id)) == [
        routed["id"]
    ]
    assert _ids(_list(api, alice, projectId=pid, status="queued", q="memo")) == [memo["id"]]
    reply = _list(api, alice, projectId=pid, q="invoice")
    assert reply.body["itemsRead"] == 4  # read them all, two matched
    assert _list(api, alice, projectId=pid, q="x" * 201).status == 400
    assert _list(api, alice, projectId=pid, module="Not A Module").status == 400


def test_created_range_is_a_key_condition_or_a_filter(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    made = [api.task(alice, pid, title=f"t{i}") for i in range(3)]
    for task, day in zip(made, ("2026-01-10", "2026-01-11", "2026-01-12"), strict=True):
        set_task_fields(task["id"], created_at=f"{day}T12:00:00.000Z")
    middle = {"createdFrom": "2026-01-11T00:00:00Z", "createdBefore": "2026-01-12T00:00:00Z"}
    assert _ids(_list(api, alice, projectId=pid, **middle)) == [made[1]["id"]]
    open_end = {"createdFrom": "2026-01-11T00:00:00+00:00"}
    assert _ids(_list(api, alice, projectId=pid, order="asc", **open_end)) == [
        made[1]["id"],
        made[2]["id"],
    ]
    # Under another sort the range is checked on the tasks read.
    updated = _list(api, alice, projectId=pid, status="queued", sort="updated", **middle)
    assert _ids(updated) == [made[1]["id"]]
    backwards = {"createdFrom": "2026-01-12T00:00:00Z", "createdBefore": "2026-01-11T00:00:00Z"}
    assert _list(api, alice, projectId=pid, **backwards).status == 400
    no_zone = _list(api, alice, projectId=pid, createdFrom="2026-01-11T00:00:00")
    assert no_zone.status == 400


def test_sort_by_updated_and_by_duration_use_their_indexes(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    quick, slow, never = (api.task(alice, pid, title=n) for n in ("quick", "slow", "never"))
    for task, started in ((quick, "2026-01-10T00:00:00.000Z"), (slow, "2026-01-09T00:00:00.000Z")):
        set_task_fields(task["id"], status="running", started_at=started)
        running = Task.get(task["id"])
        lifecycle.transition(
            running,
            lifecycle.RUNNING,
            lifecycle.COMPLETED,
            events=[EventDraft("status", "Completed", "executor")],
        )
    assert api.post(f"/tasks/{never['id']}/cancel", who=alice).status == 200
    # The run time is written with the terminal status: 0 for a task that never ran.
    assert Task.get(never["id"]).duration_ms == 0
    assert Task.get(slow["id"]).duration_ms > Task.get(quick["id"]).duration_ms > 0

    assert _ids(_list(api, alice, projectId=pid, status="completed", sort="duration")) == [
        slow["id"],
        quick["id"],
    ]
    asc = _list(api, alice, projectId=pid, status="completed", sort="duration", order="asc")
    assert _ids(asc) == [quick["id"], slow["id"]]
    assert _ids(_list(api, alice, projectId=pid, status="canceled", sort="duration")) == [
        never["id"]
    ]
    # Updated: the last change first.
    set_task_fields(quick["id"], updated_at="2099-01-01T00:00:00.000Z")
    assert _ids(_list(api, alice, projectId=pid, status="completed", sort="updated")) == [
        quick["id"],
        slow["id"],
    ]
    # A retry starts over: no duration until the new attempt ends.
    assert api.post(f"/tasks/{never['id']}/retry", who=alice).status == 202
    assert Task.get(never["id"]).duration_ms is None
    assert _ids(_list(api, alice, projectId=pid, status="canceled", sort="duration")) == []

    refused = _list(api, alice, projectId=pid, sort="updated")
    assert (refused.status, refused.error_code) == (400, "status_required")
    refused = _list(api, alice, projectId=pid, status="queued", sort="duration")
    assert (refused.status, refused.error_code) == (400, "duration_needs_terminal_status")
    assert _list(api, alice, sort="updated").error_code == "project_required"
    assert _list(api, alice, projectId=pid, sort="size").status == 400


def test_a_search_page_reads_a_bounded_number_of_tasks_and_resumes(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(task_lists, "READ_BUDGET", 3)
    alice = api.user()
    pid = api.project(alice)["id"]
    needle = api.task(alice, pid, title="needle in the stack")
    hay = [api.task(alice, pid, title=f"hay {i}") for i in range(7)]

    # Newest first: the match is the oldest, so the first pages find nothing but go on.
    first = _list(api, alice, projectId=pid, q="needle", limit=5)
    assert first.body["items"] == []
    assert first.body["itemsRead"] == 3
    assert first.body["nextCursor"]
    ids, pages = _all_pages(api, alice, projectId=pid, q="needle", limit=5)
    assert ids == [needle["id"]]
    assert [p["itemsRead"] for p in pages] == [3, 3, 2]
    # Matches fill a page before the budget runs out; the rest follows.
    ids, pages = _all_pages(api, alice, projectId=pid, q="hay", limit=2)
    assert ids == [t["id"] for t in reversed(hay)]
    assert len(ids) == len(set(ids))
    assert all(len(p["items"]) <= 2 and p["itemsRead"] <= 3 for p in pages)

    # A cursor belongs to its list and its filters; a tampered one is refused.
    cursor = first.body["nextCursor"]
    other = _list(api, alice, projectId=pid, q="hay", cursor=cursor)
    assert (other.status, other.error_code) == (400, "invalid_cursor")
    body, mac = cursor.split(".")
    tampered = body[:-2] + ("AA" if not body.endswith("AA") else "BB") + "." + mac
    reply = _list(api, alice, projectId=pid, q="needle", cursor=tampered)
    assert (reply.status, reply.error_code) == (400, "invalid_cursor")


def test_every_list_is_a_query_never_a_scan(api: ApiClient) -> None:
    alice = api.user()
    pid = api.project(alice)["id"]
    task = api.task(alice, pid, title="one", module="crypto.hash")
    set_task_fields(task["id"], status="failed", duration_ms=5)
    lists = [
        {"projectId": pid},
        {"projectId": pid, "q": "one", "module": "crypto.hash", "createdFrom": "2020-01-01T00:00Z"},
        {"projectId": pid, "status": "failed", "sort": "updated", "order": "asc"},
        {"projectId": pid, "status": "failed", "sort": "duration", "q": "one"},
        {"q": "one", "status": "failed"},
    ]
    for params in lists:
        with dynamodb_operations() as operations:
            assert _ids(_list(api, alice, **params)) == [task["id"]], params
        assert "Scan" not in operations, params
        assert operations.count("Query") >= 1, params


def test_members_only(api: ApiClient) -> None:
    alice, eve = api.user(), api.user()
    pid = api.project(alice)["id"]
    api.task(alice, pid, title="secret")
    assert _list(api, eve, projectId=pid, q="secret").status == 404
    assert _ids(_list(api, eve, q="secret")) == []
