"""The console as a newcomer sees it: a demo project with finished tasks, at 1440x900 and
390x844. The screenshots (test-artifacts/console-showcase-*.png) are the ones in
docs/screenshots/; the checks are what those pictures are meant to show."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ARTIFACTS, ApiClient, Stack, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CSV = (
    "city,population,area_km2,founded\n"
    "Lisbon,545923,100.05,1147\n"
    "Porto,231800,41.42,868\n"
    "Braga,193333,183.4,1112\n"
    "Coimbra,140796,319.4,1111\n"
    "Faro,64560,202.57,1540\n"
)
TEXT = (
    "AION routes every task to the right runner. Deterministic modules run on the executor. "
    "Open questions go to a language model, and a person reviews the rest. Results stream live."
)


def _wait_finished(api: ApiClient, task_id: str, deadline_s: float = 30.0) -> dict[str, Any]:
    end = time.monotonic() + deadline_s
    while True:
        task = api.call("GET", f"/tasks/{task_id}")
        if task["status"] not in ("queued", "running") or time.monotonic() > end:
            return task
        time.sleep(0.1)


def demo_project(api: ApiClient) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    project = api.create_project(name="Newcomer demo")
    specs = {
        "stats": {"title": "Count the words of the intro", "input": TEXT, "module": "text.stats"},
        "csv": {"title": "Profile the cities table", "input": CSV, "module": "data.csv_profile"},
        "math": {"title": "What is 2 + 3 * 4?", "instruction": "What is 2 + 3 * 4?"},
        "hash": {"title": "Hash the intro", "input": TEXT, "module": "crypto.hash"},
        "review": {"title": "Write a haiku about queues", "module": "llm.generate"},
    }
    tasks = {k: api.create_task(project["id"], **v) for k, v in specs.items()}
    return project, {k: _wait_finished(api, t["id"]) for k, t in tasks.items()}


def test_showcase_screens(new_page: Any, stack: Stack, admin_api: ApiClient) -> None:
    project, tasks = demo_project(admin_api)
    page = new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, stack.admin_email, stack.admin_password)
    feed = page.get_by_role("list", name="Latest events")
    expect(feed).to_contain_text("Newcomer demo · Profile the cities table: Completed in")
    page.wait_for_load_state("networkidle")
    screenshot(page, "showcase-dashboard")

    page.goto(f"/#/projects/{project['id']}")
    page.get_by_role("heading", name="Newcomer demo", level=1).wait_for()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".board .column")).to_have_count(6)
    tops = page.locator(".board .column").evaluate_all(
        "cs => cs.map(c => Math.round(c.getBoundingClientRect().top))"
    )
    assert len(tops) == 6, tops
    assert len(set(tops)) == 1, tops  # six columns in one row
    screenshot(page, "showcase-board")

    # The board at work: a filter in use, selection mode, a bulk action's summary.
    filters = page.get_by_role("search", name="Filters")
    filters.get_by_label("Sort", exact=True).select_option("duration-desc")
    expect(page.locator(".sort-note").first).to_be_visible()
    page.get_by_role("button", name="Select tasks").click()
    for title in ("Write a haiku about queues", "Hash the intro"):
        page.get_by_role("checkbox", name=f"Select {title}").check()
    page.get_by_role("button", name="Cancel selected").click()
    page.get_by_role("dialog", name="Cancel 2 tasks?").get_by_role(
        "button", name="Cancel 2 tasks"
    ).click()
    expect(page.locator(".bulk-summary")).to_have_text("1 canceled, 1 already finished.")
    expect(page.locator('.column[data-column="canceled"] a.card')).to_have_count(1)
    page.wait_for_load_state("networkidle")
    screenshot(page, "showcase-board-bulk")

    page.goto(f"/#/tasks/{tasks['csv']['id']}")
    page.get_by_role("heading", name="Profile the cities table", level=1).wait_for()
    page.wait_for_load_state("networkidle")
    wrap = page.locator("#task-result .table-wrap")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth")  # Mean is not clipped
    screenshot(page, "showcase-task")

    mobile = new_page()
    mobile.set_viewport_size({"width": 390, "height": 844})
    sign_in(mobile, stack.admin_email, stack.admin_password)
    mobile.goto(f"/#/projects/{project['id']}")
    mobile.get_by_role("heading", name="Newcomer demo", level=1).wait_for()
    mobile.wait_for_load_state("networkidle")
    assert mobile.locator("#topbar").bounding_box()["height"] <= 64
    assert mobile.locator(".card").first.bounding_box()["y"] < 844 / 2
    screenshot(mobile, "showcase-mobile-page")
    mobile.screenshot(path=str(ARTIFACTS / "console-showcase-mobile.png"))  # what fits on screen
