"""Bad input is a 4xx in the error envelope, and nothing of it is written (issue 16, point 3).

JSON nested past the limit (a ``RecursionError`` inside ``json.loads`` once answered 500),
``NaN``/``Infinity`` (once stored as null), lone surrogates, and a pinned module no catalogue
offers (once accepted, retried as "route unavailable", then sent to review).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.shared.strict_json import MAX_DEPTH
from tests.integration.conftest import ApiClient


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _task_body(project_id: str, **fields: Any) -> dict[str, Any]:
    return {"projectId": project_id, "instruction": "count the words", **fields}


def _refused(reply: Any, code: str) -> None:
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == code
    assert reply.body["error"]["message"]


def _nothing_written(api: ApiClient, who: Any, project_id: str) -> None:
    listed = api.get(f"/tasks?projectId={project_id}", who=who)
    assert listed.status == 200
    assert listed.body["items"] == []
    assert api.queue_messages() == []


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 5_000])
def test_json_nested_too_deep_is_400(api: ApiClient, depth: int) -> None:
    alice = api.user()
    project = api.project(alice)
    prefix = json.dumps(_task_body(project["id"]))[:-1]
    raw = f'{prefix}, "params": {{"x": {_nested(depth)}}}}}'
    _refused(api.post("/tasks", raw=raw, who=alice), "json_too_deep")
    # The whole body too, and on a route whose body is not a task.
    _refused(api.post("/router/explain", raw=_nested(depth), who=alice), "json_too_deep")
    _nothing_written(api, alice, project["id"])


def test_json_at_the_depth_limit_is_accepted(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    # The body is level 1, params level 2: MAX_DEPTH - 2 more levels inside params.
    prefix = json.dumps(_task_body(project["id"]))[:-1]
    raw = f'{prefix}, "params": {{"x": {_nested(MAX_DEPTH - 2)}}}}}'
    assert api.post("/tasks", raw=raw, who=alice).status == 202


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_non_finite_numbers_are_400_not_stored_as_null(api: ApiClient, number: str) -> None:
    alice = api.user()
    project = api.project(alice)
    prefix = json.dumps(_task_body(project["id"]))[:-1]
    for raw in (f'{prefix}, "input": {number}}}', f'{prefix}, "params": {{"n": [{number}]}}}}'):
        _refused(api.post("/tasks", raw=raw, who=alice), "non_finite_number")
    _nothing_written(api, alice, project["id"])
    task = api.task(alice, project["id"])
    patched = api.call(
        "PATCH",
        f"/tasks/{task['id']}",
        raw='{"input": NaN}',
        who=alice,
        headers={"If-Match": str(task["version"])},
    )
    _refused(patched, "non_finite_number")
    assert api.get(f"/tasks/{task['id']}", who=alice).body["input"] is None


def test_lone_surrogate_is_400(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    prefix = json.dumps(_task_body(project["id"]))[:-1]
    _refused(
        api.post("/tasks", raw=prefix + ', "input": "a\\ud800b"}', who=alice), "invalid_unicode"
    )
    _refused(api.post("/tasks", raw=prefix + ', "title": "\\udfff"}', who=alice), "invalid_unicode")
    # A surrogate pair is one character, and fine.
    assert api.post("/tasks", raw=prefix + ', "input": "\\ud83d\\ude00"}', who=alice).status == 202


def test_unknown_pinned_module_is_400_at_create_and_edit(api: ApiClient) -> None:
    alice = api.user()
    project = api.project(alice)
    reply = api.post("/tasks", _task_body(project["id"], module="os.system"), who=alice)
    _refused(reply, "unknown_module")
    assert reply.body["error"]["details"]["field"] == "module"
    assert "text.stats" in reply.body["error"]["details"]["known"]
    _nothing_written(api, alice, project["id"])
    task = api.task(alice, project["id"], module="text.stats")
    patched = api.patch(
        f"/tasks/{task['id']}",
        {"module": "os.system"},
        who=alice,
        headers={"If-Match": str(task["version"])},
    )
    _refused(patched, "unknown_module")
    assert api.get(f"/tasks/{task['id']}", who=alice).body["module"] == "text.stats"


def test_module_offered_only_by_the_executor_is_accepted(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.executor_client import ModuleInfo
    from chalicelib.logic import routing

    offered = routing.ExecutorCatalogue(
        True, (ModuleInfo("image.resize", "resizes", {}, 1024, "1"),), 0.0
    )
    monkeypatch.setattr(routing, "executor_catalogue", lambda now=None: offered)
    alice = api.user()
    project = api.project(alice)
    assert (
        api.post("/tasks", _task_body(project["id"], module="image.resize"), who=alice).status
        == 202
    )
    # The executor down: only the static catalogue is known.
    down = routing.ExecutorCatalogue(False, (), 0.0, "down")
    monkeypatch.setattr(routing, "executor_catalogue", lambda now=None: down)
    reply = api.post("/tasks", _task_body(project["id"], module="image.resize"), who=alice)
    _refused(reply, "unknown_module")
    assert (
        api.post("/tasks", _task_body(project["id"], module="text.stats"), who=alice).status == 202
    )
