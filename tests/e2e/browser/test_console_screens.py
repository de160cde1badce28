"""Screens and their rules: sign-in errors and throttling, session refresh and sign out, the
cached health query, version conflicts, users admin, the live feed, and an XSS probe."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import (
    ApiClient,
    SocketTap,
    Stack,
    screenshot,
    sign_in,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

XSS_TITLE = '<img src=x onerror="window.__xss=1">'
XSS_TEXT = '<script>window.__xss=2</script><b id="xss-bold">bold</b>'


def test_xss_probe_stays_inert(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    project = admin_api.create_project(name='<svg onload="window.__xss=3">')
    task = admin_api.create_task(
        project["id"], title=XSS_TITLE, instruction=XSS_TEXT, input=XSS_TEXT
    )
    sign_in(page, stack.admin_email, stack.admin_password)

    page.goto(f"/#/projects/{project['id']}")
    card = page.locator(".card", has_text=XSS_TITLE)
    expect(card).to_be_visible()
    page.goto(f"/#/tasks/{task['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(XSS_TITLE)
    page.get_by_role("button", name="Show raw JSON").click()
    expect(page.locator("#raw-json")).to_contain_text("<script>")
    page.goto("/#/projects")
    expect(
        page.get_by_role("link", name='<svg onload="window.__xss=3">', exact=True)
    ).to_be_visible()
    page.goto("/#/dashboard")
    page.get_by_role("heading", name="Dashboard").wait_for()
    # The dashboard has drawn this project: its name in the picker, its task in the charts.
    page.get_by_label("Project").select_option(project["id"])
    expect(page.locator(".chart-grid")).to_have_attribute("data-total", "1")

    assert page.evaluate("() => window.__xss") is None
    assert page.locator("img[src=x], #xss-bold, main script, main svg[onload]").count() == 0

    # Defence in depth: even a script element that got in would not run (CSP, no inline).
    page.aion_probe.allowed.append(re.compile(r"Content Security Policy"))
    page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = 'window.__inline = 1';
            document.body.append(s);
        }"""
    )
    assert page.evaluate("() => window.__inline") is None


def test_sign_in_errors_and_throttling_wait(page: Any, stack: Stack) -> None:
    page.goto("/#/signin")
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_role("alert").filter(has_text="Enter your email and password")
    ).to_be_visible()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Email").fill(stack.admin_email)
    page.get_by_label("Password").fill("definitely-wrong")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#signin-errors .form-error")
    expect(error).to_be_visible()
    expect(error).not_to_contain_text("Too many")
    expect(page.get_by_label("Password")).to_have_value("")

    # An address nobody uses: it is throttled like a real one (and nobody is locked out).
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(8):
        r = requests.post(
            f"{stack.api_url}/auth/login", json={"email": email, "password": "x" * 12}, timeout=10
        )
        if r.status_code == 429:
            break
    assert r.status_code == 429, r.text
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("x" * 12)
    page.get_by_role("button", name="Sign in").click()
    expect(error).to_contain_text("Too many sign-in attempts. Try again in")
    expect(error).to_contain_text("second")
    expect(page.get_by_role("button", name="Sign in")).to_be_disabled()
    screenshot(page, "signin-throttled")


def test_silent_refresh_then_sign_out_revokes(page: Any, stack: Stack) -> None:
    sign_in(page, stack.admin_email, stack.admin_password)
    refreshes: list[int] = []
    page.on(
        "response",
        lambda r: refreshes.append(r.status) if r.url.endswith("/auth/refresh") else None,
    )
    # Make the access token look nearly expired: the next call refreshes it first.
    page.evaluate(
        """() => {
            const s = JSON.parse(localStorage.getItem('aion-session'));
            s.expiresAt = Date.now() + 1000;
            localStorage.setItem('aion-session', JSON.stringify(s));
        }"""
    )
    page.reload()
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("heading", name="Projects", level=1).wait_for()
    expect(page.locator("table, main p").first).to_be_visible()
    assert refreshes == [200]
    session = page.evaluate("() => JSON.parse(localStorage.getItem('aion-session'))")
    assert session["expiresAt"] > page.evaluate("() => Date.now()") + 30_000

    # The console signs out locally at once and revokes in the background: wait for the answer.
    with page.expect_response(lambda r: r.url.endswith("/auth/logout")) as logout:
        page.get_by_role("button", name="Sign out").click()
    assert logout.value.ok
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    assert page.evaluate("() => localStorage.getItem('aion-session')") is None
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    r = requests.post(
        f"{stack.api_url}/auth/refresh", json={"refreshToken": session["refreshToken"]}, timeout=10
    )
    assert r.status_code == 401


