"""Accessibility of every screen: axe-core in four display modes, keyboard-only use, focus
never hidden, themes without a flash, status not by colour alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ApiClient, Stack, run_axe, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FOCUS_INFO_JS = (Path(__file__).parent / "js" / "focus_info.js").read_text()


def _modes() -> dict[str, dict[str, str]]:
    """Each theme plain, with reduced motion, with more contrast, and with forced colours."""
    plain = {
        "reduced_motion": "no-preference",
        "contrast": "no-preference",
        "forced_colors": "none",
    }
    modes: dict[str, dict[str, str]] = {}
    for theme in ("light", "dark"):
        modes[theme] = {"color_scheme": theme, **plain}
        modes[f"{theme}-reduced-motion"] = {**modes[theme], "reduced_motion": "reduce"}
        modes[f"{theme}-more-contrast"] = {**modes[theme], "contrast": "more"}
        modes[f"{theme}-forced-colors"] = {**modes[theme], "forced_colors": "active"}
    return modes


MODES = _modes()


# The media feature each emulate_media option sets.
MEDIA_FEATURES = {
    "color_scheme": "prefers-color-scheme",
    "reduced_motion": "prefers-reduced-motion",
    "contrast": "prefers-contrast",
    "forced_colors": "forced-colors",
}
# After the next rendering update the browser has evaluated its media queries and run the
# listeners of those that changed (theme.js follows the system's scheme).
NEXT_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _media_applied(page: Any, media: dict[str, str]) -> None:
    for option, value in media.items():
        query = f"({MEDIA_FEATURES[option]}: {value})"
        assert page.evaluate("q => matchMedia(q).matches", query), query
    page.evaluate(NEXT_FRAMES)


def _check_modes(page: Any, screen: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for mode, media in MODES.items():
        page.emulate_media(**media)
        _media_applied(page, media)
        violations = run_axe(page)
        if violations:
            found[f"{screen}/{mode}"] = violations
        if mode in ("light", "dark"):
            screenshot(page, f"{screen}-{mode}")
    page.emulate_media(
        color_scheme="light",
        reduced_motion="no-preference",
        contrast="no-preference",
        forced_colors="none",
    )
    return found


def test_axe_zero_violations_on_every_screen_in_every_mode(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name="Axe project")
    task = admin_api.create_task(
        project["id"], title="Axe task", input="a,b\n1,2\n", module="data.csv_profile"
    )
    found: dict[str, list[dict[str, Any]]] = {}

    page.goto("/#/signin")
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    found |= _check_modes(page, "signin")

    sign_in(page, stack.admin_email, stack.admin_password)
    page.locator(".health-list li").first.wait_for()
    found |= _check_modes(page, "dashboard")

    screens = [
        ("/#/projects", "Projects", "projects"),
        (f"/#/projects/{project['id']}", project["name"], "board"),
        (
            f"/#/projects/{project['id']}/settings",
            f"Settings: {project['name']}",
            "project-settings",
        ),
        (f"/#/tasks/{task['id']}", task["title"], "task"),
        ("/#/admin/users", "Users", "admin-users"),
        ("/#/reviews", "Reviews", "reviews"),
    ]
    for path, heading, screen in screens:
        page.goto(path)
        page.get_by_role("heading", name=heading, level=1).wait_for()
        page.wait_for_load_state("networkidle")
        found |= _check_modes(page, screen)

    # The board with its filters in use, in selection mode, then the bulk confirmation.
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_role("heading", name=project["name"], level=1).wait_for()
    filters = page.get_by_role("search", name="Filters")
    filters.get_by_label("Search", exact=True).fill("Axe")
    filters.get_by_label("Module", exact=True).select_option("data.csv_profile")
    page.get_by_role("button", name="Select tasks").click()
    page.get_by_role("checkbox", name="Select Axe task").check()
    expect(page.get_by_text("1 selected")).to_be_visible()
    page.wait_for_load_state("networkidle")
    found |= _check_modes(page, "board-filters-selection")
    page.get_by_role("button", name="Delete selected").click()
    page.get_by_role("dialog", name="Delete 1 task?").wait_for()
    found |= _check_modes(page, "dialog-bulk-delete")
    page.keyboard.press("Escape")

    # The dialogs: edit a task, confirm deleting a project, the shortcuts overlay.
    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name=task["title"], level=1).wait_for()
    expect(page.locator("#task-result table")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Edit", exact=True).click()
    page.get_by_role("dialog", name="Edit task").wait_for()
    found |= _check_modes(page, "dialog-edit-task")
    page.keyboard.press("Escape")
    page.goto(f"/#/projects/{project['id']}/settings")
    page.get_by_role("button", name="Delete project").click()
    page.get_by_role("dialog").wait_for()
    found |= _check_modes(page, "dialog-delete-project")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Shortcuts").click()
    page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    found |= _check_modes(page, "dialog-shortcuts")
    page.keyboard.press("Escape")

    # A phone: the board with the header's menu open.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_role("heading", name=project["name"], level=1).wait_for()
    page.get_by_role("button", name="Menu").click()
    found |= _check_modes(page, "mobile-board-menu")

    assert not found, found


def _focus_info(page: Any) -> dict[str, Any]:
    return page.evaluate(FOCUS_INFO_JS)


def _tab_to(page: Any, predicate: Any, limit: int = 80, key: str = "Tab") -> dict[str, Any]:
    """Tab until predicate(focus info) holds, checking at every stop that focus is visible and
    not hidden under the sticky header."""
    for _ in range(limit):
        page.keyboard.press(key)
        info = _focus_info(page)
        # A heading the console focused after navigation (tabindex=-1) is no Tab stop.
        if info["tag"] != "BODY" and not info["programmatic"]:
            assert info["outline"], f"no visible focus indicator on {info}"
            assert info["onTop"], f"focused control hidden under something: {info}"
            assert info["top"] >= 0, f"focus above the viewport: {info}"
            assert info["bottom"] <= info["viewport"] + 1, f"focus below the viewport: {info}"
        if predicate(info):
            return info
    raise AssertionError("never reached the wanted control by Tab")


def _settled(page: Any) -> None:
    """Wait until the screen has loaded, as a keyboard user would before tabbing on."""
    page.wait_for_load_state("networkidle")
    expect(page.locator("main [aria-busy=true]")).to_have_count(0)


def test_keyboard_only_sign_in_and_create_task(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name="Keyboard project")
    page.set_viewport_size({"width": 1000, "height": 600})  # small: the page must scroll
    page.goto("/#/signin")
    page.get_by_role("heading", name="Sign in to AION").wait_for()

    first = _tab_to(page, lambda i: True)
    assert first["label"] == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.textContent") == "Sign in to AION"
    assert page.url.endswith("#/signin")
    _tab_to(page, lambda i: i["name"] == "email")
    page.keyboard.type(stack.admin_email)
    _tab_to(page, lambda i: i["name"] == "password")
    page.keyboard.type(stack.admin_password)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Dashboard", level=1).wait_for()
    _settled(page)

    _tab_to(page, lambda i: i["tag"] == "A" and i["label"] == "Projects")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Projects", level=1).wait_for()
    _settled(page)
    # Earlier tests on this stack may have made many projects: tab through all of them.
    _tab_to(page, lambda i: i["tag"] == "A" and i["label"] == project["name"], limit=600)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=project["name"], level=1).wait_for()
    _settled(page)

    _tab_to(page, lambda i: i["name"] == "instruction")
    page.keyboard.type("Count the words in this text")
    _tab_to(page, lambda i: i["name"] == "input")
    page.keyboard.type("keyboard only works")
    _tab_to(page, lambda i: i["tag"] == "BUTTON" and i["label"] == "Create task")
    # Backwards the page scrolls up under the sticky header: focus must stay clear of it.
    _tab_to(page, lambda i: i["tag"] == "SELECT" and i["label"] == "Status", key="Shift+Tab")
    _tab_to(page, lambda i: i["tag"] == "BUTTON" and i["label"] == "Create task")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Count the words in this text", level=1).wait_for()
    expect(page.locator("#timeline li").first).to_contain_text("queued")


def test_theme_switch_is_three_way_announced_and_persists_without_flash(page: Any) -> None:
    """System / light / dark: the control shows what is on (a checked radio), says so to screen
    readers, persists an explicit choice, and "System" goes back to following the system."""
    page.emulate_media(color_scheme="light")
    page.goto("/#/signin")
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    group = page.get_by_role("group", name="Theme")
    system = group.get_by_role("radio", name="System", exact=True)
    light = group.get_by_role("radio", name="Light", exact=True)
    dark = group.get_by_role("radio", name="Dark", exact=True)
    expect(system).to_be_checked()
    expect(system).to_have_accessible_description("(light now)")
    light_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")

    dark.check()
    expect(dark).to_be_checked()
    expect(system).not_to_be_checked()
    expect(page.locator("#announcer")).to_have_text("Theme: dark")
    dark_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert dark_bg != light_bg

    # On reload the stored theme is on <html> before any stylesheet or module runs.
    seen: list[Any] = []
    page.on(
        "domcontentloaded",
        lambda: seen.append(page.evaluate("() => document.documentElement.dataset.theme")),
    )
    page.reload()
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    assert seen == ["dark"]
    order = page.evaluate(
        """() => [...document.head.children]
              .filter(e => e.matches('script[src], link[rel=stylesheet]'))
              .map(e => e.getAttribute('src') || e.getAttribute('href'))"""
    )
    assert order.index("theme-init.js") < order.index("tokens.css")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == dark_bg
    expect(dark).to_be_checked()

    page.emulate_media(color_scheme="dark")
    light.check()  # an explicit light beats a dark system
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == light_bg

    # Back to following the system: nothing stored, the system's dark applies, and follows it.
    system.check()
    expect(page.locator("#announcer")).to_have_text("Theme follows the system (dark now)")
    assert page.evaluate("() => localStorage.getItem('aion-theme')") is None
    assert page.evaluate("() => document.documentElement.dataset.theme") is None
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == dark_bg
    page.emulate_media(color_scheme="light")
    expect(system).to_have_accessible_description("(light now)")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == light_bg


def test_reduced_motion_stops_transitions(page: Any) -> None:
    page.goto("/#/signin")
    button = page.get_by_role("button", name="Sign in")

    def duration() -> float:
        value = button.evaluate("el => getComputedStyle(el).transitionDuration")
        return max(float(v.strip().rstrip("s")) for v in value.split(","))

    assert duration() > 0.05
    page.emulate_media(reduced_motion="reduce")
    assert duration() < 0.001


# The opaque panel and the strong border of each theme (tokens.css).
OPAQUE = {
    "light": ("rgb(255, 255, 255)", "rgb(58, 45, 107)"),
    "dark": ("rgb(22, 19, 42)", "rgb(196, 178, 255)"),
}


@pytest.mark.parametrize("preference", ["more-contrast", "reduced-transparency"])
@pytest.mark.parametrize("theme", ["light", "dark", "dark-chosen", "light-chosen"])
def test_opaque_panels_and_strong_borders_in_every_theme(
    page: Any, theme: str, preference: str
) -> None:
    """ "dark": the system's; "dark-chosen": picked in the console over a light system (the
    selector that used to win over the preference); likewise "light-chosen"."""
    base = theme.removesuffix("-chosen")
    system = base if theme == base else ("light" if base == "dark" else "dark")
    page.emulate_media(color_scheme=system)
    page.goto("/#/signin")
    panel = page.locator("form.signin")
    panel.wait_for()
    if theme != base:
        page.get_by_role("radio", name=base.capitalize(), exact=True).check()

    def look() -> tuple[str, str, str]:
        return panel.evaluate(
            """el => { const cs = getComputedStyle(el);
                return [cs.backgroundColor, cs.borderTopColor, cs.backdropFilter]; }"""
        )

    background, border, _ = look()
    assert background.startswith("rgba("), background  # translucent glass by default
    assert border.startswith("rgba("), border
    if preference == "more-contrast":
        page.emulate_media(contrast="more")
    else:
        # Playwright has no option for prefers-reduced-transparency; Chromium's CDP emulates it.
        cdp = page.context.new_cdp_session(page)
        cdp.send(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-reduced-transparency", "value": "reduce"}]},
        )
    if preference == "reduced-transparency":
        assert page.evaluate("matchMedia('(prefers-reduced-transparency: reduce)').matches")
    else:
        assert page.evaluate("matchMedia('(prefers-contrast: more)').matches")
    page.evaluate(NEXT_FRAMES)
    background, border, blur = look()
    assert (background, border) == OPAQUE[base], (theme, preference, background, border)
    assert blur in ("none", "blur(0px) saturate(1.4)")


def test_status_is_told_by_text_and_glyph_not_colour(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project()
    admin_api.create_task(project["id"], title="Badge task")
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}")
    badge = page.locator('[data-column="queued"] h3 .badge')
    expect(badge).to_have_text("◷queued")


def test_live_region_is_polite_and_throttled(page: Any) -> None:
    page.clock.install()
    page.goto("/#/signin")
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    region = page.locator("#announcer")
    expect(region).to_have_attribute("aria-live", "polite")
    page.evaluate(
        """async () => {
            const { Announcer } = await import('./js/announce.js');
            window.__announcer = new Announcer(document.getElementById('announcer'));
            window.__announcer.say('Task queued');
        }"""
    )
    page.clock.run_for(100)
    expect(region).to_have_text("Task queued")
    page.evaluate(
        """() => ['Task running', 'Progress 50%', 'Task completed']
              .forEach(m => window.__announcer.say(m))"""
    )
    page.clock.run_for(1000)  # still inside the 2.5 s window: nothing new yet
    expect(region).to_have_text("Task queued")
    page.clock.run_for(2000)
    expect(region).to_have_text("3 updates. Latest: Task completed")
