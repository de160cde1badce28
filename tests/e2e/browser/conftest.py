"""Browser tests of the console: Playwright for Python driving Debian's /usr/bin/chromium.

The dev stack comes from the ``devstack`` fixture (tests/e2e/conftest.py). Each test gets a
fresh browser context (own localStorage, so its own console session) in one shared browser;
``open_tab(page)`` opens another tab in the same context (shared storage, like a second tab
of one browser profile). Console errors and CSP violations fail the test that caused them.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

CHROMIUM = Path(os.environ.get("AION_CHROMIUM", "/usr/bin/chromium"))
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts"
AXE_JS = Path(__file__).parent / "tooling" / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000
RUN_AXE_JS = (Path(__file__).parent / "js" / "run_axe.js").read_text()
WS_URL = re.compile(r".*/ws(\?.*)?$")


def _get(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


@dataclass
class Stack:
    base_url: str
    api_url: str
    admin_email: str
    admin_password: str


class ApiClient:
    """A thin REST client for arranging test data as another user would."""

    def __init__(self, api_url: str, email: str, password: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.http = requests.Session()
        self._credentials = {"email": email, "password": password}
        self._sign_in()

    def _sign_in(self) -> None:
        body = self.call("POST", "/auth/login", json=self._credentials, auth=False)
        self.user = body["user"]
        self.refresh_token = body["refreshToken"]
        self.http.headers["Authorization"] = f"Bearer {body['accessToken']}"

    def call(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        response = self.http.request(
            method, self.api_url + path, headers=headers, timeout=15, **kwargs
        )
        if auth and response.status_code == 401 and _code(response) == "token_expired":
            # A session-long client outlives its 15-minute access token on a slow run.
            self._refresh()
            response = self.http.request(
                method, self.api_url + path, headers=headers, timeout=15, **kwargs
            )
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def _refresh(self) -> None:
        body = self.call(
            "POST", "/auth/refresh", json={"refreshToken": self.refresh_token}, auth=False
        )
        self.refresh_token = body["refreshToken"]
        self.http.headers["Authorization"] = f"Bearer {body['accessToken']}"

    def create_user(self, role: str = "member") -> dict[str, Any]:
        tag = uuid.uuid4().hex[:8]
        password = f"pw-{uuid.uuid4().hex}"
        user = self.call(
            "POST",
            "/users",
            json={
                "email": f"user-{tag}@example.com",
                "name": f"User {tag}",
                "password": password,
                "role": role,
            },
        )
        return {**user, "password": password}

    def create_project(self, name: str | None = None, member_ids: tuple[str, ...] = ()) -> dict:
        project = self.call(
            "POST",
            "/projects",
            json={"name": name or f"Project {uuid.uuid4().hex[:6]}", "description": "for tests"},
        )
        for member in member_ids:
            self.call("PUT", f"/projects/{project['id']}/members/{member}")
        return self.call("GET", f"/projects/{project['id']}")

    def create_task(self, project_id: str, **fields: Any) -> dict[str, Any]:
        body = {"projectId": project_id, "instruction": "Count the words", **fields}
        return self.call("POST", "/tasks", json=body)


def _code(response: Any) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class PageProbe:
    """Console errors, page errors and CSP violations seen by a page."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        def on_console(msg: Any) -> None:
            text = msg.text
            if msg.type != "error" or _expected_console_error(text):
                return
            if not any(p.search(text) for p in self.allowed):
                self.errors.append(f"console: {text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))


def _expected_console_error(text: str) -> bool:
    # Resource 4xx/5xx lines are logged by Chromium for requests the tests provoke on purpose
    # (wrong password, throttling, conflicts); they are checked through the UI instead.
    return bool(
        re.search(r"Failed to load resource: the server responded with a status of 4\d\d", text)
    )


@pytest.fixture(scope="session")
def stack(devstack: Any) -> Stack:
    return Stack(
        base_url=str(_get(devstack, "base_url")).rstrip("/"),
        api_url=str(_get(devstack, "api_url")).rstrip("/"),
        admin_email=str(_get(devstack, "admin_email")),
        admin_password=str(_get(devstack, "admin_password")),
    )


@pytest.fixture(scope="session")
def admin_api(stack: Stack) -> ApiClient:
    return ApiClient(stack.api_url, stack.admin_email, stack.admin_password)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; `make test` installs it")
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do: on a shared, busy machine a live update can take
    # longer than Playwright's default 5 s, and a deadline is not what these tests measure.
    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Any, stack: Stack) -> Iterator[Any]:
    """Factory: new_page(**context_options) -> page; every page's errors fail the test."""
    contexts: list[Any] = []
    probes: list[PageProbe] = []

    def make(**options: Any) -> Any:
        options.setdefault("base_url", stack.base_url)  # another stack's console: base_url=...
        context = browser.new_context(viewport={"width": 1280, "height": 860}, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        context.aion_probes = probes  # open_tab registers its pages' probes here
        return _probed_page(context)

    yield make
    for context in contexts:
        context.close()
    errors = [e for p in probes for e in p.errors]
    assert not errors, "browser errors:\n" + "\n".join(errors)


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()


def _probed_page(context: Any) -> Any:
    page = context.new_page()
    probe = PageProbe()
    probe.attach(page)
    context.aion_probes.append(probe)
    page.aion_probe = probe  # tests may allow a known, provoked message
    return page


def open_tab(page: Any) -> Any:
    """Another tab in ``page``'s browser context: same origin storage, own JS and WebSocket."""
    return _probed_page(page.context)


def wait_until(
    page: Any, check: Callable[[], bool], what: str, timeout_ms: int = TIMEOUT_MS
) -> None:
    """Poll ``check`` (Python-side state: routes, sockets, the API) to a deadline. Waiting on
    the page between polls lets Playwright deliver its events (requests, socket messages)."""
    for _ in range(max(1, timeout_ms // 50)):
        if check():
            return
        page.wait_for_timeout(50)
    if not check():
        raise AssertionError(f"timed out waiting for {what}")


def later_event_shown(page: Any, api: ApiClient, task_id: str) -> list[int]:
    """Make one more event of a task (an edit of its title) and wait until the timeline on
    ``page`` shows it; returns the seqs of the task's log by then.

    The event reaches the page on the same socket after everything sent before it: once it
    is shown, a delayed event or a late duplicate would be shown too (instead of waiting a
    while and hoping they would have landed).
    """
    from playwright.sync_api import expect

    task = api.call("GET", f"/tasks/{task_id}")
    api.call(
        "PATCH",
        f"/tasks/{task_id}",
        json={"title": f"{task['title']} (renamed)"},
        headers={"If-Match": str(task["version"])},
    )
    log = api.call("GET", f"/tasks/{task_id}/activity", params={"limit": 100})["items"]
    expect(page.locator(f'#timeline li[data-seq="{log[-1]["seq"]}"]')).to_have_count(1)
    return [event["seq"] for event in log]


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/#/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard", level=1).wait_for()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA (incl. 2.2) violations on the current page.

    Injected through the DevTools protocol (evaluate), so the page's CSP stays in force.
    """
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make browser-tools` (make test does)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text())
    return page.evaluate(RUN_AXE_JS)


class SocketTap:
    """Proxies the page's sockets to the dev stack. What the page sends is recorded; what the
    server sends passes through ``edit(message) -> list of messages to deliver now``."""

    def __init__(
        self, page: Any, edit: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    ) -> None:
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.edit = edit or (lambda m: [m])
        self.lock = threading.Lock()
        page.route_web_socket(WS_URL, self.route)

    def route(self, ws: Any) -> None:
        server = ws.connect_to_server()

        def from_server(raw: str | bytes) -> None:
            message = json.loads(raw)
            with self.lock:
                self.received.append(message)
                out = self.edit(message)
            for item in out:
                ws.send(json.dumps(item))

        def from_page(raw: str | bytes) -> None:
            self.sent.append(json.loads(raw))
            server.send(raw)

        server.on_message(from_server)
        ws.on_message(from_page)

    def scope_replies(self) -> list[dict[str, Any]]:
        return [
            m for m in self.received if m.get("type") == "subscribed" and m.get("scope") == "all"
        ]
