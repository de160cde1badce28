"""Live means live: the console subscribes with scope "all", so projects created or shared
after it loaded appear on every screen with their tasks' events; the dashboard's feed names
tasks and keeps working after other screens; a task's timeline has no holes even when
messages are dropped or delayed on the way; and a session that ends says why."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import (
    ApiClient,
    SocketTap,
    Stack,
    later_event_shown,
    open_tab,
    sign_in,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CSV = "city,population\nLisbon,545923\nPorto,231800\nBraga,193333\n"


def _timeline_seqs(page: Any) -> list[int]:
    return [
        int(s)
        for s in page.locator("#timeline li").evaluate_all("ls => ls.map(l => l.dataset.seq)")
    ]


def test_projects_created_or_shared_later_appear_live_everywhere(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    member = admin_api.create_user()
    tap = SocketTap(page)
    sign_in(page, member["email"], member["password"])
    wait_until(page, lambda: bool(tap.scope_replies()), "the scope-all subscription")
    assert {"action": "subscribe", "scope": "all"} in tap.sent
    expect(page.get_by_text("Create a project to see task charts")).to_be_visible()
    page.evaluate("() => { window.__noReload = true; }")

    # The member creates a project elsewhere (another device, the CLI): the dashboard has it.
    other = ApiClient(stack.api_url, member["email"], member["password"])
    made = other.create_project(name=f"Made later {uuid.uuid4().hex[:4]}")
    expect(page.get_by_label("Project")).to_have_value(made["id"])
    expect(page.get_by_text("Create a project to see task charts")).to_be_hidden()
    expect(page.locator(".chart-grid")).to_have_attribute("data-total", "0")

    # Its tasks stream into the feed, named, and the charts count them.
    other.create_task(made["id"], title="Profile later", input=CSV, module="data.csv_profile")
    feed = page.get_by_role("list", name="Latest events")
    expect(feed).to_contain_text(f"{made['name']} · Profile later: Completed in", timeout=30_000)
    expect(page.locator(".chart-grid")).to_have_attribute("data-total", "1")

    # On the projects screen: shared with me, renamed, members changed, then taken away.
    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("heading", name="Projects", level=1).wait_for()
    shared = admin_api.create_project(name=f"Shared later {uuid.uuid4().hex[:4]}")
    admin_api.call("PUT", f"/projects/{shared['id']}/members/{member['id']}")
    row = page.locator(f'tr[data-project-id="{shared["id"]}"]')
    expect(row).to_contain_text(shared["name"])
    expect(row.locator("td").nth(2)).to_have_text("2")
    current = admin_api.call("GET", f"/projects/{shared['id']}")
    admin_api.call(
        "PATCH",
        f"/projects/{shared['id']}",
        json={"name": "Renamed while watched"},
        headers={"If-Match": str(current["version"])},
    )
    expect(row).to_contain_text("Renamed while watched")
    admin_api.call("DELETE", f"/projects/{shared['id']}/members/{member['id']}")
    expect(row).to_have_count(0)
    # Deleted elsewhere: gone from the list.
    other.call("DELETE", f"/projects/{made['id']}")
    expect(page.locator(f'tr[data-project-id="{made["id"]}"]')).to_have_count(0)
    assert page.evaluate("() => window.__noReload === true")


def test_dashboard_feed_after_the_board_names_each_task(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name=f"Feed names {uuid.uuid4().hex[:4]}")
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_role("heading", name=project["name"], level=1).wait_for()
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    admin_api.create_task(
        project["id"], title="Count on the board", input="a b c", module="text.stats"
    )
    expect(
        page.locator('[data-column="completed"] .card', has_text="Count on the board")
    ).to_be_visible(timeout=30_000)

    page.get_by_role("link", name="Dashboard", exact=True).click()
    feed = page.get_by_role("list", name="Latest events")
    # What the console heard on the board is there at once, each item naming its task.
    expect(feed).to_contain_text(f"{project['name']} · Count on the board: Completed in")
    expect(feed.get_by_role("link", name="Count on the board").first).to_be_visible()
    # And it keeps going.
    admin_api.create_task(
        project["id"], title="Second on the dashboard", input="d e", module="text.stats"
    )
    expect(feed).to_contain_text("Second on the dashboard: Completed in", timeout=30_000)


def _csv_task_via_board(page: Any, project: dict[str, Any]) -> str:
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_role("heading", name=project["name"], level=1).wait_for()
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    page.get_by_label("Title").fill("Gap-free profile")
    page.get_by_label("Instruction").fill("Profile this table")
    page.get_by_label("Input text").fill(CSV)
    page.get_by_role("form", name="New task").get_by_label("Module").select_option(
        "data.csv_profile"
    )
    page.get_by_role("button", name="Create task").click()
    page.get_by_role("heading", name="Gap-free profile", level=1).wait_for()
    return page.url.rsplit("/", 1)[-1]


def _first_history_only_up_to(page: Any, seq: int, fills: list[str]) -> None:
    """The task screen's first read of the log answers with events up to ``seq`` only (as if
    it ran before the rest was written); later reads (after=...) are real and recorded."""

    def handle(route: Any) -> None:
        url = route.request.url
        if "after=" in url:
            fills.append(url)
            route.continue_()
            return
        response = route.fetch()
        body = response.json()
        body["items"] = [e for e in body["items"] if e["seq"] <= seq]
        route.fulfill(response=response, json=body)

    page.route("**/api/tasks/*/activity*", handle)


def test_timeline_has_no_holes_when_messages_are_dropped_and_delayed(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    """#4 and #5 never arrive, #3 arrives after #6, the subscribe backlog and the first read of
    the log stop at #2: the console notices the hole at #6, reads what is missing, and shows
    every event once, in order, without a reload."""
    project = admin_api.create_project()
    held: list[dict[str, Any]] = []

    def edit(message: dict[str, Any]) -> list[dict[str, Any]]:
        if message.get("type") == "subscribed" and message.get("events"):
            return [{**message, "events": [e for e in message["events"] if e["seq"] <= 2]}]
        if message.get("type") != "telemetry":
            return [message]
        seq = message["seq"]
        if seq in (4, 5):
            return []  # dropped
        if seq == 3:
            held.append(message)  # delayed
            return []
        if seq >= 6:
            out = [message, *held]
            held.clear()
            return out
        return [message]

    tap = SocketTap(page, edit)
    fills: list[str] = []
    _first_history_only_up_to(page, 2, fills)
    sign_in(page, stack.admin_email, stack.admin_password)
    page.evaluate("() => { window.__noReload = true; }")
    task_id = _csv_task_via_board(page, project)

    expect(page.locator("#timeline")).to_contain_text("completed", timeout=30_000)
    activity = [e["seq"] for e in admin_api.call("GET", f"/tasks/{task_id}/activity")["items"]]
    assert len(activity) >= 6, activity
    expect(page.locator("#timeline li")).to_have_count(len(activity))
    activity = later_event_shown(page, admin_api, task_id)
    assert _timeline_seqs(page) == activity
    assert fills, "the hole was never read from the log"
    assert any(m.get("type") == "telemetry" and m["seq"] == 6 for m in tap.received)
    assert page.evaluate("() => window.__noReload === true")


def test_lost_last_events_are_recovered(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    """Everything after #2 is lost on the way, so no later event reveals a hole: the task itself
    (read again after changes, or when it has been quiet) is further on than its timeline, so
    the log is read again and the timeline still completes."""
    project = admin_api.create_project()

    def edit(message: dict[str, Any]) -> list[dict[str, Any]]:
        if message.get("type") == "subscribed" and message.get("events"):
            return [{**message, "events": [e for e in message["events"] if e["seq"] <= 2]}]
        if message.get("type") == "telemetry" and message["seq"] > 2:
            return []
        return [message]

    SocketTap(page, edit)
    fills: list[str] = []
    _first_history_only_up_to(page, 2, fills)
    sign_in(page, stack.admin_email, stack.admin_password)
    task_id = _csv_task_via_board(page, project)
    expect(page.locator("#timeline")).to_contain_text("completed", timeout=30_000)
    expect(page.locator("#task-result")).to_contain_text("3 rows")
    activity = [e["seq"] for e in admin_api.call("GET", f"/tasks/{task_id}/activity")["items"]]
    assert _timeline_seqs(page) == activity
    assert fills


AUTH_FAILURE = {
    "error": {"code": "unauthorized", "message": "The access token was signed with an unknown key."}
}


def test_a_server_restart_is_named_on_the_sign_in_screen(page: Any, stack: Stack) -> None:
    """A restarted dev stack has new signing keys and forgets sessions: the access token (not
    due to expire) is refused and the refresh token is unknown."""
    sign_in(page, stack.admin_email, stack.admin_password)
    tab = open_tab(page)
    tab.goto("/#/projects")
    tab.get_by_role("heading", name="Projects", level=1).wait_for()

    def refused(route: Any) -> None:
        if route.request.url.endswith("/auth/refresh"):
            route.fulfill(
                status=401,
                json={
                    "error": {
                        "code": "invalid_refresh_token",
                        "message": "The refresh token is invalid or expired. Log in again.",
                    }
                },
            )
        elif "/openapi.json" in route.request.url or route.request.url.endswith("/health"):
            route.continue_()
        else:
            route.fulfill(status=401, json=AUTH_FAILURE)

    page.context.route("**/api/**", refused)
    # Any request now fails; a background one (a refresh of the dashboard) may get there first
    # and show the sign-in screen before a click on the nav could land, so navigate by hash.
    page.evaluate("() => { location.hash = '#/projects'; }")
    notice = page.locator("#signin-notice")
    expect(notice).to_have_text(
        "Your session ended because the server restarted and no longer knows it. Sign in again."
    )
    expect(page.locator("#announcer")).to_contain_text("server restarted")
    # The other tab says the same, not "signed out in another tab".
    expect(tab.locator("#signin-notice")).to_contain_text("server restarted")


def test_expired_and_other_tab_sign_outs_say_so(page: Any, stack: Stack) -> None:
    sign_in(page, stack.admin_email, stack.admin_password)
    tab = open_tab(page)
    tab.goto("/#/dashboard")
    tab.get_by_role("heading", name="Dashboard", level=1).wait_for()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signin-notice")).to_have_text("You signed out.")
    expect(tab.locator("#signin-notice")).to_have_text("You signed out in another tab.")

    # An old session (the access token long expired) whose refresh token the server refuses.
    sign_in(page, stack.admin_email, stack.admin_password)
    page.evaluate(
        """() => {
            const s = JSON.parse(localStorage.getItem('aion-session'));
            s.expiresAt = Date.now() - 3600 * 1000;
            s.refreshToken = 'rt_' + 'x'.repeat(43);
            localStorage.setItem('aion-session', JSON.stringify(s));
        }"""
    )
    page.reload()
    expect(page.locator("#signin-notice")).to_have_text("Your session expired. Sign in again.")


def test_a_reload_just_after_another_tab_ended_the_session_says_why(
    page: Any, stack: Stack
) -> None:
    """Another tab may lose its refresh first and clear the shared session before this tab
    reloads: the reloaded tab finds no session, and still says why it ended."""
    sign_in(page, stack.admin_email, stack.admin_password)
    page.evaluate(
        """() => {
            localStorage.removeItem('aion-session');
            localStorage.setItem(
                'aion-session-end', JSON.stringify({ reason: 'expired', at: Date.now() }));
        }"""
    )
    page.reload()
    expect(page.locator("#signin-notice")).to_have_text("Your session expired. Sign in again.")
    # A stale note (a session that ended long ago) says nothing.
    page.evaluate(
        """() => localStorage.setItem(
            'aion-session-end', JSON.stringify({ reason: 'expired', at: Date.now() - 3600e3 }))"""
    )
    page.reload()
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    expect(page.locator("#signin-notice")).to_have_count(0)
