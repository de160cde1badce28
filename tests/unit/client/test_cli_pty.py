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
import threading
from pathlib import Path

import pytest
from websockets.sync.server import ServerConnection

from tests.unit.client.fakes import FakeApi, SocketServer, TaskLog, hold_open, send_event
from tests.unit.client.test_watch import TEN_STEPS

pytestmark = pytest.mark.timeout(90)
AION = Path(sys.executable).with_name("aion")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SUMMARY = "AION runs tasks. People review the rest."


class Terminal:
    """The controller side of a pseudo-terminal, read by a thread into one growing screen."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._chunks: list[bytes] = []
        self._changed = threading.Condition()
        self.closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the terminal's last writer closed it
                chunk = b""
            with self._changed:
                if not chunk:
                    self.closed = True
                else:
                    self._chunks.append(chunk)
                self._changed.notify_all()
            if not chunk:
                return

    def raw(self) -> bytes:
        with self._changed:
            return b"".join(self._chunks)

    def plain(self) -> str:
        return ANSI.sub("", self.raw().decode("utf-8", errors="replace"))

    def wait_for(self, text: str, timeout_s: float = 30.0) -> None:
        """Until ``text`` is on the screen (the CLI has drawn it), or fail."""
        with self._changed:  # an RLock: plain() may take it again
            self._changed.wait_for(lambda: text in self.plain() or self.closed, timeout=timeout_s)
        assert text in self.plain(), f"{text!r} never shown:\n{self.plain()}"

    def wait_closed(self, timeout_s: float = 60.0) -> None:
        self._thread.join(timeout_s)
        assert self.closed, "the terminal is still open"


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

    terminal: list[Terminal] = []

    def serve(connection: ServerConnection, number: int) -> None:
        assert log.first_fill.wait(20)
        for seq in range(2, len(log.events) + 1):
            # Each event once the view has drawn the one before: it redraws in between.
            terminal[0].wait_for(log.events[seq - 2]["message"])
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
            controller, follower = pty.openpty()
            terminal.append(Terminal(controller))
            process = subprocess.Popen(
                [str(AION), "run", "summarize this", "--input", "Some long text."],
                stdin=follower,
                stdout=follower,
                stderr=follower,
                env=env,
                close_fds=True,
            )
            os.close(follower)
            try:
                terminal[0].wait_closed()
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                os.close(controller)
    finally:
        sockets.close()

    screen = terminal[0].raw().decode("utf-8", errors="replace")
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
