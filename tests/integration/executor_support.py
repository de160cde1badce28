"""Helpers for the executor tests: free ports, in-process and subprocess executors."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from executor_container.server import RunningExecutor

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "executor-test-token-0123456789abcdef"
TEST_MODULES = "tests.integration.executor_test_modules"
FILES_BUCKET = "aion-test-files"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serving(port: int, timeout: float = 1.0) -> bool:
    from executor_container.healthcheck import check

    return check(f"127.0.0.1:{port}", timeout)


def forkserver_knows_test_modules() -> None:
    """Start this process's forkserver (if not yet) with the tests' modules importable.

    Every in-process executor's workers are forked from multiprocessing's one forkserver per
    process, which keeps the environment and the catalogue (``executor_container.warm``) it
    started with. Started by an executor without ``AION_EXECUTOR_EXTRA_MODULES``, no later
    executor's worker would know ``test.sleep``: which test file ran first would decide. The
    executor's own catalogue (ListModules, the server process) still follows the environment.
    """
    import multiprocessing
    from multiprocessing import forkserver

    from chalicelib.shared.caches import reset_process_caches

    previous = os.environ.get("AION_EXECUTOR_EXTRA_MODULES")
    os.environ["AION_EXECUTOR_EXTRA_MODULES"] = TEST_MODULES
    try:
        multiprocessing.get_context("forkserver").set_forkserver_preload(
            ["executor_container.warm"]
        )
        forkserver.ensure_running()
    finally:
        if previous is None:
            os.environ.pop("AION_EXECUTOR_EXTRA_MODULES", None)
        else:
            os.environ["AION_EXECUTOR_EXTRA_MODULES"] = previous
        reset_process_caches()


@contextlib.contextmanager
def in_process_executor(
    *, workers: int, test_modules: bool = True, **config: Any
) -> Iterator[RunningExecutor]:
    """A real executor in this process on 127.0.0.1 (port 0), with the tests' modules in its
    catalogue unless ``test_modules=False``; ``config``: other ExecutorConfig fields."""
    from chalicelib.shared.caches import reset_process_caches
    from executor_container.config import ExecutorConfig
    from executor_container.server import start_executor

    forkserver_knows_test_modules()  # whichever executor test file runs first
    previous = os.environ.get("AION_EXECUTOR_EXTRA_MODULES")
    if test_modules:
        os.environ["AION_EXECUTOR_EXTRA_MODULES"] = TEST_MODULES
        reset_process_caches()  # the catalogue reads AION_EXECUTOR_EXTRA_MODULES
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "bridge_token": TOKEN,
        "files_bucket": FILES_BUCKET,
        "reflection": False,
        "grace_seconds": 5,
        "workers": workers,
        "worker_memory_bytes": 1024 * 1024 * 1024,
        "worker_max_calls": 5000,
        "max_output_bytes": 1024 * 1024,
        "max_message_bytes": 64 * 1024 * 1024,
    }
    running = start_executor(ExecutorConfig(**(settings | config)))
    try:
        yield running
    finally:
        running.drain(1)
        if test_modules:
            if previous is None:
                os.environ.pop("AION_EXECUTOR_EXTRA_MODULES", None)
            else:
                os.environ["AION_EXECUTOR_EXTRA_MODULES"] = previous
            reset_process_caches()


def spawn_executor(**env: str) -> tuple[subprocess.Popen[str], int]:
    """``python -m executor_container`` as a child process; returns once it is SERVING."""
    port = free_port()
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AION_EXECUTOR_HOST": "127.0.0.1",
        "AION_EXECUTOR_PORT": str(port),
        "AION_BRIDGE_TOKEN": TOKEN,
        "AION_EXECUTOR_WORKERS": "1",
        "AION_EXECUTOR_EXTRA_MODULES": TEST_MODULES,
        "AION_FILES_BUCKET": FILES_BUCKET,
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "executor_container"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"executor exited early: {proc.stdout.read() if proc.stdout else ''}"
            )
        if serving(port, 0.5):
            return proc, port
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("executor did not become SERVING within 60 s")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
