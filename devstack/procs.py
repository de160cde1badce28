"""Child processes and ports: start tied to our lifetime, stop by PID, wait for a port."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO

log = logging.getLogger("devstack.procs")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing listens on ``port`` and we could bind it now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(
    port: int, *, timeout_s: float, proc: subprocess.Popen | None = None, host: str = "127.0.0.1"
) -> bool:
    """True once ``host:port`` accepts connections; False on timeout or if ``proc`` exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if port_open(port, host):
            return True
        time.sleep(0.05)
    return False


def spawn(
    argv: list[str],
    *,
    env: Mapping[str, str],
    stdout: int | IO | None = None,
    stderr: int | IO | None = None,
    cwd: str | None = None,
) -> subprocess.Popen:
    """Start ``argv`` so that it receives SIGTERM if this process dies (see ``_child``).

    In its own session: a terminal's Ctrl-C reaches only the dev stack, which then stops its
    children in order (drivers first, moto last) instead of everything dying at once.
    """
    launcher = [sys.executable, "-m", "devstack._child", str(os.getpid())]
    return subprocess.Popen(
        launcher + argv,
        env=dict(env),
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen, *, grace_s: float, name: str, quiet: bool = False) -> int | None:
    """SIGTERM this child (by its PID), SIGKILL it after ``grace_s``; returns its exit code."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        (log.debug if quiet else log.warning)(
            "%s (pid %d) still running %.0f s after SIGTERM: killing it", name, proc.pid, grace_s
        )
        proc.kill()
        return proc.wait(timeout=5)


def pump_lines(
    stream: IO[bytes], prefix: str, sink: IO[str] | None = None, *, quiet: bool = False
) -> threading.Thread:
    """Copy a child's output to ours, each line prefixed with the child's name; ``quiet``
    keeps only its warnings and errors (``devstack.logs.child_line_visible``)."""
    from devstack.logs import child_line_visible

    def run() -> None:
        out = sink or sys.stdout
        state: dict[str, bool] = {}
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()
            if child_line_visible(line, quiet, state):
                out.write(f"{prefix} {line}\n")
                out.flush()
        stream.close()

    thread = threading.Thread(target=run, name=f"pump{prefix}", daemon=True)
    thread.start()
    return thread
