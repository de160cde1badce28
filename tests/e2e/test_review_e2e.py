"""The person route through the dev stack: real HTTP, a real WebSocket subscribed the way the
console is (scope "all"), the SQS driver and the executor. No LLM is configured, so an
open-ended request waits for a person; a person's answer completes it, and everything that
happened arrives live, in order, with strictly increasing seqs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from tests.e2e.test_dispatch_e2e import Api, _activity, _login, _plain, _send, _ws

pytestmark = pytest.mark.e2e

REPORT = (
    "Revenue grew by twelve percent in the third quarter. Costs stayed flat across every "
    "region. The board approved the new plan on Monday. Hiring resumes in January."
)


@pytest.fixture(scope="module")
def person(devstack: dict[str, Any]) -> Api:
    import secrets

    admin = _login(devstack, devstack["admin_email"], devstack["admin_password"])
    email = f"reviewer-{secrets.token_hex(4)}@aion.local"
    password = "Reviewer-" + secrets.token_hex(8)
    admin.ok("POST", "/users", {"email": email, "name": "Reviewer", "password": password})
    return _login(devstack, email, password)


def _until(
    ws: ClientConnection, task_id: str, status: str, timeout_s: float = 60
) -> Iterator[dict]:
    """The task's events as they arrive, up to its status event into ``status``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message.get("type") != "telemetry" or message.get("taskId") != task_id:
            continue
        yield message
        if message["kind"] == "status" and message["status"] == status:
            return
    raise AssertionError(f"task {task_id} did not reach {status} in {timeout_s} s")


def test_a_haiku_waits_for_a_person_whose_answer_completes_it_live(
    devstack: dict[str, Any], person: Api
) -> None:
    me = person.ok("GET", "/me")
    my_id = (me.get("user") or me)["id"]
    project = person.ok("POST", "/projects", {"name": "Poetry desk"})
    with _ws(devstack, person) as ws:
        subscribed = _send(ws, action="subscribe", scope="all")
        assert subscribed["type"] == "subscribed"
        task = person.ok(
            "POST",
            "/tasks",
            {"projectId": project["id"], "instruction": "Write a haiku about autumn rain"},
        )
        waiting = list(_until(ws, task["id"], "needs_review"))
        assert waiting[-2]["kind"] == "routed"
        assert waiting[-2]["data"]["module"] == "llm.generate"
        assert waiting[-2]["data"]["reasonCode"] == "route_unavailable"

        queue = person.ok("GET", f"/reviews?projectId={project['id']}")["items"]
        assert [t["id"] for t in queue] == [task["id"]]
        assert queue[0]["route"]["reasonCode"] == "route_unavailable"

        haiku = "Autumn rain at dusk\nthe gutters hum one long note\nlamps come on, then me"
        done = person.ok(
            "POST", f"/tasks/{task['id']}/review", {"action": "answer", "result": haiku}
        )
        assert done["status"] == "completed"
        finished = list(_until(ws, task["id"], "completed"))

    events = waiting + finished
    kinds = [(e["kind"], e["status"]) for e in events]
    assert kinds == [
        ("status", "queued"),
        ("routed", "needs_review"),
        ("status", "needs_review"),
        ("reviewed", "completed"),
        ("status", "completed"),
    ]
    seqs = [e["seq"] for e in events]
    assert seqs[0] == 1
    assert all(a < b for a, b in pairwise(seqs)), seqs
    reviewed, end = events[-2:]
    assert (reviewed["actor"], end["actor"]) == (my_id, my_id)
    assert reviewed["data"]["action"] == "answer"
    assert end["data"]["result"] == haiku
    assert _activity(person, task["id"]) == [_plain(e) for e in events]
    final = person.ok("GET", f"/tasks/{task['id']}")
    assert (final["result"], final["route"]["decidedBy"]) == (haiku, "person")
    assert person.ok("GET", f"/reviews?projectId={project['id']}")["items"] == []
    # Acting again is a conflict: it no longer waits.
    again = person.call("POST", f"/tasks/{task['id']}/review", {"action": "reject", "reason": "x"})
    assert again.status_code == 409


def test_a_person_picks_the_module_and_the_executor_runs_it(
    devstack: dict[str, Any], person: Api
) -> None:
    project = person.ok("POST", "/projects", {"name": "Reports"})
    with _ws(devstack, person) as ws:
        _send(ws, action="subscribe", projectId=project["id"])
        task = person.ok(
            "POST",
            "/tasks",
            {"projectId": project["id"], "instruction": "Give me the gist of this report."},
        )
        waiting = list(_until(ws, task["id"], "needs_review"))
        assert waiting[-2]["data"]["reasonCode"] == "input_missing"
        # Without the text it would only wait again: refused, nothing written.
        refused = person.call(
            "POST", f"/tasks/{task['id']}/review", {"action": "run", "module": "text.summarize"}
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "input_missing")
        queued = person.ok(
            "POST",
            f"/tasks/{task['id']}/review",
            {
                "action": "run",
                "module": "text.summarize",
                "params": {"sentences": 1},
                "input": REPORT,
            },
        )
        assert (queued["status"], queued["attempts"]) == ("queued", 2)
        ran = list(_until(ws, task["id"], "completed"))
    kinds = [(e["kind"], e["status"]) for e in ran]
    assert kinds[:2] == [("reviewed", "queued"), ("status", "queued")]
    assert ("routed", "running") in kinds
    routed = next(e for e in ran if e["kind"] == "routed")
    assert (routed["data"]["module"], routed["data"]["decidedBy"]) == ("text.summarize", "pinned")
    seqs = [e["seq"] for e in waiting + ran]
    assert all(a < b for a, b in pairwise(seqs)), seqs
    result = person.ok("GET", f"/tasks/{task['id']}")["result"]
    assert len(result["sentences"]) == 1  # the person's params reached the module
    assert result["summary"] in REPORT
