"""The dev stack's moto child SIGKILLed while tasks run and wait (issue 16, point 9).

A whole dev stack (``python -m devstack`` on 127.0.0.1, port 0, its own state directory) with
the tests' executor modules and short dispatch timings; tasks are created over HTTP, moto is
killed by PID while some run and others wait in the queue, and the stack restarts it with its
kept state. Every task must end (terminal or review) before a deadline, and its activity log
(over HTTP) must hold exactly one end event, the last, with seqs strictly increasing.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.chaos.support import wait_for
from tests.e2e.stack_runner import Api, StackRun, wait_gone

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

END = {"completed", "failed", "canceled", "needs_review"}
TASKS = 4
ENV = {
    "AION_EXECUTOR_EXTRA_MODULES": "tests.integration.executor_test_modules",
    "AION_EXECUTOR_SHORT_RESERVED": "0",  # both workers take the long test.sleep calls
    "AION_DEV_SCHEDULE_SECONDS": "1",
    # Short enough that a run or a message lost with moto is taken back or re-sent in seconds.
    "AION_LEASE_SECONDS": "3",
    "AION_HEARTBEAT_SECONDS": "0.5",
    "AION_RETRY_BASE_SECONDS": "1",
    "AION_RETRY_CAP_SECONDS": "2",
    "AION_QUEUED_REDRIVE_SECONDS": "4",
}


def _moto(info: dict[str, Any]) -> dict[str, Any]:
    return requests.get(info["status_url"], timeout=10).json()["moto"]


def _tasks(api: Api, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for task_id in ids:
        reply = api.call("GET", f"/tasks/{task_id}")
        if reply.status_code != 200:
            return []  # moto is coming back: try again
        out.append(reply.json())
    return out


def _activity(api: Api, task_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    for _ in range(20):  # pages, bounded
        reply = api.call("GET", f"/tasks/{task_id}/activity", params={"after": after})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        items = body["items"] if isinstance(body, dict) else body
        if not items:
            return events
        events += items
        after = items[-1]["seq"]
    return events


def test_moto_sigkilled_under_running_and_queued_tasks_every_task_ends_once(
    tmp_path: Path,
) -> None:
    stack = StackRun(tmp_path, env=ENV)
    try:
        info = stack.start()
        api = Api(info)
        project = api.call("POST", "/projects", json={"name": "Chaos"}).json()
        ids = []
        for n in range(TASKS):
            reply = api.call(
                "POST",
                "/tasks",
                json={
                    "projectId": project["id"],
                    "instruction": f"sleep {n}",
                    "module": "test.sleep",
                    "params": {"seconds": 1.5, "steps": 3},
                },
            )
            assert reply.status_code == 202, reply.text
            ids.append(reply.json()["id"])
        # Some run (the executor has 2 workers), the rest wait in the queue.
        wait_for(
            lambda: any(t["status"] == "running" for t in _tasks(api, ids)),
            timeout_s=60,
            what="a running task",
        )
        old = _moto(info)["pid"]
        os.kill(old, signal.SIGKILL)
        assert wait_gone(old)
        wait_for(lambda: (_moto(info)["pid"] or old) != old, timeout_s=60, what="moto's restart")
        ended = wait_for(
            lambda: (lambda ts: ts if ts and all(t["status"] in END for t in ts) else None)(
                _tasks(api, ids)
            ),
            timeout_s=120,
            what="every task's end",
        )
        assert len(ended) == TASKS
        for task in ended:
            events = _activity(api, task["id"])
            story = [(e["seq"], e["kind"], e["status"], e["message"]) for e in events]
            seqs = [e["seq"] for e in events]
            assert seqs == sorted(set(seqs)), story
            ends = [e for e in events if e["kind"] == "status" and e["status"] in END]
            assert len(ends) == 1, story
            assert ends[0]["seq"] == seqs[-1], story
            assert ends[0]["status"] == task["status"], story
        # A restart loses nothing acknowledged: the runs finish (none needed a person).
        assert {t["status"] for t in ended} == {"completed"}, [
            (t["id"], t["status"], t.get("error")) for t in ended
        ]
        assert _moto(info)["restarts"] == 1
    finally:
        stack.stop()
