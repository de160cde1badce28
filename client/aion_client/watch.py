"""Follow one task's telemetry over the WebSocket, resuming by ``seq`` across dropped sockets.

The socket is opened with a single-use ticket (``POST /auth/ws-ticket``) and ``taskId``, which
subscribes at connect. Whatever happened before the socket was up (or while it was down) is
read from the activity log (``GET /tasks/{id}/activity?after=<last seq>``), so each event is
yielded exactly once, in ``seq`` order: events at or below the last ``seq`` yielded are
dropped, and a jump in ``seq`` is filled from the log before the event that revealed it.

The socket is the fast path, the log the truth: after a quiet spell the log is read again (a
publish to a socket is best effort), and when the socket cannot be opened at all the log is
polled with backoff until it can. The watch ends with the status event that takes the task to
``completed``, ``failed``, ``canceled`` or ``needs_review``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aion_client._http import backoff_delay
from aion_client._version import __version__
from aion_client.errors import AuthenticationError, PermissionDenied
from aion_client.models import TelemetryEvent

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from aion_client.client import Client

RECV_TICK_S = 0.5  # how often a blocked receive looks up (Ctrl-C, quiet-spell bookkeeping)
IDLE_POLL_S = 15.0  # read the log after this long without a message
PING_EVERY_S = 60.0  # keep the socket busy (API Gateway closes idle ones after 10 min)
OPEN_TIMEOUT_S = 10.0
GAP_RETRIES = 3  # the log may lag the socket by a moment (eventually consistent reads)
MAX_POLL_WAIT_S = 5.0


class TaskWatch:
    def __init__(
        self,
        client: Client,
        task_id: str,
        *,
        after: int = 0,
        idle_poll_s: float = IDLE_POLL_S,
    ) -> None:
        self.client = client
        self.task_id = task_id
        self.last_seq = after
        self.idle_poll_s = idle_poll_s
        self.done = False
        self.reconnects = 0
        self._sleep = client.http.sleep

    def __iter__(self) -> Iterator[TelemetryEvent]:
        failures = 0
        first = True
        while not self.done:
            with contextlib.ExitStack() as stack:
                socket = None
                try:
                    socket = stack.enter_context(self._open())
                    failures = 0
                except (AuthenticationError, PermissionDenied):
                    raise
                except Exception:  # the socket is optional: the log carries on without it
                    failures += 1
                yield from self._fill()
                if first and not self.done:
                    yield from self._end_if_already_finished()
                first = False
                if self.done:
                    return
                if socket is None:
                    self._sleep(min(MAX_POLL_WAIT_S, backoff_delay(failures)))
                    continue
                yield from self._live(socket)
                if not self.done:
                    self.reconnects += 1  # dropped: open another socket

    # ---- the activity log

    def _fill(self) -> Iterator[TelemetryEvent]:
        """Every logged event after the last one yielded, ending the watch if one ends it."""
        for event in self.client.tasks.activity(self.task_id, after=self.last_seq):
            yield from self._emit(event)
            if self.done:
                return

    def _end_if_already_finished(self) -> Iterator[TelemetryEvent]:
        # Resuming after the end event (or a log that lost it): the task itself says it is over.
        task = self.client.tasks.get(self.task_id)
        if task.is_finished:
            yield from self._fill()
            self.done = True

    def _emit(self, event: TelemetryEvent) -> Iterator[TelemetryEvent]:
        if event.seq <= self.last_seq:
            return
        self.last_seq = event.seq
        if event.ends_watch:
            self.done = True
        yield event

    # ---- the socket

    def _open(self) -> ClientConnection:
        from websockets.sync.client import connect

        ticket = self.client.http.request("POST", "/auth/ws-ticket", idempotent=True) or {}
        base = self.client.ws_url_from_server(ticket.get("wsUrl"))
        query = urlencode({"token": ticket.get("ticket", ""), "taskId": self.task_id})
        return connect(
            f"{base}?{query}",
            open_timeout=OPEN_TIMEOUT_S,
            user_agent_header=f"aion-client/{__version__}",
            max_size=2**21,
        )

    def _live(self, socket: ClientConnection) -> Iterator[TelemetryEvent]:
        from websockets.exceptions import ConnectionClosed

        quiet = 0.0
        since_ping = 0.0
        while True:
            try:
                raw = socket.recv(timeout=RECV_TICK_S)
            except TimeoutError:
                quiet += RECV_TICK_S
                since_ping += RECV_TICK_S
                if quiet >= self.idle_poll_s:
                    quiet = 0.0
                    yield from self._fill()
                    if self.done:
                        return
                if since_ping >= PING_EVERY_S:
                    since_ping = 0.0
                    try:
                        socket.send(json.dumps({"action": "ping"}))
                    except ConnectionClosed:
                        return
                continue
            except ConnectionClosed:
                return  # dropped: the caller reconnects and the log fills the gap
            quiet = 0.0
            for raw_event in _events_in(raw):
                if raw_event.get("taskId") != self.task_id:
                    continue
                event = TelemetryEvent.model_validate(raw_event)
                if event.seq > self.last_seq + 1:
                    yield from self._fill_gap(event.seq)
                    if self.done:
                        return
                yield from self._emit(event)
                if self.done:
                    return

    def _fill_gap(self, seen_seq: int) -> Iterator[TelemetryEvent]:
        for attempt in range(GAP_RETRIES):
            yield from self._fill()
            if self.done or self.last_seq >= seen_seq - 1:
                return
            self._sleep(0.2 * (attempt + 1))


def _events_in(raw: str | bytes) -> list[dict[str, Any]]:
    """The telemetry events one server message carries (an event, or a subscribe backlog)."""
    try:
        message = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(message, dict):
        return []
    if message.get("type") == "telemetry":
        return [message]
    if message.get("type") == "subscribed":
        return [e for e in message.get("events") or [] if isinstance(e, dict)]
    return []
