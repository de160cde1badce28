"""The WebSocket's keep-alive rules, with Playwright's fake clock: a ping well inside the
10-minute idle limit, a planned reconnect before the 2-hour limit, backoff when the server
refuses, and subscriptions that follow the screen."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ApiClient, Stack, sign_in, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
WS_URL = re.compile(r".*/ws(\?.*)?$")


# Counts the console's connection attempts in the page: each starts with POST /auth/ws-ticket
# and goes on to a WebSocket (Playwright's routed stand-in, whichever init script runs first).
ATTEMPTS_PROBE = """(() => {
  const probe = { tickets: 0, sockets: [] };
  window.__attempts = probe;
  const nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    if (String(typeof input === "string" ? input : input.url).includes("/auth/ws-ticket")) {
      probe.tickets += 1;
    }
    return nativeFetch.call(this, input, init);
  };
  const routedAlready = window.__pwWebSocketDispatch !== undefined;
  const wrap = (Base, count) => class extends Base {
    constructor(...args) {
      super(...args);
      if (count) probe.sockets.push(this);
    }
  };
  let current = wrap(window.WebSocket, routedAlready);
  Object.defineProperty(window, "WebSocket", {
    configurable: true,
    get: () => current,
    set: (Routed) => { current = wrap(Routed, true); },
  });
})()"""
# Every attempt has its socket, and every socket is open or closed (its handlers have run).
SETTLED = """() => {
  const p = window.__attempts;
  return p.sockets.length === p.tickets && p.sockets.every(ws => ws.readyState % 2 === 1);
}"""


def _tick(page: Any, total_ms: int, step_ms: int) -> None:
    """Advance the fake clock in steps; after each, wait until the connection attempt it
    started (real network I/O: a ticket, then a socket) has played out, so the clock never
    runs past an attempt still under way."""
    for _ in range(total_ms // step_ms):
        page.clock.run_for(step_ms)
        wait_until(page, lambda: page.evaluate(SETTLED), "the connection attempt to settle")


class SocketLog:
    """Proxies the page's sockets to the dev stack and records what the page sends."""

    def __init__(self, page: Any) -> None:
        self.connections = 0
        self.sent: list[dict[str, Any]] = []
        self.refuse = False
        page.route_web_socket(WS_URL, self.route)
        page.add_init_script(ATTEMPTS_PROBE)

    def route(self, ws: Any) -> None:
        self.connections += 1
        if self.refuse:
            ws.close(code=1011, reason="refused by test")
            return
        server = ws.connect_to_server()
        server.on_message(lambda m: ws.send(m))

        def from_page(message: str | bytes) -> None:
            self.sent.append(json.loads(message))
            server.send(message)

        ws.on_message(from_page)

    def actions(self) -> list[str]:
        return [m.get("action", "") for m in self.sent]


def test_ping_inside_idle_limit_and_reconnect_before_two_hours(page: Any, stack: Stack) -> None:
    page.clock.install()
    log = SocketLog(page)
    sign_in(page, stack.admin_email, stack.admin_password)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    assert log.connections == 1
    assert "ping" not in log.actions()

    page.clock.run_for("05:00")  # API Gateway drops idle sockets after 10 minutes
    assert "ping" in log.actions()

    page.clock.run_for("01:50:00")  # the hard limit is 2 hours
    _tick(page, 3000, 100)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    assert log.connections == 2


def test_backoff_with_jitter_while_the_server_refuses(page: Any, stack: Stack) -> None:
    page.clock.install()
    log = SocketLog(page)
    sign_in(page, stack.admin_email, stack.admin_password)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    log.refuse = True
    page.clock.run_for("01:50:00")  # the planned recycle closes the socket
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "reconnecting")
    before = log.connections
    # Delays double from 0.25-0.5 s (equal jitter): 4 or 5 attempts in 10 s, not 20.
    _tick(page, 10_000, 100)
    in_ten_seconds = log.connections - before
    assert 3 <= in_ten_seconds <= 6, in_ten_seconds
    before = log.connections
    _tick(page, 60_000, 1000)  # delays are 8-16 s and more by now, capped at 30 s
    assert 1 <= log.connections - before <= 6, log.connections - before
    expect(page.locator("#conn-state")).to_contain_text("Reconnecting")

    log.refuse = False
    _tick(page, 32_000, 1000)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")


def test_subscriptions_follow_the_screen(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    project = admin_api.create_project(name="Subscriptions project")
    task = admin_api.create_task(project["id"], title="Sub task", input="a b c")
    log = SocketLog(page)
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name="Sub task").wait_for()
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")

    # With an "after" seq when the console already holds some of the task's events (from the
    # dashboard's live feed), without one otherwise: both are right, timing decides.
    def task_subscribes() -> list[dict[str, Any]]:
        return [
            {k: v for k, v in message.items() if k != "after"}
            for message in log.sent
            if message.get("action") == "subscribe"
            and "taskId" in message
            and isinstance(message.get("after", 0), int)
        ]

    wait_until(
        page,
        lambda: {"action": "subscribe", "taskId": task["id"]} in task_subscribes(),
        "the task's subscribe",
    )

    page.goto(f"/#/projects/{project['id']}")
    page.get_by_role("heading", name="Subscriptions project").wait_for()
    wait_until(
        page,
        lambda: {"action": "unsubscribe", "taskId": task["id"]} in log.sent,
        "the task's unsubscribe",
    )
    wait_until(
        page,
        lambda: {"action": "subscribe", "projectId": project["id"]} in log.sent,
        "the project's subscribe",
    )
