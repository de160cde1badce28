"""Tasks whose item approaches DynamoDB's 400 KB limit still end (issue 16, point 2).

Once: ``"中" * 67435`` as input was accepted (202) and every claim then failed with a
``ValidationException`` (the DLQ, re-sent forever; cancel and PATCH answered 500); 205 KiB of
CJK text under the 256 KiB body cap answered 500 (``\\u`` escapes: six bytes a character); a
result that pushed the item over the limit failed every completion write until the task ended
as a misleading ``lease_expired``. Now sizes are measured as DynamoDB counts them, large inputs
go to S3, params are capped, and a write DynamoDB refuses for good ends the task at once.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.dal import item_size
from chalicelib.dal.item_size import ITEM_LIMIT_BYTES
from chalicelib.dal.item_size import item_size as size_of
from chalicelib.dal.json_attribute import Utf8JSONAttribute
from chalicelib.dal.models import Task
from chalicelib.executor_client import ExecEvent
from chalicelib.logic import dispatch, dispatch_run, input_store
from tests.chaos.harness import assert_ended_once, dynamodb_item_limit
from tests.integration.conftest import BUCKET, ApiClient
from tests.unit.realtime_fakes import Fakes, fake_executor, install_fakes

CJK_REPRO = "中" * 67435  # the reported input: 202 KB as UTF-8, 405 KB as \u escapes


def _objects(prefix: str) -> list[str]:
    listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(
        Bucket=BUCKET, Prefix=prefix
    )
    return [o["Key"] for o in listed.get("Contents", [])]


def _utf8(body: Any) -> bytes:
    """JSON as clients send it: UTF-8 text, not ``\\u`` escapes (404 KB of those would be
    over the 256 KiB body cap; the reported input is 202 KB as UTF-8)."""
    return json.dumps(body, ensure_ascii=False).encode()


def _dispatch_queued(api: ApiClient) -> list[str]:
    """Deliver every queued dispatch message once; the outcomes."""
    return [dispatch.handle_message(json.dumps(message)).status for message in api.queue_messages()]


# ------------------------------------------------------------------------ measuring


def test_item_size_counts_utf8_names_and_values_as_dynamodb_does() -> None:
    assert size_of({"a": {"S": "中"}}) == 1 + 3
    assert (
        size_of({"name": {"S": "abc"}, "ok": {"BOOL": True}, "n": {"NULL": True}})
        == 4 + 3 + 2 + 1 + 1 + 1
    )
    assert size_of({"n": {"N": "12345"}}) == 1 + 4  # 5 significant digits: 3 bytes + 1
    # Lists and maps: 3 bytes, plus each element and one byte per element; map keys count.
    assert size_of({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (2 + 1) + (2 + 1)
    assert size_of({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)


def test_json_is_stored_as_utf8_not_escapes() -> None:
    from pynamodb.attributes import JSONAttribute

    escaped = JSONAttribute().serialize(CJK_REPRO)
    stored = Utf8JSONAttribute().serialize(CJK_REPRO)
    assert len(escaped.encode()) == 6 * len(CJK_REPRO) + 2  # pynamodb's default: 405 KB
    assert len(stored.encode()) == 3 * len(CJK_REPRO) + 2  # half of it
    assert json.loads(stored) == json.loads(escaped) == CJK_REPRO
    # A lone surrogate (never from the API, which refuses them) still round-trips.
    assert json.loads(Utf8JSONAttribute().serialize("\ud800")) == "\ud800"


# ------------------------------------------------------------------------ at the door


def test_the_reported_cjk_input_is_stored_in_s3_and_the_task_completes(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = install_fakes(monkeypatch)
    alice = api.user()
    project = api.project(alice)
    body = {"projectId": project["id"], "instruction": "count", "input": CJK_REPRO}
    created = api.post("/tasks", raw=_utf8(body), who=alice)
    assert created.status == 202, created.body
    assert created.body["input"] == CJK_REPRO
    assert created.body["inputRef"].startswith(f"inputs/{created.body['id']}/")
    stored = Task.get(created.body["id"])
    assert (stored.input, stored.input_ref) == (None, created.body["inputRef"])
    assert size_of(stored.serialize()) < input_store.INPUT_INLINE_BYTES + 4096
    # One task: the input itself. A list: its key only.
    assert api.get(f"/tasks/{stored.id}", who=alice).body["input"] == CJK_REPRO
    listed = api.get(f"/tasks?projectId={project['id']}", who=alice).body["items"]
    assert [(t["input"], t["inputRef"]) for t in listed] == [(None, stored.input_ref)]

    assert _dispatch_queued(api) == ["completed"]
    assert fakes.executor_calls[0]["input_text"] == CJK_REPRO  # read back from S3
    assert_ended_once(stored.id)


def test_cancel_and_patch_of_a_task_with_a_large_input_answer(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    body = {"projectId": project["id"], "instruction": "count", "input": CJK_REPRO}
    task = api.post("/tasks", raw=_utf8(body), who=alice).body
    patched = api.patch(
        f"/tasks/{task['id']}",
        {"title": "renamed"},
        who=alice,
        headers={"If-Match": str(task["version"])},
    )
    assert patched.status == 200, patched.body
    assert patched.body["input"] == CJK_REPRO
    canceled = api.post(f"/tasks/{task['id']}/cancel", who=alice)
    assert (canceled.status, canceled.body["status"]) == (200, "canceled")


def test_205_kib_of_cjk_under_the_body_cap_is_accepted(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    text = "漢" * (205 * 1024 // 3)
    raw = json.dumps(
        {"projectId": project["id"], "instruction": "count", "input": text}, ensure_ascii=False
    ).encode()
    assert 205 * 1024 < len(raw) < 256 * 1024
    reply = api.post("/tasks", raw=raw, who=alice)
    assert reply.status == 202, reply.body
    assert api.get(f"/tasks/{reply.body['id']}", who=alice).body["input"] == text


def test_params_over_their_cap_are_413(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    params = {"expression": "1+" * (input_store.PARAMS_MAX_BYTES // 2)}
    reply = api.post(
        "/tasks", {"projectId": project["id"], "instruction": "x", "params": params}, who=alice
    )
    assert (reply.status, reply.error_code) == (413, "params_too_large")
    assert api.queue_messages() == []
    task = api.task(alice, project["id"])
    patched = api.patch(
        f"/tasks/{task['id']}", {"params": params}, who=alice, headers={"If-Match": "1"}
    )
    assert (patched.status, patched.error_code) == (413, "params_too_large")


def test_an_edited_large_input_replaces_its_object_and_deleting_the_task_removes_it(
    api: ApiClient,
) -> None:
    alice = api.user()
    project = api.project(alice)
    task = api.task(alice, project["id"], input="small")
    prefix = input_store.input_prefix(task["id"])
    first = api.call(
        "PATCH",
        f"/tasks/{task['id']}",
        raw=_utf8({"input": CJK_REPRO}),
        who=alice,
        headers={"If-Match": "1"},
    )
    assert first.status == 200, first.body
    assert _objects(prefix) == [first.body["inputRef"]]
    second = api.patch(
        f"/tasks/{task['id']}",
        {"input": {"rows": ["x" * 1000] * 50}},
        who=alice,
        headers={"If-Match": str(first.body["version"])},
    )
    assert second.status == 200, second.body
    assert second.body["inputRef"] != first.body["inputRef"]
    assert _objects(prefix) == [second.body["inputRef"]]  # the replaced one is gone
    assert api.delete(f"/tasks/{task['id']}", who=alice).status == 204
    assert _objects(prefix) == []


# ------------------------------------------------------------------------ during the run


def _legacy_task(
    api: ApiClient,
    who: Any,
    project_id: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    target_bytes: int,
) -> str:
    """A queued task stored as before this fix (JSON as ``\\u`` escapes), ``target_bytes``
    large: the items already in tables written by earlier versions. moto gets DynamoDB's
    limit, all or nothing."""
    from chalicelib.dal.models import Activity

    dynamodb_item_limit(monkeypatch)
    task = api.task(who, project_id, input="x")
    api.queue_messages()  # its message is delivered by the test
    raw = Task.get(task["id"]).serialize()
    base = size_of({k: v for k, v in raw.items() if k != "input"}) + len("input")
    chars = (target_bytes - base - 2) // 6
    raw["input"] = {"S": json.dumps("中" * chars)}  # ensure_ascii: six bytes a character
    assert abs(size_of(raw) - target_bytes) < 8
    boto3.client("dynamodb", region_name="us-east-1").put_item(
        TableName=Task.Meta.table_name, Item=raw
    )
    assert Activity.count(task["id"]) == 1
    return task["id"]


def test_a_task_whose_claim_dynamodb_refuses_fails_at_once_and_then_answers(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repro: every claim refused (ValidationException) once meant the DLQ and re-sends
    forever, and cancel/PATCH answered 500."""
    install_fakes(monkeypatch)
    alice = api.user()
    project = api.project(alice)
    # Stored, but not once the claim adds the route and the lease.
    task_id = _legacy_task(
        api, alice, project["id"], monkeypatch, target_bytes=ITEM_LIMIT_BYTES - 100
    )
    body = json.dumps({"taskId": task_id, "attempt": 1})
    outcome = dispatch.handle_message(body)
    assert outcome.status == "failed"
    ended = assert_ended_once(task_id)
    assert ended.error["code"] == "item_too_large"
    assert ended.route is None  # dropped: the end must fit
    assert set(api.get(f"/tasks/{task_id}", who=alice).body["input"]) == {"中"}
    assert api.post(f"/tasks/{task_id}/cancel", who=alice).status == 409  # ended: not a 500
    current = api.get(f"/tasks/{task_id}", who=alice).body
    patched = api.patch(
        f"/tasks/{task_id}",
        {"title": "t"},
        who=alice,
        headers={"If-Match": str(current["version"])},
    )
    assert patched.status == 200, patched.body


