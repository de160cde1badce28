"""Keyboard shortcuts: a "?" overlay lists them, "n" starts a new task, "/" searches, "g" then
a letter goes to a screen; they stay quiet while typing, can be turned off, and a "go to"
shortcut appears only once its screen exists (app.js routes it)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ApiClient, Stack, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _settle(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.locator("body").click(position={"x": 5, "y": 400})  # focus on the page, not a field


def test_overlay_and_shortcuts(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    name = f"Shortcut project {uuid.uuid4().hex[:6]}"
    project = admin_api.create_project(name=name)
    sign_in(page, stack.admin_email, stack.admin_password)
    _settle(page)

    page.keyboard.press("?")
    overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(overlay).to_be_visible()
    rows = overlay.get_by_role("row")
    expect(overlay).to_contain_text("New task")
    expect(overlay).to_contain_text("Go to the dashboard")
    # The Reviews screen exists, so its shortcut is offered.
    expect(overlay).to_contain_text("Go to reviews")
    assert rows.count() >= 6
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()

    # The same overlay from the header, for people who do not use a keyboard.
    page.get_by_role("button", name="Shortcuts").click()
    expect(overlay).to_be_visible()
    overlay.get_by_role("button", name="Close").click()
    expect(overlay).to_be_hidden()

    # g p: projects; then to the board; n: the new-task instruction; /: the search.
    page.keyboard.press("g")
    page.keyboard.press("p")
    page.get_by_role("heading", name="Projects", level=1).wait_for()
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", name=name, level=1).wait_for()
    _settle(page)
    page.keyboard.press("n")
    expect(page.get_by_label("Instruction")).to_be_focused()
    page.keyboard.type("g d stays text while typing")
    expect(page.get_by_label("Instruction")).to_have_value("g d stays text while typing")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    _settle(page)
    page.keyboard.press("/")
    expect(page.get_by_label("Search")).to_be_focused()

    # From the dashboard, n and g b come back to the last board.
    _settle(page)
    page.keyboard.press("g")
    page.keyboard.press("d")
    page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    _settle(page)
    page.keyboard.press("n")
    page.get_by_role("heading", name=name, level=1).wait_for()
    expect(page.get_by_label("Instruction")).to_be_focused()
    assert project["id"] in page.url

    # Turned off: single keys do nothing (and the setting sticks).
    _settle(page)
    page.keyboard.press("?")
    overlay.get_by_label("Single-key shortcuts on").uncheck()
    overlay.get_by_role("button", name="Close").click()
    _settle(page)
    # What the keys did, seen after every handler of the document (a shortcut prevents the
    # default and navigates at once, in its keydown handler).
    page.evaluate(
        """() => { window.__keys = [];
            window.addEventListener('keydown',
              e => window.__keys.push([e.key, e.defaultPrevented])); }"""
    )
    page.keyboard.press("g")
    page.keyboard.press("d")
    assert page.evaluate("() => window.__keys") == [["g", False], ["d", False]]
    assert page.evaluate("() => location.hash") == f"#/projects/{project['id']}"
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('aion-shortcuts')") == "off"


def test_reviews_shortcut_is_one_route_away(page: Any, stack: Stack) -> None:
    """The shortcut table has "g r" for /reviews; the overlay offers what app.js can route."""
    page.goto("/#/signin")
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    shortcuts = page.evaluate(
        """async () => (await import('./js/shortcuts.js')).SHORTCUTS
              .map(s => ({keys: s.keys.join(' '), path: s.path || null}))"""
    )
    assert {"keys": "g r", "path": "/reviews"} in shortcuts
    assert {"keys": "g d", "path": "/dashboard"} in shortcuts
