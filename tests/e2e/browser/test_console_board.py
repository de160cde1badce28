"""A board that scales: each column pages through its own list (never everything at once),
filters, search and sort are the server's, bulk cancel/delete by keyboard with a summary, and
a task deleted elsewhere leaves open boards and the dashboard's feed live."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ApiClient, Stack, open_tab, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

POEM = "Write a two-line poem about the sea, number {}"  # no LLM here: it waits for review


def _settle(api: ApiClient, task_ids: list[str], wanted: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 60
    pending = set(task_ids)
    while pending and time.monotonic() < deadline:
        for task_id in list(pending):
            if api.call("GET", f"/tasks/{task_id}")["status"] in wanted:
                pending.discard(task_id)
        time.sleep(0.1)
    assert not pending, f"tasks not settled in {wanted}: {pending}"


def _column(page: Any, status: str) -> Any:
    return page.locator(f'section.column[data-column="{status}"]')


def test_columns_page_filter_search_and_sort_on_the_server(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name="Busy board")
    pid = project["id"]
    poems = [
        admin_api.create_task(pid, title=f"Poem {i:02d}", instruction=POEM.format(i))["id"]
        for i in range(23)
    ]
    sums = [
        admin_api.create_task(pid, title=title, instruction=text, module="math.evaluate", input=e)[
            "id"
        ]
        for title, text, e in (
            ("Sum one", "add them", "1+1"),
            ("Sum two", "add these", "2+2"),
            ("Stripes", "count the zebra stripes", "3*3"),
        )
    ]
    _settle(admin_api, poems, ("needs_review",))
    _settle(admin_api, sums, ("completed",))
    lists: list[dict[str, list[str]]] = []

    def on_request(request: Any) -> None:
        url = urlparse(request.url)
        if request.method == "GET" and url.path.endswith("/api/tasks"):
            lists.append(parse_qs(url.query))

    page.on("request", on_request)
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{pid}")
    review = _column(page, "needs_review")
    expect(review.locator("a.card")).to_have_count(20)
    expect(review.locator(".count")).to_have_text("20+")
    # One list per column, a page at a time: never "load everything".
    assert lists
    assert all(q["status"][0] and q["limit"] == ["20"] for q in lists), lists
    assert {q["status"][0] for q in lists} == {
        "queued",
        "running",
        "needs_review",
        "completed",
        "failed",
        "canceled",
    }

    more = review.get_by_role("button", name="Load more needs review")
    more.focus()
    page.keyboard.press("Enter")
    expect(review.locator("a.card")).to_have_count(23)
    expect(review.get_by_role("button", name="Load more needs review")).to_have_count(0)
    # Focus lands on the first card of the new page.
    expect(review.locator("a.card").nth(20)).to_be_focused()
    assert any("cursor" in q for q in lists)

    # Text search (the server's): title or instruction, any case.
    filters = page.get_by_role("search", name="Filters")
    filters.get_by_label("Search", exact=True).fill("ZEBRA")
    completed = _column(page, "completed")
    expect(completed.locator("a.card")).to_have_count(1)
    expect(completed.locator("a.card")).to_contain_text("Stripes")
    expect(review.locator("a.card")).to_have_count(0)
    expect(page.locator(".board-panel p[role=status]")).to_contain_text("match “ZEBRA”")
    assert any(q.get("q") == ["ZEBRA"] for q in lists)

    page.get_by_role("button", name="Clear filters").click()
    filters.get_by_label("Module", exact=True).select_option("math.evaluate")
    expect(completed.locator("a.card")).to_have_count(3)
    expect(review.locator("a.card")).to_have_count(0)

    filters.get_by_label("Module", exact=True).select_option("")
    filters.get_by_label("Sort", exact=True).select_option("created-asc")
    expect(review.locator("a.card").first).to_contain_text("Poem 00")
    filters.get_by_label("Sort", exact=True).select_option("created-desc")
    expect(review.locator("a.card").first).to_contain_text("Poem 22")

    # Created dates: nothing was created tomorrow.
    tomorrow = page.evaluate(
        "() => { const d = new Date(); d.setDate(d.getDate() + 1);"
        " return d.toLocaleDateString('sv'); }"
    )
    filters.get_by_label("Created from", exact=True).fill(tomorrow)
    expect(page.locator("a.card")).to_have_count(0)
    assert any("createdFrom" in q for q in lists)


def test_bulk_cancel_and_delete_by_keyboard_with_a_summary(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name="Bulk board")
    pid = project["id"]
    poems = [
        admin_api.create_task(pid, title=f"Verse {i}", instruction=POEM.format(i))["id"]
        for i in range(3)
    ]
    done = admin_api.create_task(
        pid, title="Done sum", instruction="add", module="math.evaluate", input="1+2"
    )["id"]
    _settle(admin_api, poems, ("needs_review",))
    _settle(admin_api, [done], ("completed",))
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{pid}")
    expect(_column(page, "needs_review").locator("a.card")).to_have_count(3)

    toggle = page.get_by_role("button", name="Select tasks")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Done selecting")).to_have_attribute(
        "aria-pressed", "true"
    )
    for title in ("Verse 0", "Verse 1", "Done sum"):
        box = page.get_by_role("checkbox", name=f"Select {title}")
        box.focus()
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    expect(page.get_by_text("3 selected")).to_be_visible()

    page.get_by_role("button", name="Cancel selected").click()
    dialog = page.get_by_role("dialog", name="Cancel 3 tasks?")
    dialog.get_by_role("button", name="Cancel 3 tasks").click()
    summary = page.locator(".bulk-summary")
    expect(summary).to_have_text("2 canceled, 1 already finished.")
    expect(_column(page, "canceled").locator("a.card")).to_have_count(2)
    expect(_column(page, "needs_review").locator("a.card")).to_have_count(1)
    page.locator(".bulk-result summary").click()
    expect(page.locator(".bulk-result li")).to_contain_text("Done sum")
    # What was done leaves the selection; what was not stays selected.
    expect(page.get_by_text("1 selected")).to_be_visible()

    page.get_by_role("button", name="Clear selection").click()
    for title in ("Verse 0", "Verse 1"):
        page.get_by_role("checkbox", name=f"Select {title}").check()
    page.get_by_role("button", name="Delete selected").click()
    page.get_by_role("dialog", name="Delete 2 tasks?").get_by_role(
        "button", name="Delete 2 tasks"
    ).click()
    expect(summary).to_have_text("2 deleted.")
    expect(_column(page, "canceled").locator("a.card")).to_have_count(0)
    assert admin_api.http.get(f"{admin_api.api_url}/tasks/{poems[0]}").status_code == 404


def test_a_task_deleted_elsewhere_leaves_the_board_and_the_feed_live(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name="Shared board")
    task = admin_api.create_task(project["id"], title="Soon gone", instruction=POEM.format("gone"))
    keep = admin_api.create_task(project["id"], title="Stays", instruction=POEM.format("stays"))
    _settle(admin_api, [task["id"], keep["id"]], ("needs_review",))
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}")
    board_card = page.locator(f'a.card[data-task-id="{task["id"]}"]')
    expect(board_card).to_have_count(1)
    dashboard = open_tab(page)
    dashboard.goto("/#/dashboard")
    feed_link = dashboard.locator(f'.feed-task[href="#/tasks/{task["id"]}"]')
    expect(feed_link.first).to_be_visible()

    # Deleted by someone else (here: over the API, not this console).
    admin_api.call("DELETE", f"/tasks/{task['id']}")

    expect(board_card).to_have_count(0)
    expect(page.locator(f'a.card[data-task-id="{keep["id"]}"]')).to_have_count(1)
    expect(feed_link).to_have_count(0)