def test_health_is_cached_and_never_fetched_twice_at_once(page: Any, stack: Stack) -> None:
    health_calls: list[str] = []
    page.on(
        "request", lambda r: health_calls.append(r.url) if r.url.endswith("/api/health") else None
    )
    sign_in(page, stack.admin_email, stack.admin_password)
    expect(page.locator(".health-list li").first).to_be_visible()
    assert len(health_calls) == 1
    # Back within the stale time: cached data at once, no new request.
    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("heading", name="Projects", level=1).wait_for()
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.locator(".health-list li").first).to_be_visible()
    assert len(health_calls) == 1
    # Five forced refetches in one tick: they share one in-flight request. Any second request
    # would start with the first, before its answer, which is awaited here.
    with page.expect_response(lambda r: r.url.endswith("/api/health")) as answered:
        page.evaluate(
            """() => {
                const b = [...document.querySelectorAll('button')]
                  .find(x => x.textContent === 'Check now');
                for (let i = 0; i < 5; i += 1) b.click();
            }"""
        )
    assert answered.value.ok
    assert len(health_calls) == 2


def test_project_edit_conflict_is_explained(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    project = admin_api.create_project(name="Conflict project")
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}/settings")
    page.get_by_role("heading", name="Settings: Conflict project").wait_for()

    admin_api.call(
        "PATCH",
        f"/projects/{project['id']}",
        json={"name": "Renamed elsewhere"},
        headers={"If-Match": str(project["version"])},
    )
    page.get_by_label("Name", exact=True).fill("My rename")
    page.get_by_role("button", name="Save changes").click()
    alert = page.locator(".form-error")
    expect(alert).to_contain_text("Someone else saved this project")
    expect(alert).to_contain_text("Renamed elsewhere")
    expect(alert).to_contain_text("My rename")
    screenshot(page, "project-conflict")
    page.get_by_role("button", name="Save mine over theirs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings: My rename")
    assert admin_api.call("GET", f"/projects/{project['id']}")["name"] == "My rename"


