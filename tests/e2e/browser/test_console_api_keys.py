"""The API keys screen (under the user menu), by keyboard only: create a key (shown once, with
a copy button and a clear warning), list it with created / expires / last used, revoke it after
a confirmation. The key works against the API while it exists and nowhere after; axe finds
nothing on the screen, the new key's panel or the confirmation, in any display mode."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ApiClient, Stack, screenshot, sign_in
from tests.e2e.browser.test_console_a11y import _check_modes, _settled, _tab_to

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

KEY = re.compile(r"^aion_[a-z2-7]{12}_[a-z2-7]{52}$")


def _me_with(stack: Stack, key: str) -> int:
    return requests.get(
        f"{stack.api_url}/me", headers={"Authorization": f"Bearer {key}"}, timeout=15
    ).status_code


def test_create_copy_list_and_revoke_a_key_by_keyboard(
    new_page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    member = admin_api.create_user()
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, member["email"], member["password"])
    _settled(page)

    # The user menu's link, reached with Tab.
    _tab_to(page, lambda i: i["tag"] == "A" and i["label"] == "API keys")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="API keys", level=1).wait_for()
    _settled(page)
    expect(page.get_by_role("link", name="API keys")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("You have no API keys yet.")).to_be_visible()

    # An empty name is explained, not sent.
    _tab_to(page, lambda i: i["tag"] == "BUTTON" and i["label"] == "Create key")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Give the key a name")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.type("Nightly report")
    _tab_to(page, lambda i: i["tag"] == "SELECT")
    page.keyboard.press("ArrowDown")  # In 30 days
    _tab_to(page, lambda i: i["tag"] == "BUTTON" and i["label"] == "Create key")
    page.keyboard.press("Enter")

    # Shown once: focus on the new key's heading, the warning, the key, a copy button.
    heading = page.get_by_role("heading", name="Your new key “Nightly report”")
    expect(heading).to_be_focused()
    expect(page.locator(".key-reveal")).to_contain_text("you will not see it again")
    key = page.get_by_label("API key").input_value()
    assert KEY.match(key), key
    expect(page.locator("#announcer")).to_contain_text("Copy it now")
    _tab_to(page, lambda i: i["tag"] == "BUTTON" and i["label"] == "Copy key")
    page.keyboard.press("Enter")
    expect(page.locator(".key-reveal [role=status]")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    screenshot(page, "api-keys-created")

    # Listed without its secret: name, prefix, expiry, never used yet.
    row = page.locator("tbody tr").filter(has_text="Nightly report")
    expect(row).to_contain_text(key[:17] + "_…")
    expect(row.locator("td").nth(4)).to_have_text("Never")
    expect(row.locator("td").nth(3)).not_to_have_text("Never")
    assert key.rsplit("_", 1)[1] not in row.inner_text()

    # Done: the key leaves the page, focus goes to the list.
    _tab_to(page, lambda i: i["tag"] == "BUTTON" and i["label"] == "Done")
    page.keyboard.press("Enter")
    expect(page.locator(".key-reveal")).to_have_count(0)
    expect(page.get_by_role("heading", name="Your keys")).to_be_focused()
    assert key not in page.content()

    # It works, and the list says when it was last used.
    assert _me_with(stack, key) == 200
    page.reload()
    page.get_by_role("heading", name="API keys", level=1).wait_for()
    _settled(page)
    expect(row.locator("td").nth(4)).not_to_have_text("Never")
    assert key not in page.content()

    # Revoke, confirmed in a dialog whose safe choice has the focus.
    _tab_to(page, lambda i: i["tag"] == "BUTTON" and i["label"] == "Revoke")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Revoke “Nightly report”?")
    expect(dialog).to_contain_text("stops working at once")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Revoke key")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("You have no API keys yet.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your keys")).to_be_focused()
    assert _me_with(stack, key) == 401


def test_the_api_keys_screen_has_no_axe_violations(
    new_page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    member = admin_api.create_user()
    page = new_page()
    sign_in(page, member["email"], member["password"])
    page.goto("/#/account/api-keys")
    page.get_by_role("heading", name="API keys", level=1).wait_for()
    _settled(page)
    found = _check_modes(page, "api-keys-empty")

    page.get_by_label("Name", exact=True).fill("Axe key")
    page.get_by_role("button", name="Create key").click()
    page.locator(".key-reveal").wait_for()
    page.locator("tbody tr").first.wait_for()
    found |= _check_modes(page, "api-keys-created")

    page.get_by_role("button", name="Revoke Axe key").click()
    page.get_by_role("dialog").wait_for()
    found |= _check_modes(page, "dialog-revoke-key")
    page.keyboard.press("Escape")

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="API keys")).to_be_visible()
    found |= _check_modes(page, "mobile-api-keys-menu")
    assert not found, found
