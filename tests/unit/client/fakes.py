"""Test doubles for the client: a scripted API (httpx MockTransport, or served on 127.0.0.1
for a subprocess), a WebSocket server on 127.0.0.1, and one task's event log.

Nothing here touches a network beyond the loopback interface.
"""

from __future__ import annotations

import contextlib
import copy
import http.server
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from websockets.sync.server import Server, ServerConnection, serve

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "recorded" / "responses.json").read_text()
)

Responder = Callable[[httpx.Request, re.Match[str]], httpx.Response]


def reply(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    return {"status": status, "body": body, "headers": headers or {}}


def recorded(name: str, **body_changes: Any) -> dict[str, Any]:
    """A recorded answer of the real API (see recorded/record.py), optionally changed."""
    answer = copy.deepcopy(RECORDED[name])
    if body_changes and isinstance(answer["body"], dict):
        answer["body"].update(body_changes)
    return answer


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


class FakeApi:
    """Routes ``(method, path regex)`` to scripted answers and records every request.

    ``on()`` takes answers (``reply()``/``recorded()`` dicts, or callables of the request and
    the path match); several are used in turn, the last one for every later call.
    """

    def __init__(self, base: str = "http://api.test/api") -> None:
        self.base = base
        self.prefix = urlsplit(base).path.rstrip("/")
        self.routes: list[tuple[str, re.Pattern[str], list[Any]]] = []
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()
        self.transport = httpx.MockTransport(self.handle)

    def on(self, method: str, path: str, *answers: Any, raw_path: bool = False) -> FakeApi:
        full = path if raw_path else self.prefix + path
        self.routes.insert(0, (method.upper(), re.compile(full), list(answers)))
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            for method, pattern, answers in self.routes:
                match = pattern.fullmatch(request.url.path)
                if method == request.method and match:
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                    break
            else:
                answer = reply(404, {"error": {"code": "no_route", "message": "No such route."}})
        if callable(answer):
            answer = answer(request, match)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        headers = dict(answer.get("headers") or {})
        if answer.get("body") is None:
            return httpx.Response(answer["status"], headers=headers)
        if isinstance(answer["body"], str | bytes):
            return httpx.Response(answer["status"], headers=headers, content=answer["body"])
        return httpx.Response(answer["status"], headers=headers, json=answer["body"])

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        pattern = re.compile(self.prefix + path)
        with self.lock:
            return [
                r
                for r in self.requests
                if r.method == method.upper() and pattern.fullmatch(r.url.path)
            ]

    # ---- the same routes over real HTTP (for a CLI in a subprocess)

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on 127.0.0.1 (a free port) while the generator is open; yields the base URL."""
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                content = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command,
                    f"http://{self.headers.get('Host')}{self.path}",
                    headers=dict(self.headers.items()),
                    content=content,
                )
                response = api.handle(request)
                payload = response.read()
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                return None

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}{self.prefix}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


class TaskLog:
    """One task's events, published one by one: the activity endpoint shows what is published.

    ``routes(api)`` installs ``GET /tasks/{id}`` (the task, with the status of the last
    published event), ``GET /tasks/{id}/activity`` (paged by ``after``/``limit`` like the
    API), ``POST /tasks`` (the task, queued) and ``POST /auth/ws-ticket`` (fresh tickets).
    """

    def __init__(self, task: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self.task = task
        self.events = events
        self.published = 0
        self.tickets: list[str] = []
        self.activity_afters: list[int] = []
        self.first_fill = threading.Event()
        self.lock = threading.Lock()

    @classmethod
    def of(
        cls,
        steps: list[tuple[str, str, str]],
        *,
        task_id: str = "tsk_00000000000000000001",
        result: Any = None,
        module: str = "text.stats",
        route: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> TaskLog:
        """A task from ``(kind, status, message)`` steps; seq counts from 1."""
        task = copy.deepcopy(RECORDED["task_completed"]["body"])
        task.update(
            id=task_id,
            module=None,
            result=result,
            error=error,
            route=route
            or {"target": "executor", "module": module, "confidence": 0.93, "params": {}},
        )
        events = []
        for seq, (kind, status, message) in enumerate(steps, start=1):
            event = {
                "type": "telemetry",
                "taskId": task_id,
                "projectId": task["projectId"],
                "seq": seq,
                "kind": kind,
                "status": status,
                "message": message,
                "at": f"2026-12-06T10:00:{seq:02d}.000Z",
                "actor": "dispatch",
            }
            if kind == "progress":
                event["progress"] = round(seq / len(steps), 2)
            if kind == "routed":
                event["data"] = task["route"]
            events.append(event)
        return cls(task, events)

    @property
    def task_id(self) -> str:
        return self.task["id"]

    def publish(self, upto: int) -> list[dict[str, Any]]:
        """Publish up to seq ``upto``; the newly published events."""
        with self.lock:
            new = self.events[self.published : upto]
            self.published = max(self.published, upto)
            return new

    def publish_all(self) -> TaskLog:
        self.publish(len(self.events))
        return self

    def current_task(self) -> dict[str, Any]:
        with self.lock:
            status = self.events[self.published - 1]["status"] if self.published else "queued"
        return {**self.task, "status": status}

    def routes(self, api: FakeApi) -> FakeApi:
        tid = re.escape(self.task_id)
        api.on("POST", "/tasks", lambda r, m: reply(202, {**self.task, "status": "queued"}))
        api.on("GET", f"/tasks/{tid}", lambda r, m: reply(200, self.current_task()))
        api.on("GET", f"/tasks/{tid}/activity", self._activity)
        api.on("POST", "/auth/ws-ticket", self._ticket)
        return api

    def _activity(self, request: httpx.Request, match: re.Match[str]) -> Any:
        query = parse_qs(request.url.query.decode())
        after = int(query.get("after", ["0"])[0])
        limit = int(query.get("limit", ["100"])[0])
        with self.lock:
            self.activity_afters.append(after)
            visible = [e for e in self.events[: self.published] if e["seq"] > after][:limit]
        if after == 0:
            self.first_fill.set()
        cursor = str(visible[-1]["seq"]) if len(visible) == limit else None
        return reply(200, {"items": visible, "nextCursor": cursor})

    def _ticket(self, request: httpx.Request, match: re.Match[str]) -> Any:
        with self.lock:
            ticket = f"ticket-{len(self.tickets) + 1}"
            self.tickets.append(ticket)
        return reply(200, {"ticket": ticket, "expiresIn": 60})


class SocketServer:
    """A WebSocket server on 127.0.0.1; ``handler(connection, number)`` serves connection
    ``number`` (1, 2, ...). Connections whose ``token`` is not an issued ticket, or that ask
    for another task, are refused with 401 / 404, as the API does."""

    def __init__(
        self,
        handler: Callable[[ServerConnection, int], None],
        log: TaskLog | None = None,
    ) -> None:
        self.handler = handler
        self.log = log
        self.connections = 0
        self.used_tickets: list[str] = []
        self.lock = threading.Lock()
        self.server: Server = serve(
            self._serve, "127.0.0.1", 0, process_request=self._check, compression=None
        )
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def _check(self, connection: ServerConnection, request: Any) -> Any:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        token = query.get("token", [""])[0]
        if parts.path != "/ws":
            return connection.respond(404, "no such path\n")
        if self.log is not None:
            with self.lock:
                fresh = token in self.log.tickets and token not in self.used_tickets
                self.used_tickets.append(token)
            if not fresh:
                return connection.respond(401, "bad ticket\n")
            if query.get("taskId", [""])[0] != self.log.task_id:
                return connection.respond(404, "no such task\n")
        return None

    def _serve(self, connection: ServerConnection) -> None:
        with self.lock:
            self.connections += 1
            number = self.connections
        self.handler(connection, number)

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


def hold_open(connection: ServerConnection, number: int) -> None:
    """A socket that sends nothing and stays open until the client leaves."""
    try:
        for _ in connection:
            pass
    except Exception:  # noqa: S110 - the client went away: nothing to do
        pass


def send_event(connection: ServerConnection, event: dict[str, Any]) -> None:
    connection.send(json.dumps(event))
