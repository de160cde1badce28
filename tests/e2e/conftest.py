"""The ``devstack`` fixture: the whole system (``python -m devstack``) on a free port.

Started once per test session (per xdist worker) as a child process; yields a dict:
  base_url (console, ends with "/"), api_url, ws_url, admin_email, admin_password,
  plus ws_management_url, status_url (JSON: executor pid/restarts, counters), moto_url,
  queue_url, dlq_url, executor_target, pid, port, state_dir (a temporary .aion-dev) and
  log_path (the stack's output).
Schedules run every ``AION_DEV_SCHEDULE_SECONDS`` (default 5 s here, not 60) so sweeper tests
stay short. Stopped with SIGTERM (by PID) at the end, SIGKILL if it does not stop in time; the
teardown then checks it exited cleanly and left no moto/executor process behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 45.0


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def _alive(pid: int, wait_s: float = 5.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.1)
    return True


def _child_pids(status_url: str) -> list[int]:
    try:
        status = requests.get(status_url, timeout=10).json()
    except (requests.RequestException, ValueError):
        return []
    return [pid for pid in (status["moto"]["pid"], status["executor"]["pid"]) if pid]


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("devstack")
    ready_file = workdir / "ready.json"
    log_path = workdir / "devstack.log"
    env = dict(os.environ)
    env.update(
        {
            "AION_PORT": "0",
            "AION_DEV_READY_FILE": str(ready_file),
            # Its own state, never the checkout's .aion-dev (a developer's dev stack).
            "AION_DEV_STATE_DIR": str(workdir / "state"),
            "AION_DEV_LOG": "quiet",  # the default; the smoke test checks the log stays quiet
            "AION_ADMIN_EMAIL": "admin@aion.local",
            "AION_ADMIN_PASSWORD": "Admin-e2e-" + os.urandom(8).hex(),
            "AION_DEV_SCHEDULE_SECONDS": env.get("AION_DEV_SCHEDULE_SECONDS", "5"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    info: dict[str, Any] | None = None
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready_file.exists():
            if proc.poll() is not None:
                pytest.fail(f"the dev stack exited with {proc.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the dev stack was not up in {START_TIMEOUT_S:.0f} s:\n{_tail(log_path)}"
                )
            time.sleep(0.1)
        info = json.loads(ready_file.read_text())
        info["log_path"] = str(log_path)
        yield info
    finally:
        children = _child_pids(info["status_url"]) if info and proc.poll() is None else []
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                pytest.fail(f"the dev stack ignored SIGTERM:\n{_tail(log_path)}")
    # Checked after the tests: a clean SIGTERM stop leaves none of the stack's children behind.
    assert proc.returncode == 0, f"the dev stack exited with {proc.returncode}:\n{_tail(log_path)}"
    survivors = [pid for pid in children if _alive(pid)]
    assert not survivors, f"children still running after the dev stack stopped: {survivors}"
