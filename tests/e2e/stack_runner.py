"""A dev stack the test starts, stops and starts again over one state directory.

``make dev`` itself (in its own process group, like a terminal runs it) or ``python -m devstack``;
Ctrl-C is a SIGINT to that group, as a terminal sends it. Every process is stopped by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without AION/AWS settings (tests' fake ones included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AION_", "AWS_", "MOTO_"))}
    env = {k: v for k, v in env.items() if not k.startswith(("MAKE", "MFLAGS"))}
    env.update({"PYTHONUNBUFFERED": "1", **(extra or {})})
    return env


class StackRun:
    """One dev stack process tree over ``state_dir``; ``start`` again after ``stop``."""

    def __init__(
        self,
        workdir: Path,
        *,
        via_make: bool = False,
        env: dict[str, str] | None = None,
        cwd: Path = REPO,
        state_dir: Path | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.state_dir = state_dir or workdir / "state"
        self.via_make = via_make
        self.extra_env = dict(env or {})
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.runs = 0
        self.log_path = workdir / "devstack-0.log"

    def start(self) -> dict[str, Any]:
        self.runs += 1
        ready = self.workdir / f"ready-{self.runs}.json"
        self.log_path = self.workdir / f"devstack-{self.runs}.log"
        env = clean_env(
            {
                "AION_PORT": "0",
                "AION_DEV_STATE_DIR": str(self.state_dir),
                "AION_DEV_READY_FILE": str(ready),
                **self.extra_env,
            }
        )
        argv = (
            ["make", "--no-print-directory", "dev"]
            if self.via_make
            else [sys.executable, "-m", "devstack"]
        )
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, as a terminal job
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"the dev stack exited at start:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the dev stack was not up in time:\n{self.log()}")
            time.sleep(0.1)
        self.info = json.loads(ready.read_text())
        return self.info

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no output)"

    def children(self) -> dict[str, int | None]:
        status = requests.get(self.info["status_url"], timeout=10).json()
        return {"moto": status["moto"]["pid"], "executor": status["executor"]["pid"]}

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the job's process group; returns the exit code."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill_tree()
            raise AssertionError(f"the dev stack ignored Ctrl-C:\n{self.log()}") from None

    def kill_tree(self) -> None:
        """SIGKILL the stack and its children at once (by PID)."""
        assert self.proc is not None
        pids = []
        if self.proc.poll() is None and self.info:
            try:
                pids = [pid for pid in self.children().values() if pid]
            except (requests.RequestException, ValueError, KeyError):
                pids = []
        for pid in [self.proc.pid, *pids]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)
        for pid in pids:
            wait_gone(pid)

    def stop(self) -> None:
        """Best-effort teardown for fixtures."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(AssertionError):
                self.interrupt()


def wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


class Api:
    """Just enough of the REST API for these tests."""

    def __init__(self, info: dict[str, Any], password: str | None = None) -> None:
        self.url = info["api_url"]
        self.email = info["admin_email"]
        self.password = password or info["admin_password"]
        self.tokens = self.login()

    def login(self) -> dict[str, Any]:
        reply = requests.post(
            f"{self.url}/auth/login",
            json={"email": self.email, "password": self.password},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['accessToken']}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method, f"{self.url}{path}", headers=self.headers(), timeout=30, **kwargs
        )

    def wait_task(
        self, task_id: str, until: set[str] | None = None, timeout_s: float = 60.0
    ) -> dict[str, Any]:
        until = until or {"completed", "failed", "canceled", "needs_review"}
        deadline = time.monotonic() + timeout_s
        while True:
            task = self.call("GET", f"/tasks/{task_id}").json()
            if task["status"] in until or time.monotonic() > deadline:
                return task
            time.sleep(0.2)
