"""When the dev stack's moto child dies, the stack restarts it with its kept state, the drivers
back off instead of flooding the log, and a child that keeps dying stops the stack loudly."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.e2e.stack_runner import Api, StackRun, wait_gone

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _moto_status(info: dict) -> dict:
    return requests.get(info["status_url"], timeout=10).json()["moto"]


def _poll_errors(info: dict) -> int:
    return int(requests.get(info["status_url"], timeout=10).json()["sqs"].get("poll_errors", 0))


def _wait_for(condition: Callable[[], bool], failure: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure)
        time.sleep(0.1)


def _wait_for_new_moto(info: dict, old: dict, timeout_s: float = 60.0) -> dict:
    """The restarted moto once it is serving (``restarts`` counts it only then: its pid is
    known as soon as it is spawned)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        moto = _moto_status(info)
        if moto["pid"] and moto["pid"] != old["pid"] and moto["restarts"] > old["restarts"]:
            return moto
        time.sleep(0.1)
    raise AssertionError("the moto server was not restarted")


def test_a_killed_moto_is_restarted_with_its_state_and_the_log_stays_short(
    tmp_path: Path,
) -> None:
    stack = StackRun(tmp_path)
    try:
        info = stack.start()
        api = Api(info)
        project = api.call("POST", "/projects", json={"name": "Survivor"}).json()
        lines_before = len(stack.log().splitlines())
        old = _moto_status(info)
        errors_before = _poll_errors(info)

        os.kill(old["pid"], signal.SIGKILL)
        assert wait_gone(old["pid"])
        # The pollers hit the dead endpoint meanwhile (the log must still not flood).
        _wait_for(lambda: _poll_errors(info) > errors_before, "no SQS poll failed")
        moto = _wait_for_new_moto(info, old)
        assert moto["restarts"] == 1
        assert moto["url"] == info["moto_url"]  # same endpoint: exported lines stay valid

        api = Api(info)
        projects = api.call("GET", "/projects").json()["items"]
        assert [p["id"] for p in projects] == [project["id"]]
        created = api.call(
            "POST",
            "/tasks",
            json={"projectId": project["id"], "instruction": "count the words", "input": "a b"},
        )
        assert created.status_code == 202, created.text
        assert api.wait_task(created.json()["id"])["status"] == "completed"

        new_lines = stack.log().splitlines()[lines_before:]
        assert len(new_lines) < 20, "\n".join(new_lines)
        assert not any("Traceback" in line for line in new_lines), "\n".join(new_lines)
        assert any("restarting it" in line for line in new_lines)
    finally:
        stack.stop()


def test_a_moto_that_keeps_dying_stops_the_stack_with_a_clear_message(tmp_path: Path) -> None:
    stack = StackRun(tmp_path)
    try:
        info = stack.start()
        moto = _moto_status(info)
        for _ in range(4):
            os.kill(moto["pid"], signal.SIGKILL)
            if stack.proc.poll() is not None:
                break
            try:
                moto = _wait_for_new_moto(info, moto)
            except (AssertionError, requests.RequestException):
                break
        assert stack.proc.wait(60) == 1
        assert "The dev stack stopped: the moto server" in stack.log()
        assert wait_gone(info["pid"])
    finally:
        stack.stop()
