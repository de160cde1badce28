"""The Reviews inbox: tasks that wait for a person, with why they wait and what to do; a task
someone acts on leaves the inbox of everyone who looks at it (a second browser context, another
person, sees it go without reloading); the nav count follows; the task page offers the same
panel; every screen of it is axe-clean and keyboard-usable.

No LLM is configured in the dev stack, so an open-ended request (a haiku) waits for a person.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ApiClient, Stack, run_axe, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HAIKU = "Write a haiku about autumn"
SUMMARY = "Give me the gist of this report in two sentences."
REPORT = (
    "Revenue grew by twelve percent in the third quarter. Costs stayed flat. "
    "The board approved the new plan. Hiring resumes in January."
)


def _waiting(api: ApiClient, project_id: str, instruction: str, **fields: Any) -> dict[str, Any]:
    task = api.create_task(project_id, instruction=instruction, title=instruction, **fields)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = api.call("GET", f"/tasks/{task['id']}")
        if now["status"] == "needs_review":
            return now
        assert now["status"] in ("queued", "running"), now
        time.sleep(0.2)
    raise AssertionError(f"{instruction!r} never waited for review")


def _team(admin_api: ApiClient, stack: Stack) -> tuple[dict, dict, dict, ApiClient]:
    """Two members of a fresh project (their inboxes hold only its tasks)."""
    ana, ben = admin_api.create_user(), admin_api.create_user()
    project = admin_api.create_project(member_ids=(ana["id"], ben["id"]))
    return ana, ben, project, ApiClient(stack.api_url, ana["email"], ana["password"])


def _item(page: Any, title: str) -> Any:
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=title))


def _nav(page: Any) -> Any:
    return page.get_by_role("link", name="Reviews")


def test_acting_on_an_item_removes_it_live_for_everyone(
    new_page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    ana, ben, project, ana_api = _team(admin_api, stack)
    haiku = _waiting(ana_api, project["id"], HAIKU)
    summary = _waiting(ana_api, project["id"], SUMMARY)

    mine, theirs = new_page(), new_page()  # two people, two browser contexts
    sign_in(mine, ana["email"], ana["password"])
    sign_in(theirs, ben["email"], ben["password"])
    for page in (mine, theirs):
        expect(_nav(page)).to_have_text("Reviews, 2 waiting")
        page.keyboard.press("g")
        page.keyboard.press("r")  # the "go to reviews" shortcut
        page.get_by_role("heading", name="Reviews", level=1).wait_for()
        expect(page.locator(".review-item")).to_have_count(2)

    item = _item(mine, HAIKU)
    expect(item).to_contain_text("Why it waits: Route unavailable.")
    expect(item).to_contain_text("The executor or the LLM is down or not configured.")
    expect(item).to_contain_text("llm.generate")
    expect(_item(mine, SUMMARY)).to_contain_text("The task has none of the data the module needs.")
    screenshot(mine, "reviews-inbox")

    # Answer the haiku from the keyboard alone: "Answer it" is already chosen for it.
    expect(item.get_by_role("radio", name="Answer it")).to_be_checked()
    answer = item.get_by_role("textbox", name="Your answer")
    answer.focus()
    mine.keyboard.type("Crisp leaves underfoot\nthe maple lets go of red\nwind carries the rest")
    mine.keyboard.press("Tab")
    expect(item.get_by_role("button", name="Complete with this answer")).to_be_focused()
    mine.keyboard.press("Enter")

    expect(_item(mine, HAIKU)).to_have_count(0)
    # The keyboard keeps its place: focus moves on to the next waiting task.
    expect(_item(mine, SUMMARY).get_by_role("link", name=SUMMARY)).to_be_focused()
    expect(_item(theirs, HAIKU)).to_have_count(0)  # gone for the other person too, live
    for page in (mine, theirs):
        expect(_nav(page)).to_have_text("Reviews, 1 waiting")
    done = ana_api.call("GET", f"/tasks/{haiku['id']}")
    assert done["status"] == "completed"
    assert done["result"].startswith("Crisp leaves underfoot\n")
    assert done["route"]["decidedBy"] == "person"

    # The other person gives the summary its input; it leaves both inboxes and then runs.
    other = _item(theirs, SUMMARY)
    expect(other.get_by_role("radio", name="Give it input")).to_be_checked()
    other.get_by_role("textbox", name="Paste the input").fill(REPORT)
    other.get_by_role("button", name="Give the input and route again").click()
    expect(_item(theirs, SUMMARY)).to_have_count(0)
    expect(_item(mine, SUMMARY)).to_have_count(0)
    for page in (mine, theirs):
        expect(page.get_by_text("Nothing waits for review.")).to_be_visible()
        expect(page.locator("#review-count")).to_be_hidden()
    deadline = time.monotonic() + 60
    while ana_api.call("GET", f"/tasks/{summary['id']}")["status"] != "completed":
        assert time.monotonic() < deadline, "the summary never completed"
        time.sleep(0.2)


def test_a_new_waiting_task_joins_the_inbox_and_a_bad_answer_is_explained(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    ana, _ben, project, ana_api = _team(admin_api, stack)
    sign_in(page, ana["email"], ana["password"])
    page.goto("/#/reviews")
    expect(page.get_by_text("Nothing waits for review.")).to_be_visible()
    _waiting(ana_api, project["id"], HAIKU)
    item = _item(page, HAIKU)
    expect(item).to_be_visible()  # no reload: it joined when it started waiting
    expect(_nav(page)).to_have_text("Reviews, 1 waiting")

    # A waiting task that someone deletes leaves the inbox and the count, and the console says
    # why (a deletion has no event in the task's log: the task message carries it).
    doomed = _waiting(ana_api, project["id"], SUMMARY)
    expect(_item(page, SUMMARY)).to_be_visible()
    expect(_nav(page)).to_have_text("Reviews, 2 waiting")
    ana_api.call("DELETE", f"/tasks/{doomed['id']}")
    expect(_item(page, SUMMARY)).to_have_count(0)
    expect(_nav(page)).to_have_text("Reviews, 1 waiting")
    expect(page.locator("#announcer")).to_contain_text(f"“{SUMMARY}” no longer waits: it was")

    item.get_by_role("radio", name="JSON").check()
    item.get_by_role("textbox", name="Your answer").fill("{not json")
    item.get_by_role("button", name="Complete with this answer").click()
    alert = item.get_by_role("alert")
    expect(alert).to_contain_text("This is not valid JSON")
    expect(item.get_by_role("textbox", name="Your answer")).to_be_focused()
    expect(item.get_by_role("textbox", name="Your answer")).to_have_attribute(
        "aria-invalid", "true"
    )

    # Run with a module: the params form comes from the module's JSON Schema.
    item.get_by_role("radio", name="Run with a module").check()
    module = item.get_by_role("combobox", name="Module")
    module.select_option("crypto.hash")
    algorithm = item.get_by_role("combobox", name="Algorithm")
    expect(algorithm.locator("option")).to_contain_text(["Default", "sha256", "sha1"])
    module.select_option("text.summarize")
    sentences = item.get_by_role("spinbutton", name="Sentences")
    expect(sentences).to_have_attribute("min", "1")
    expect(sentences).to_have_attribute("max", "50")
    sentences.fill("0")
    item.get_by_role("button", name="Run it").click()
    expect(item.get_by_role("alert")).to_contain_text("Sentences must be at least 1.")
    sentences.fill("2")
    item.get_by_role("button", name="Run it").click()
    # The router would send it straight back (a summary needs text): the server says so.
    expect(item.get_by_role("alert")).to_contain_text("would wait for review again")
    item.get_by_role("textbox", name="Replace the input (optional)").fill(REPORT)
    item.get_by_role("button", name="Run it").click()
    expect(_item(page, HAIKU)).to_have_count(0)


def test_the_task_page_offers_the_panel_and_every_screen_is_axe_clean(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    ana, _ben, project, ana_api = _team(admin_api, stack)
    task = _waiting(ana_api, project["id"], HAIKU)
    # Several items, two with the same title: nothing in them may repeat a landmark's name.
    _waiting(ana_api, project["id"], HAIKU)
    _waiting(ana_api, project["id"], SUMMARY)
    sign_in(page, ana["email"], ana["password"])
    found: dict[str, Any] = {}
    page.goto("/#/reviews")
    expect(page.locator(".review-item")).to_have_count(3)
    for mode in ("light", "dark"):
        for forced in ("none", "active"):
            page.emulate_media(color_scheme=mode, forced_colors=forced)
            page.wait_for_timeout(50)
            if violations := run_axe(page):
                found[f"reviews/{mode}/{forced}"] = violations

    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name=HAIKU, level=1).wait_for()
    review = page.get_by_role("region", name="Waiting for you: review")
    expect(review).to_contain_text("Why it waits: Route unavailable.")
    expect(page.get_by_role("button", name="Route again")).to_be_visible()
    review.get_by_role("radio", name="Reject it").check()
    for mode in ("light", "dark"):
        page.emulate_media(color_scheme=mode, forced_colors="none")
        page.wait_for_timeout(50)
        if violations := run_axe(page):
            found[f"task-review/{mode}"] = violations
    page.emulate_media(color_scheme="light", forced_colors="none")
    assert not found, found

    # Routing again changes nothing (no LLM): the console says why instead of looping.
    page.get_by_role("button", name="Route again").click()
    expect(page.get_by_role("alert")).to_contain_text("would wait for review again")
    review.get_by_role("textbox", name="Why").fill("Poetry is not our job.")
    review.get_by_role("button", name="Reject the task").click()
    expect(review).to_be_hidden()
    expect(page.locator(".task-facts .badge")).to_have_text("✕failed")
    expect(page.locator("#task-result")).to_contain_text("rejected: Poetry is not our job.")
    expect(page.locator("#timeline")).to_contain_text("reviewed")


def test_a_file_uploaded_from_the_panel_is_the_input_the_task_runs_on(
    page: Any, stack: Stack, admin_api: ApiClient, tmp_path: Any
) -> None:
    """ "What's the SHA-1 of the uploaded document?" with nothing uploaded waits (the intent is
    crypto.hash, sha1; the data is missing). A person uploads the document from the inbox: the
    task is routed again and hashes those bytes."""
    ana, _ben, project, ana_api = _team(admin_api, stack)
    question = "What's the SHA-1 of the uploaded document?"
    task = _waiting(ana_api, project["id"], question)
    assert (task["route"]["module"], task["route"]["reasonCode"]) == (
        "crypto.hash",
        "input_missing",
    )
    content = b"quarterly figures\n" * 2000
    upload = tmp_path / "figures.txt"
    upload.write_bytes(content)

    sign_in(page, ana["email"], ana["password"])
    page.goto("/#/reviews")
    item = _item(page, question)
    expect(item.get_by_role("radio", name="Give it input")).to_be_checked()
    item.get_by_label("Or upload a file").set_input_files(str(upload))
    item.get_by_role("button", name="Give the input and route again").click()
    expect(_item(page, question)).to_have_count(0)

    deadline = time.monotonic() + 60
    while (done := ana_api.call("GET", f"/tasks/{task['id']}"))["status"] != "completed":
        assert done["status"] in ("needs_review", "queued", "running"), done
        assert time.monotonic() < deadline, "the hash never completed"
        time.sleep(0.2)
    files = ana_api.call("GET", f"/tasks/{task['id']}/files")["items"]
    assert [f["filename"] for f in files] == ["figures.txt"]
    assert done["input"] == files[0]["id"]
    assert done["result"]["algorithm"] == "sha1"
    assert done["result"]["hexdigest"] == hashlib.sha1(content, usedforsecurity=False).hexdigest()
