"""The ``devstack`` fixture: the whole system (``python -m devstack``) on a free port.

Started once per test session (per xdist worker) as a child process; yields a dict:
  base_url (console, ends with "/"), api_url, ws_url, admin_email, admin_password,
  plus ws_management_url, status_url (JSON: executor pid/restarts, counters), moto_url,
  queue_url, dlq_url, executor_target, pid, port and log_path (the stack's output).
Schedules run every ``AION_DEV_SCHEDULE_SECONDS`` (default 5 s here, not 60) so sweeper tests
stay short. Stopped with SIGTERM (by PID) at the end, SIGKILL if it does not stop in time.
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

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 45.0


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


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
        time.sleep(0.05)  # the file is written in one call; let it land
        info = json.loads(ready_file.read_text())
        info["log_path"] = str(log_path)
        yield info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
