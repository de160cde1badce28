"""Tabs share one console session (localStorage): a new tab is signed in, tabs never race a
refresh (the server revokes a login session when a rotated refresh token is presented again),
and signing out or in in one tab does the same in every tab."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Stack, open_tab, sign_in, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

READ_SESSION = "() => JSON.parse(localStorage.getItem('aion-session'))"
# Makes the stored access token look expired: the next API call must refresh first.
EXPIRE_SESSION = """() => {
    const s = JSON.parse(localStorage.getItem('aion-session'));
    s.expiresAt = Date.now() - 1000;
    localStorage.setItem('aion-session', JSON.stringify(s));
}"""


def _open_signed_in_tab(page: Any, path: str, heading: str) -> Any:
    tab = open_tab(page)
    tab.goto(path)
    tab.get_by_role("heading", name=heading, level=1).wait_for()
    return tab


def _show_projects(tab: Any) -> None:
    tab.get_by_role("link", name="Projects", exact=True).click()
    tab.get_by_role("heading", name="Projects", level=1).wait_for()
    expect(tab.locator("main table, main p").first).to_be_visible()


def _refresh_lock(tab: Any) -> tuple[int, int]:
    """(held, pending) requests of the console's cross-tab refresh lock, for the origin."""
    held, pending = tab.evaluate(
        """async () => {
            const q = await navigator.locks.query();
            const named = ls => ls.filter(l => l.name === 'aion-refresh').length;
            return [named(q.held), named(q.pending)];
        }"""
    )
    return held, pending


