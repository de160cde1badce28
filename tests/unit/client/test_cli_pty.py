"""``aion run`` in a pseudo-terminal: the live view (progress bar with status, route and
elapsed time; timeline lines as they arrive) renders, then the result for people.

The CLI runs as its own process (the installed ``aion`` script) against the fake API served
on 127.0.0.1 and a WebSocket server that publishes the task's events one by one.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.sync.server import ServerConnection

from tests.unit.client.fakes import FakeApi, SocketServer, TaskLog, hold_open, send_event
from tests.unit.client.test_watch import TEN_STEPS

pytestmark = pytest.mark.timeout(90)
AION = Path(sys.executable).with_name("aion")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SUMMARY = "AION runs tasks. People review the rest."


def read_all(fd: int, process: subprocess.Popen[bytes], deadline_s: float = 60.0) -> bytes:
    chunks: list[bytes] = []
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's last writer closed it
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=max(1.0, deadline - time.monotonic()))
    return b"".join(chunks)


def test_run_on_a_terminal_shows_the_live_view(tmp_path: Path) -> None:
    api = FakeApi()
    log = TaskLog.of(TEN_STEPS, module="text.summarize", result={"summary": SUMMARY})
    log.routes(api)
    api.on(
        "GET",
        "/projects",
        lambda r, m: {
            "status": 200,
            "body": {
                "items": [{"id": log.task["projectId"], "name": "p", "memberIds": []}],
                "nextCursor": None,
            },
        },
    )
    log.publish(1)

    def serve(connection: ServerConnection, number: int) -> None:
        assert log.first_fill.wait(20)
        for seq in range(2, len(log.events) + 1):
            time.sleep(0.15)  # a task that takes a moment, so the view redraws in between
            send_event(connection, log.publish(seq)[0])
        hold_open(connection, number)

    sockets = SocketServer(serve, log)
    try:
        with api.serve() as url:
            env = {
                **os.environ,
                "AION_URL": url,
                "AION_API_KEY": "aion_test_key",
                "AION_WS_URL": sockets.url,
                "AION_CONFIG_DIR": str(tmp_path / "config"),
                "TERM": "xterm-256color",
                "COLUMNS": "110",
                "LINES": "40",
            }
            for name in ("NO_COLOR", "FORCE_COLOR", "AION_PROJECT", "CI"):
                env.pop(name, None)
            controller, terminal = pty.openpty()
            process = subprocess.Popen(
                [str(AION), "run", "summarize this", "--input", "Some long text."],
                stdin=terminal,
                stdout=terminal,
                stderr=terminal,
                env=env,
                close_fds=True,
            )
            os.close(terminal)
            try:
                raw = read_all(controller, process)
            finally:
                os.close(controller)
                if process.poll() is None:
                    process.kill()
    finally:
        sockets.close()

    screen = raw.decode("utf-8", errors="replace")
    plain = ANSI.sub("", screen)
    assert process.returncode == 0, plain
    assert "\x1b[?25l" in screen  # the live display took the terminal (cursor hidden)
    assert "\x1b[32m" in screen or "\x1b[38;5;" in screen  # in colour
    assert "━" in plain  # the bar
    assert "text.summarize via executor, 93%" in plain  # the route, from the routed event
    assert re.search(r"\d+:\d\d:\d\d", plain)  # elapsed time
    for _kind, _status, message in TEN_STEPS:  # every timeline line, as it arrived
        assert message in plain
    assert plain.index("Task queued") < plain.index("scored sentences") < plain.index(SUMMARY)
    assert "100%" in plain
    assert plain.rstrip().endswith(SUMMARY)
