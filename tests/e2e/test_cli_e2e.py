"""The ``aion`` command against the dev stack: a password login kept in a private config
directory, projects, ``aion run`` in JSON mode and in a pseudo-terminal (live over the real
WebSocket), exit statuses, and Ctrl-C (leave, resume, or cancel).
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.client.test_cli_pty import ANSI, Terminal

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# As in test_dispatch_e2e: the stack's executor also loads the instrumented test modules
# (``test.sleep`` runs for as long as it is told, with progress).
os.environ.setdefault("AION_EXECUTOR_EXTRA_MODULES", "tests.integration.executor_test_modules")

AION = str(Path(sys.executable).with_name("aion"))


@pytest.fixture(scope="module")
def cli_env(devstack: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AION_")}
    env.update(
        AION_CONFIG_DIR=str(tmp_path_factory.mktemp("aion-config")),
        AION_URL=devstack["api_url"],
        NO_COLOR="1",
    )
    login = aion(
        env,
        "login",
        "--email",
        devstack["admin_email"],
        "--password",
        devstack["admin_password"],
        "--json",
    )
    assert login.returncode == 0, login.stderr
    assert devstack["admin_password"] not in login.stdout + login.stderr
    created = aion(env, "projects", "create", "cli-e2e", "--json")
    assert created.returncode == 0, created.stderr
    env["AION_PROJECT"] = json.loads(created.stdout)["id"]
    return env


def aion(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AION, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_login_is_private_and_the_json_run_completes(cli_env: dict[str, str]) -> None:
    credentials = Path(cli_env["AION_CONFIG_DIR"]) / "credentials.json"
    assert credentials.stat().st_mode & 0o777 == 0o600
    result = aion(cli_env, "run", "count the words", "--input", "a b c", "--json")
    assert result.returncode == 0, result.stderr
    task = json.loads(result.stdout)
    assert task["status"] == "completed"
    assert task["result"]["words"] == 3
    # The same task, followed again after the fact, ends at once with the same status.
    again = aion(cli_env, "tasks", "watch", task["id"], "--json")
    assert again.returncode == 0
    assert json.loads(again.stdout)["id"] == task["id"]


def test_needs_review_exits_3_and_says_what_to_do(cli_env: dict[str, str]) -> None:
    result = aion(cli_env, "run", "summarize this")
    assert result.returncode == 3, result.stderr
    assert "needs review" in result.stderr
    assert "aion review" in result.stderr
    waiting = aion(cli_env, "tasks", "list", "--status", "needs_review", "--json")
    assert json.loads(waiting.stdout)


def run_in_terminal(
    env: dict[str, str], args: list[str], interrupt_after: str | None = None
) -> tuple[int, str]:
    """Run ``aion`` on a pseudo-terminal; with ``interrupt_after``, press Ctrl-C (SIGINT) once
    that text is on the screen. The exit status and the screen without colour codes."""
    env = {**env, "TERM": "xterm-256color", "COLUMNS": "110"}
    env.pop("NO_COLOR", None)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [AION, *args], stdin=terminal, stdout=terminal, stderr=terminal, env=env, close_fds=True
    )
    os.close(terminal)
    screen = Terminal(controller)
    try:
        if interrupt_after is not None:
            screen.wait_for(interrupt_after, timeout_s=60)
            process.send_signal(signal.SIGINT)
        screen.wait_closed(timeout_s=60)
        process.wait(timeout=30)
        raw = screen.raw()
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return process.returncode, ANSI.sub("", raw.decode("utf-8", errors="replace"))


def test_run_on_a_terminal_shows_progress_live(cli_env: dict[str, str]) -> None:
    code, screen = run_in_terminal(
        cli_env,
        [
            "run",
            "wait a little",
            "--module",
            "test.sleep",
            "--param",
            "seconds=1.5",
            "--param",
            "steps=3",
        ],
    )
    assert code == 0, screen
    assert "test.sleep via executor, 100%" in screen  # pinned: full confidence
    for step in ("step 1", "step 2", "step 3"):
        assert step in screen
    assert "━" in screen
    assert re.search(r"slept\s+1\.5", screen)


def test_ctrl_c_leaves_the_task_running_and_it_can_be_resumed(cli_env: dict[str, str]) -> None:
    code, screen = run_in_terminal(
        cli_env,
        ["run", "wait", "--module", "test.sleep", "--param", "seconds=6", "--param", "steps=6"],
        interrupt_after="step 1",
    )
    assert code == 130, screen
    match = re.search(r"Resume with: aion tasks watch (tsk_\w+)", screen)
    assert match, screen
    resumed = aion(cli_env, "tasks", "watch", match.group(1), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["result"] == {"slept": 6.0}


def test_ctrl_c_with_cancel_cancels_the_task(cli_env: dict[str, str]) -> None:
    code, screen = run_in_terminal(
        cli_env,
        [
            "run",
            "wait",
            "--module",
            "test.sleep",
            "--cancel",
            "--param",
            "seconds=20",
            "--param",
            "steps=40",
        ],
        interrupt_after="step 1",
    )
    assert code == 4, screen
    assert "was canceled" in screen


def test_review_list_and_answer_work_against_the_server(cli_env: dict[str, str]) -> None:
    project = cli_env["AION_PROJECT"]
    waiting = aion(cli_env, "run", "Write a haiku about the command line", "--json")
    assert waiting.returncode == 3, waiting.stderr
    task = json.loads(waiting.stdout)
    assert task["status"] == "needs_review"

    listed = aion(cli_env, "review", "list", "--project", project, "--json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert task["id"] in [t["id"] for t in items]
    assert next(t for t in items if t["id"] == task["id"])["route"]["reasonCode"] == (
        "route_unavailable"
    )
    table = aion(cli_env, "review", "list", "--project", project)
    assert table.returncode == 0, table.stderr
    assert task["id"] in table.stdout
    assert "route_unavailable" in table.stdout

    answered = aion(cli_env, "review", "answer", task["id"], "Blinking cursor waits")
    assert answered.returncode == 0, answered.stderr
    assert f"Task {task['id']} is now completed." in answered.stdout
    shown = json.loads(aion(cli_env, "tasks", "show", task["id"], "--json").stdout)
    assert (shown["status"], shown["result"]) == ("completed", "Blinking cursor waits")
    after = json.loads(aion(cli_env, "review", "list", "--project", project, "--json").stdout)
    assert task["id"] not in [t["id"] for t in after]
    # The queue is only for waiting tasks: acting again is refused with the server's reason.
    again = aion(cli_env, "review", "reject", task["id"], "too late")
    assert again.returncode != 0
    assert "waiting for review" in again.stderr
