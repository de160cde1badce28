"""The dev stack keeps what it acknowledged across a Ctrl-C and even a SIGKILL of its whole tree.

The first test is the issue's, step by step: fresh state, ``make dev``, a project and a task
that runs, Ctrl-C, ``make dev`` again, sign in with the same password, the same project and
task. Each test has its own state directory (never the checkout's ``.aion-dev``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.stack_runner import Api, StackRun, wait_gone

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _run_a_task(api: Api, project_id: str) -> dict:
    created = api.call(
        "POST",
        "/tasks",
        json={"projectId": project_id, "instruction": "count the words", "input": "a b c"},
    )
    assert created.status_code == 202, created.text
    task = api.wait_task(created.json()["id"])
    assert task["status"] == "completed", task
    return task


def test_make_dev_ctrl_c_make_dev_same_password_same_project_and_task(tmp_path: Path) -> None:
    stack = StackRun(tmp_path, via_make=True)
    try:
        first = stack.start()
        assert first["state_fresh"] is True
        assert f"admin@aion.local / {first['admin_password']}" in stack.log()  # printed once
        api = Api(first)
        project = api.call("POST", "/projects", json={"name": "Kept"}).json()
        task = _run_a_task(api, project["id"])
        refresh_token = api.tokens["refreshToken"]
        access_token = api.tokens["accessToken"]

        stack.interrupt()  # Ctrl-C
        assert wait_gone(first["pid"]), "the dev stack did not exit after Ctrl-C"
        assert "State kept in" in stack.log()

        second = stack.start()
        assert second["state_fresh"] is False
        log = stack.log()
        assert "password unchanged" in log
        assert first["admin_password"] not in log  # not printed again
        again = Api(second, password=first["admin_password"])  # same password signs in
        projects = again.call("GET", "/projects").json()["items"]
        assert [(p["id"], p["name"]) for p in projects] == [(project["id"], "Kept")]
        kept = again.call("GET", f"/tasks/{task['id']}").json()
        assert kept["status"] == "completed"
        assert kept["result"] == task["result"]
        assert kept["projectId"] == project["id"]
        # A signed-in console survives the restart: same signing key, same refresh tokens.
        me = requests.get(
            f"{second['api_url']}/me",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=30,
        )
        assert me.status_code == 200, me.text
        refreshed = requests.post(
            f"{second['api_url']}/auth/refresh", json={"refreshToken": refresh_token}, timeout=30
        )
        assert refreshed.status_code == 200, refreshed.text
        # And the restored stack still works: a new task runs.
        _run_a_task(again, project["id"])
    finally:
        stack.stop()


def test_a_sigkill_of_the_whole_tree_loses_nothing_acknowledged(tmp_path: Path) -> None:
    stack = StackRun(tmp_path)
    try:
        first = stack.start()
        api = Api(first)
        project = api.call("POST", "/projects", json={"name": "Before the kill"}).json()
        task = _run_a_task(api, project["id"])
        # Acknowledged just before the kill: each answer came back, so each must survive.
        late = [
            api.call("POST", "/projects", json={"name": f"late-{n}"}).json()["id"] for n in range(5)
        ]
        queued = api.call(
            "POST",
            "/tasks",
            json={"projectId": project["id"], "instruction": "count the words", "input": "x y"},
        )
        assert queued.status_code == 202

        stack.kill_tree()

        second = stack.start()
        again = Api(second, password=first["admin_password"])
        names = {p["id"] for p in again.call("GET", "/projects").json()["items"]}
        assert {project["id"], *late} <= names
        assert again.call("GET", f"/tasks/{task['id']}").json()["status"] == "completed"
        # The task accepted just before the kill still runs to its end after the restart
        # (its queued message was kept, or the sweeper re-sends it).
        assert again.call("GET", f"/tasks/{queued.json()['id']}").status_code == 200
    finally:
        stack.stop()


def test_two_stacks_cannot_share_a_state_directory(tmp_path: Path) -> None:
    stack = StackRun(tmp_path)
    try:
        info = stack.start()
        other = StackRun(tmp_path / "other", state_dir=stack.state_dir)
        with pytest.raises(AssertionError, match="in use by a running dev stack"):
            other.start()
        assert other.proc is not None
        assert other.proc.returncode == 2
        assert f"pid {info['pid']}" in other.log()
        # The first one is unharmed.
        assert requests.get(f"{info['api_url']}/health", timeout=30).status_code == 200
    finally:
        stack.stop()
