"""The gRPC executor (``python -m executor_container``) as a supervised child process.

Started on a fixed free port (so ``AION_EXECUTOR_TARGET`` stays valid across restarts),
restarted with exponential back-off when it dies (reset after it stayed up a minute), stopped by
PID with SIGTERM then SIGKILL. Skipped with a log line while the module does not exist yet.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

from devstack import procs

log = logging.getLogger("devstack.executor")

MODULE = "executor_container"
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0


def executor_available(module: str = MODULE) -> bool:
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


class ExecutorSupervisor:
    def __init__(
        self,
        env: Mapping[str, str],
        *,
        port: int,
        module: str = MODULE,
        grace_s: float = 10.0,
        argv: list[str] | None = None,
        quiet: bool = False,
    ) -> None:
        self.port = port
        self.target = f"127.0.0.1:{port}"
        self.module = module
        self.grace_s = grace_s
        self._argv = argv or [sys.executable, "-m", module]
        self._env = dict(env)
        self._env.update({"AION_EXECUTOR_PORT": str(port), "AION_EXECUTOR_HOST": "127.0.0.1"})
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._quiet = quiet

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self.proc.pid if self.proc and self.proc.poll() is None else None

    def start(self) -> None:
        """Spawn it and supervise it from a thread; returns at once (see ``wait_ready``)."""
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="executor", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout_s: float = 20.0) -> bool:
        """True once the port accepts connections within the timeout (logged either way)."""
        ready = procs.wait_for_port(self.port, timeout_s=timeout_s)
        if ready:
            log.info("executor ready at %s (pid %s)", self.target, self.pid)
        else:
            log.warning("executor not listening on %s after %.0f s", self.target, timeout_s)
        return ready

    def _spawn(self) -> None:
        proc = procs.spawn(
            self._argv, env=self._env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert proc.stdout is not None
        procs.pump_lines(proc.stdout, "[executor]", quiet=self._quiet)
        with self._lock:
            self.proc = proc

    def _supervise(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            with self._lock:
                proc = self.proc
            assert proc is not None
            started = time.monotonic()
            while proc.poll() is None and not self._stop.wait(0.2):
                pass
            if self._stop.is_set():
                return
            if time.monotonic() - started > STABLE_AFTER_S:
                backoff = 1.0
            log.warning(
                "executor (pid %d) exited with %s; restarting in %.0f s",
                proc.pid,
                proc.returncode,
                backoff,
            )
            if self._stop.wait(backoff):
                return
            backoff = min(MAX_BACKOFF_S, backoff * 2)
            self.restarts += 1
            self._spawn()

    def halt_restarts(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            proc = self.proc
        if proc is not None:
            procs.stop(proc, grace_s=self.grace_s + 2, name="executor")