def test_cancel_of_a_stored_too_large_task_makes_room_instead_of_500(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = api.user()
    project = api.project(alice)
    task_id = _legacy_task(
        api, alice, project["id"], monkeypatch, target_bytes=ITEM_LIMIT_BYTES - 20
    )
    canceled = api.post(f"/tasks/{task_id}/cancel", who=alice)
    assert canceled.status == 200, canceled.body
    assert canceled.body["status"] == "canceled"
    assert canceled.body["inputRef"]
    assert_ended_once(task_id)


def test_a_result_dynamodb_refuses_ends_the_task_in_one_delivery_not_by_lease_expiry(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the module succeeded on every attempt, every completion write failed, and the
    task ended as ``lease_expired``. Now the refused end is written as a short failure."""
    result = {"blob": "y" * 20_000}  # under the 32 KiB inline limit
    fakes: Fakes = install_fakes(
        monkeypatch, executor=fake_executor([ExecEvent("result", 1.0, result=result)])
    )
    alice = api.user()
    project = api.project(alice)
    task_id = _legacy_task(api, alice, project["id"], monkeypatch, target_bytes=390_000)
    outcome = dispatch.handle_message(json.dumps({"taskId": task_id, "attempt": 1}))
    assert outcome.status == "failed"
    assert len(fakes.executor_calls) == 1
    ended = assert_ended_once(task_id)
    assert ended.error["code"] == "item_too_large"


def test_a_result_that_would_push_the_item_over_the_limit_goes_to_s3(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = {"blob": "z" * 20_000}
    install_fakes(monkeypatch, executor=fake_executor([ExecEvent("result", 1.0, result=result)]))
    alice = api.user()
    project = api.project(alice)
    task = api.task(alice, project["id"], input="w " * 10_000)
    stored = size_of(Task.get(task["id"]).serialize())
    # The item measured with the route and this result would not fit a limit this low.
    monkeypatch.setattr(dispatch_run, "ITEM_LIMIT_BYTES", stored + 10_000)
    assert _dispatch_queued(api) == ["completed"]
    done = assert_ended_once(task["id"])
    assert (done.result, done.result_ref) == (None, f"results/{task['id']}/1.json")


def test_every_lifecycle_write_is_measured_first(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that would exceed the limit is refused before DynamoDB sees it: a 413 at the
    API, nothing written."""
    alice = api.user()
    project = api.project(alice)
    task = api.task(alice, project["id"])
    monkeypatch.setattr(item_size, "ITEM_LIMIT_BYTES", 600)
    reply = api.patch(
        f"/tasks/{task['id']}", {"input": "q" * 500}, who=alice, headers={"If-Match": "1"}
    )
    assert (reply.status, reply.error_code) == (413, "item_too_large")
    assert Task.get(task["id"]).version == 1