def test_project_edit_conflict_can_take_their_version(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name="Theirs project")
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}/settings")
    page.get_by_role("heading", name="Settings: Theirs project").wait_for()
    theirs = admin_api.call(
        "PATCH",
        f"/projects/{project['id']}",
        json={"name": "Their name", "description": "Their words"},
        headers={"If-Match": str(project["version"])},
    )
    page.get_by_label("Name", exact=True).fill("My name")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".form-error")).to_contain_text("Someone else saved this project")

    page.get_by_role("button", name="Use their version").click()
    expect(page.get_by_role("status").filter(has_text="Loaded their version.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings: Their name")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Their name")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    expect(page.get_by_label("Description")).to_have_value("Their words")
    expect(page.locator("#version-hint")).to_have_text(f"Version {theirs['version']}")
    # Nothing of mine was saved; an edit from their version saves without a conflict.
    assert admin_api.call("GET", f"/projects/{project['id']}")["name"] == "Their name"
    page.get_by_label("Description").fill("Their words, and mine")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    saved = admin_api.call("GET", f"/projects/{project['id']}")
    assert (saved["name"], saved["description"]) == ("Their name", "Their words, and mine")
    assert saved["version"] == theirs["version"] + 1


def test_members_can_be_added_and_removed(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    member = admin_api.create_user()
    project = admin_api.create_project(name="Members project")
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}/settings")
    page.get_by_label("User", exact=True).select_option(member["id"])
    page.get_by_role("button", name="Add member").click()
    expect(
        page.get_by_role("button", name=f"Remove {member['name']} ({member['email']})")
    ).to_be_visible()
    assert member["id"] in admin_api.call("GET", f"/projects/{project['id']}")["memberIds"]
    page.get_by_role("button", name=f"Remove {member['name']} ({member['email']})").click()
    members = page.get_by_role("region", name="Members").locator("ul")
    expect(members).not_to_contain_text(member["email"])
    expect(members).to_contain_text("owner")


def test_admin_creates_user_and_changes_role(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    sign_in(page, stack.admin_email, stack.admin_password)
    page.get_by_role("link", name="Users").click()
    page.get_by_role("heading", name="Users", level=1).wait_for()
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name", exact=True).fill("New Person")
    page.get_by_label("Initial password").fill("a-long-password-123")
    page.get_by_role("button", name="Create user").click()
    role = page.get_by_label(f"Role of {email}")
    expect(role).to_have_value("member")
    role.select_option("admin")
    expect(page.locator("#announcer")).to_contain_text(f"{email} is now admin")
    users = admin_api.call("GET", "/users", params={"limit": 100})["items"]
    assert next(u for u in users if u["email"] == email)["role"] == "admin"
    # The new person can sign in and sees no Users link until they are admin: they are.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, email, "a-long-password-123")
    expect(page.get_by_role("link", name="Users")).to_be_visible()


def test_admin_disables_and_enables_a_user(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    email = f"off-{uuid.uuid4().hex[:8]}@example.com"
    admin_api.call(
        "POST",
        "/users",
        json={"email": email, "name": "Off Person", "password": "a-long-password-123"},
    )
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto("/#/admin/users")
    page.get_by_role("button", name=f"Disable {email}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("API keys are deleted")
    dialog.get_by_role("button", name="Disable user").click()
    expect(page.get_by_role("button", name=f"Enable {email}")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(re.escape(email)))).to_contain_text("Disabled")
    users = admin_api.call("GET", "/users", params={"limit": 100})["items"]
    assert next(u for u in users if u["email"] == email)["disabled"] is True
    # Disabled: the person cannot sign in.
    refused = requests.post(
        f"{stack.api_url}/auth/login",
        json={"email": email, "password": "a-long-password-123"},
        timeout=10,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_disabled"
    # The admin's own row offers no switch (an admin cannot disable themselves).
    expect(page.get_by_role("button", name=f"Disable {stack.admin_email}")).to_have_count(0)
    page.get_by_role("button", name=f"Enable {email}").click()
    expect(page.get_by_role("button", name=f"Disable {email}")).to_be_visible()
    users = admin_api.call("GET", "/users", params={"limit": 100})["items"]
    assert next(u for u in users if u["email"] == email)["disabled"] is False


def test_member_sees_no_admin_screen(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    member = admin_api.create_user()
    sign_in(page, member["email"], member["password"])
    expect(page.get_by_role("link", name="Users")).to_be_hidden()
    page.goto("/#/admin/users")
    expect(page.get_by_text("Only admins can manage users.")).to_be_visible()
    # Someone else's project is simply not there (404), not "forbidden".
    private = admin_api.create_project(name="Not yours")
    page.goto(f"/#/projects/{private['id']}")
    expect(page.get_by_role("heading", name="Project not found", level=1)).to_be_visible()
    page.goto("/#/projects")
    expect(page.get_by_role("link", name="Not yours")).to_have_count(0)


def test_live_feed_pause_and_resume(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    project = admin_api.create_project(name="Feed project")
    tap = SocketTap(page)
    sign_in(page, stack.admin_email, stack.admin_password)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    # Events of every project reach this page once its scope-all subscription is confirmed.
    wait_until(page, lambda: bool(tap.scope_replies()), "the scope-all subscription")
    feed = page.get_by_role("list", name="Latest events")
    admin_api.create_task(project["id"], title="Feed one")
    expect(feed).to_contain_text("Feed one")
    page.get_by_role("button", name="Pause feed").click()
    before = feed.locator("li").count()
    admin_api.create_task(project["id"], title="Feed two")
    expect(page.get_by_text("new event", exact=False)).to_be_visible()
    # Paused: the new task's events wait (the feed may already be full, so check by name).
    expect(feed).not_to_contain_text("Feed two")
    assert feed.locator("li").count() == before
    page.get_by_role("button", name="Resume feed").click()
    expect(feed).to_contain_text("Feed two")
    assert feed.locator("li").count() <= 25


@pytest.mark.parametrize("width", [1280, 1440])
def test_the_admin_header_is_one_row_on_a_laptop(page: Any, stack: Stack, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, stack.admin_email, stack.admin_password)

    def one_row() -> bool:
        first = page.get_by_role("link", name="Dashboard", exact=True).bounding_box()
        last = page.get_by_role("button", name="Sign out").bounding_box()
        assert first
        assert last
        # Same row: the two ends of the header are vertically centred on one line.
        return abs((first["y"] + first["height"] / 2) - (last["y"] + last["height"] / 2)) < 8

    assert one_row()
    # Its widest state, whatever other tests left behind: the longest connection state and the
    # largest review count the console shows (it caps the count at "99+").
    page.evaluate(
        """() => {
            document.querySelector("#conn-state .conn-text").textContent = "Reconnecting…";
            const count = document.getElementById("review-count");
            count.hidden = false;
            count.textContent = "99+";
        }"""
    )
    expect(page.locator("#review-count")).to_have_text("99+")
    assert one_row()
    # Shortened for room, the shortcuts button keeps its name.
    expect(page.get_by_role("button", name="Shortcuts")).to_be_visible()