class RefreshLog:
    """Every POST /auth/refresh either tab sends; while `hold` is set the calls are parked
    (not sent on) until release(), so both tabs are mid-refresh at the same moment."""

    def __init__(self, context: Any, tabs: dict[str, Any]) -> None:
        self.requests: list[str] = []
        self.statuses: list[int] = []
        self.parked: list[Any] = []
        self.hold = False
        for name, tab in tabs.items():
            tab.on("request", lambda r, name=name: self._on_request(name, r))
            tab.on("response", self._on_response)
        context.route("**/auth/refresh", self._route)

    def _on_request(self, name: str, request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/auth/refresh"):
            self.requests.append(name)

    def _on_response(self, response: Any) -> None:
        if response.request.method == "POST" and response.url.endswith("/auth/refresh"):
            self.statuses.append(response.status)

    def _route(self, route: Any) -> None:
        if self.hold:
            self.parked.append(route)
        else:
            route.continue_()

    def release(self) -> None:
        self.hold = False
        while self.parked:
            self.parked.pop().continue_()


def test_a_tab_opened_after_sign_in_is_signed_in(page: Any, stack: Stack) -> None:
    sign_in(page, stack.admin_email, stack.admin_password)
    tab = _open_signed_in_tab(page, "/#/projects", "Projects")
    expect(tab.get_by_role("button", name="Sign out")).to_be_visible()
    expect(tab.locator("#conn-state")).to_have_attribute("data-state", "open")
    expect(tab.get_by_role("heading", name="Sign in to AION")).to_have_count(0)
    assert tab.evaluate(READ_SESSION) == page.evaluate(READ_SESSION)


def test_tabs_refreshing_at_once_send_one_refresh_and_both_keep_working(
    page: Any, stack: Stack
) -> None:
    sign_in(page, stack.admin_email, stack.admin_password)
    tab = _open_signed_in_tab(page, "/#/dashboard", "Dashboard")
    expect(tab.locator("#conn-state")).to_have_attribute("data-state", "open")
    before = page.evaluate(READ_SESSION)
    log = RefreshLog(page.context, {"a": page, "b": tab})
    log.hold = True

    # The stored access token expires and both tabs load it (a reload reads storage); each
    # needs a refresh before its first call, at the same moment.
    page.evaluate(EXPIRE_SESSION)
    page.reload()
    tab.reload()
    # Both tabs are mid-refresh at once: one holds the refresh lock (its POST parked here),
    # the other waits for that lock; neither sent a second POST.
    wait_until(tab, lambda: _refresh_lock(tab) == (1, 1), "one tab holding, one waiting")
    wait_until(tab, lambda: bool(log.parked), "the parked refresh")
    assert len(log.requests) == 1, log.requests
    log.release()

    page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    tab.get_by_role("heading", name="Dashboard", level=1).wait_for()
    _show_projects(tab)
    _show_projects(page)
    page.get_by_role("link", name="Dashboard", exact=True).click()
    tab.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    expect(tab.locator("#conn-state")).to_have_attribute("data-state", "open")
    assert len(log.requests) == 1, log.requests
    assert log.statuses == [200]
    after = page.evaluate(READ_SESSION)
    assert after["refreshToken"] != before["refreshToken"]
    assert tab.evaluate(READ_SESSION) == after

    # The login session was not revoked: its newest refresh token still rotates, from either
    # tab, and the other tab adopts the result without a refresh of its own.
    tab.evaluate(EXPIRE_SESSION)
    tab.reload()
    tab.get_by_role("heading", name="Dashboard", level=1).wait_for()
    expect(tab.get_by_role("button", name="Sign out")).to_be_visible()
    for _ in range(100):
        if len(log.statuses) == 2:
            break
        tab.wait_for_timeout(50)
    _show_projects(tab)
    _show_projects(page)
    assert len(log.requests) == 2, log.requests
    assert log.statuses == [200, 200]
    assert page.evaluate(READ_SESSION)["refreshToken"] not in (
        before["refreshToken"],
        after["refreshToken"],
    )


def test_signing_out_in_one_tab_signs_out_every_tab_and_in_again(page: Any, stack: Stack) -> None:
    sign_in(page, stack.admin_email, stack.admin_password)
    tab = open_tab(page)
    sockets: list[Any] = []
    tab.on("websocket", lambda ws: sockets.append(ws))
    tab.goto("/#/projects")
    tab.get_by_role("heading", name="Projects", level=1).wait_for()
    expect(tab.locator("#conn-state")).to_have_attribute("data-state", "open")
    assert len(sockets) == 1
    assert not sockets[0].is_closed()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    tab.get_by_role("heading", name="Sign in to AION").wait_for()
    expect(tab.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(tab.get_by_role("navigation", name="Main")).to_be_hidden()
    for _ in range(100):
        if sockets[0].is_closed():
            break
        tab.wait_for_timeout(50)
    assert sockets[0].is_closed()
    assert tab.evaluate(READ_SESSION) is None

    # Signing in in one tab signs the other in.
    tab.get_by_label("Email").fill(stack.admin_email)
    tab.get_by_label("Password").fill(stack.admin_password)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("heading", name="Dashboard", level=1).wait_for()
    page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    _show_projects(page)


def test_a_refresh_answered_after_sign_out_does_not_revive_the_session(
    page: Any, stack: Stack
) -> None:
    sign_in(page, stack.admin_email, stack.admin_password)
    tab = _open_signed_in_tab(page, "/#/dashboard", "Dashboard")
    parked: list[tuple[Any, Any]] = []

    def reach_server_then_park(route: Any) -> None:
        # The server rotates now; the page gets the answer only after the other tab signed out.
        parked.append((route, route.fetch()))

    page.context.route("**/auth/refresh", reach_server_then_park)
    page.evaluate(EXPIRE_SESSION)
    page.reload()
    for _ in range(100):
        if parked:
            break
        page.wait_for_timeout(50)
    assert len(parked) == 1

    tab.get_by_role("button", name="Sign out").click()
    tab.get_by_role("heading", name="Sign in to AION").wait_for()
    route, response = parked.pop()
    rotated = response.json()["refreshToken"]

    # The late answer is not adopted: the page ends the token it carried (POST /auth/logout
    # with it), and stays signed out.
    def ends_rotated(request: Any) -> bool:
        return request.url.endswith("/auth/logout") and rotated in (request.post_data or "")

    with page.expect_response(lambda r: ends_rotated(r.request)) as ended:
        route.fulfill(response=response)
    assert ended.value.ok, ended.value.status
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    assert page.evaluate(READ_SESSION) is None
    assert tab.evaluate(READ_SESSION) is None
    expect(tab.get_by_role("heading", name="Sign in to AION")).to_be_visible()
    # The token the late answer carried was ended too.
    r = requests.post(f"{stack.api_url}/auth/refresh", json={"refreshToken": rotated}, timeout=10)
    assert r.status_code == 401, r.text
