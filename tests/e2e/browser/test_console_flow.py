"""The console end to end: sign in, create a project and a task, watch it run live."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import (
    ApiClient,
    Stack,
    later_event_shown,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _timeline_seqs(page: Any) -> list[int]:
    return [
        int(s)
        for s in page.locator("#timeline li").evaluate_all("ls => ls.map(l => l.dataset.seq)")
    ]


def test_full_flow_sign_in_project_task_completes_live(page: Any, stack: Stack) -> None:
    sign_in(page, stack.admin_email, stack.admin_password)
    # A marker that a reload would wipe: the task must complete without one.
    page.evaluate("() => { window.__noReload = true; }")
    screenshot(page, "dashboard")

    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("heading", name="Projects", level=1).wait_for()
    name = f"Flow {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Description").fill("Created by the browser test")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name=name, level=1).wait_for()

    page.get_by_label("Instruction").fill("Count the words in this text")
    page.get_by_label("Input text").fill("one two three four five")
    page.get_by_role("form", name="New task").get_by_label("Module").select_option("text.stats")
    screenshot(page, "board")
    page.get_by_role("button", name="Create task").click()

    expect(page.locator("#timeline")).to_contain_text("completed", timeout=30_000)
    expect(page.locator("#task-result")).to_contain_text("words")
    expect(page.locator("#task-result")).to_contain_text("5")
    expect(page.locator("#task-progress")).to_have_attribute("value", "100")
    seqs = _timeline_seqs(page)
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    kinds = page.locator("#timeline li").evaluate_all("ls => ls.map(l => l.dataset.kind)")
    assert "routed" in kinds
    expect(page.get_by_text("Executor (deterministic module)")).to_be_visible()
    assert page.evaluate("() => window.__noReload === true")
    screenshot(page, "task")
    page.get_by_role("button", name="Show raw JSON").click()
    expect(page.locator("#raw-json")).to_contain_text('"status": "completed"')

    # The board reflects the finished task.
    page.get_by_role("link", name="← Back to the board").click()
    expect(page.locator('[data-column="completed"] .card')).to_have_count(1)


def test_task_created_by_someone_else_appears_live(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    member = admin_api.create_user()
    project = admin_api.create_project(member_ids=(member["id"],))
    other = ApiClient(stack.api_url, member["email"], member["password"])

    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_role("heading", name=project["name"], level=1).wait_for()
    expect(page.locator(".card")).to_have_count(0)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open")
    page.evaluate("() => { window.__noReload = true; }")

    title = f"From {member['name']}"
    other.create_task(project["id"], title=title, input="alpha beta", module="text.stats")

    card = page.locator(".card", has_text=title)
    expect(card).to_be_visible(timeout=15_000)
    expect(page.locator('[data-column="completed"] .card', has_text=title)).to_be_visible(
        timeout=30_000
    )
    assert page.evaluate("() => window.__noReload === true")


def test_websocket_dropped_mid_task_every_event_exactly_once(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    """The server side of the socket goes away after the first live event of the task; the
    console reconnects, resubscribes, fills the gap from the activity log, and shows each
    event exactly once."""
    project = admin_api.create_project()
    state: dict[str, Any] = {"connections": 0, "dropped": False}

    def route(ws: Any) -> None:
        state["connections"] += 1
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            if not state["dropped"] and '"type": "telemetry"' in text.replace('":"', '": "'):
                state["dropped"] = True
                server.close()
                ws.close(code=1011, reason="dropped by test")
                return
            ws.send(message)

        server.on_message(from_server)
        ws.on_message(lambda message: server.send(message))

    page.route_web_socket(re.compile(r".*/ws(\?.*)?$"), route)
    # Playwright's socket stand-in logs this when the test closes it under the page.
    page.aion_probe.allowed.append(re.compile(r"WebSocket is already in CLOSING or CLOSED state"))
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_label("Instruction").fill("Summarize this text")
    page.get_by_label("Input text").fill(
        "The quick brown fox jumps. It lands softly. Everyone claps. The fox bows. The end."
    )
    page.get_by_role("form", name="New task").get_by_label("Module").select_option("text.summarize")
    page.get_by_role("button", name="Create task").click()

    expect(page.locator("#timeline")).to_contain_text("completed", timeout=30_000)
    assert state["dropped"], "the socket was never dropped"
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "open", timeout=15_000)
    assert state["connections"] >= 2
    task_id = page.url.rsplit("/", 1)[-1]
    expected = later_event_shown(page, admin_api, task_id)
    assert _timeline_seqs(page) == expected
    assert len(set(expected)) == len(expected)


def test_file_upload_with_progress_then_run_on_the_file(
    page: Any, stack: Stack, admin_api: ApiClient, tmp_path: Any
) -> None:
    """Upload through the presigned POST with a progress bar, then run the task on the file.

    The task is parked first (pinned to the LLM module, which the dev stack has no route
    for, so it waits for review; then canceled) so the file is in place before it runs.
    """
    project = admin_api.create_project()
    task = admin_api.create_task(project["id"], title="Hash a file", module="llm.generate")
    for _ in range(100):
        if admin_api.call("GET", f"/tasks/{task['id']}")["status"] == "needs_review":
            break
        page.wait_for_timeout(100)
    admin_api.call("POST", f"/tasks/{task['id']}/cancel")
    current = admin_api.call("GET", f"/tasks/{task['id']}")
    admin_api.call(
        "PATCH",
        f"/tasks/{task['id']}",
        json={"module": "crypto.hash"},
        headers={"If-Match": str(current["version"])},
    )
    content = b"hash me please\n" * 4000
    upload = tmp_path / "sample.txt"
    upload.write_bytes(content)

    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name="Hash a file", level=1).wait_for()
    seen_progress: list[str] = []
    page.expose_function("__progressSeen", lambda v: seen_progress.append(v))
    page.evaluate(
        """() => new MutationObserver(() => window.__progressSeen(
              document.getElementById('file-progress').value)).observe(
              document.getElementById('file-progress'), {attributes: true, childList: true})"""
    )
    page.get_by_label("Attach a file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload file").click()
    expect(page.get_by_role("button", name="Download link for sample.txt")).to_be_visible()
    expect(page.locator("#file-progress")).to_have_attribute("value", "100")
    assert seen_progress, "the progress bar never moved"
    screenshot(page, "task-file")

    page.get_by_role("button", name="Run again on sample.txt").click()
    expect(page.locator("#task-result .hash")).to_have_text(
        hashlib.sha256(content).hexdigest(), timeout=30_000
    )
    page.get_by_role("button", name="Download link for sample.txt").click()
    link = page.get_by_role("link", name="Download sample.txt")
    expect(link).to_be_visible()
    assert requests.get(link.get_attribute("href"), timeout=10).content == content


def test_why_this_route_preview(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    project = admin_api.create_project()
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_label("Instruction").fill("What is 2 + 3 * 4?")
    page.get_by_role("button", name="Why this route?").click()
    preview = page.locator("section.notice")
    expect(preview).to_contain_text("math.evaluate")
    expect(preview).to_contain_text("Confidence")
    expect(preview).to_contain_text("Reason")


def test_board_file_input_uploads_with_progress_and_becomes_the_input(
    page: Any, stack: Stack, admin_api: ApiClient, tmp_path: Any
) -> None:
    """The create form's file mode: upload to the project first (progress bar), then create the
    task with the file as its input. Pinned to a fast executor module, the task runs at once,
    and still on the file: the server attached it in the task's own write, so there is no
    race to lose (one attempt, the file's own hash as the result)."""
    project = admin_api.create_project()
    content = b"some notes\n" * 5000
    upload = tmp_path / "notes.txt"
    upload.write_bytes(content)
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_label("Instruction").fill("Hash these notes")
    page.get_by_label("File", exact=True).check()
    page.get_by_label("Input file").set_input_files(str(upload))
    page.get_by_role("form", name="New task").get_by_label("Module").select_option("crypto.hash")
    page.evaluate(
        """() => { window.__progress = [];
            new MutationObserver(() => window.__progress.push(
              document.querySelector('form progress').value)).observe(
              document.querySelector('form progress'), {attributes: true}); }"""
    )
    page.get_by_role("button", name="Create task").click()
    page.get_by_role("heading", name="Hash these notes", level=1).wait_for()
    assert 100 in page.evaluate("() => window.__progress")
    expect(page.locator("#task-result .hash")).to_have_text(
        hashlib.sha256(content).hexdigest(), timeout=30_000
    )
    expect(page.get_by_role("button", name="Download link for notes.txt")).to_be_visible()
    task_id = page.url.rsplit("/", 1)[-1]
    task = admin_api.call("GET", f"/tasks/{task_id}")
    files = admin_api.call("GET", f"/tasks/{task_id}/files")["items"]
    assert [f["filename"] for f in files] == ["notes.txt"]
    assert task["input"] == files[0]["id"]
    assert task["attempts"] == 1  # no hold, cancel or retry
    assert task["status"] == "completed"
    expect(page.locator("#timeline")).not_to_contain_text("Retry")
