"""Results and tasks people can read: the task screen (input, duration, results with labels,
rounded numbers, sizes and tables that fit, progress without noise), board cards and layout
on a wide screen and a phone, editing (If-Match) and deleting with confirmations, and the
server's own limits as sentences ("Files up to 50 MB", the password rule)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ApiClient, SocketTap, Stack, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Means that read the same however a person's locale would round them: 150,000.5 and 20.25.
CSV = "city,population,area\nAlpha,100000,10.5\nBeta,200001,30\nGamma,150000.5,20.25\n"
LONG_TEXT = " ".join(f"Sentence number {i} talks about queues and routes." for i in range(40))


def _finished(
    api: ApiClient, task_id: str, wanted: tuple[str, ...] = ("completed", "failed")
) -> dict:
    deadline = time.monotonic() + 30
    while True:
        task = api.call("GET", f"/tasks/{task_id}")
        if task["status"] in wanted or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def _bytes_text(n: int) -> str:
    """What the console shows for n bytes (binary multiples, one decimal under 100)."""
    if n < 1024:
        return f"{n} bytes"
    value, unit = float(n), -1
    units = ["KB", "MB", "GB"]
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    text = f"{value:.0f}" if value >= 100 else f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text} {units[unit]}"


def test_task_screen_reads_for_people(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    project = admin_api.create_project()
    task = admin_api.create_task(
        project["id"], title="Profile the table", input=CSV, module="data.csv_profile"
    )
    done = _finished(admin_api, task["id"])
    assert done["status"] == "completed", done
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name="Profile the table", level=1).wait_for()

    # The duration, prominently, in words a person reads.
    expect(page.locator("#task-duration")).to_have_text(re.compile(r"^Took \d+(\.\d)? (ms|s)$"))
    expect(page.locator("#task-progress-text")).to_have_text("Done")
    # The result: labelled, rounded, grouped, and the whole table fits (Mean was clipped).
    result = page.locator("#task-result")
    expect(result).to_contain_text("3 rows, 3 columns")
    table = result.get_by_role("table", name="Column profile")
    population = table.get_by_role("row", name=re.compile(r"^population"))
    expect(population.get_by_role("cell").last).to_have_text("150,000.5")
    expect(
        table.get_by_role("row", name=re.compile(r"^area")).get_by_role("cell").last
    ).to_have_text("20.25")
    wrap = result.locator(".table-wrap")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the profile table overflows"
    mean_header = table.get_by_role("columnheader", name="Mean")
    header_box, wrap_box = mean_header.bounding_box(), wrap.bounding_box()
    assert header_box["x"] + header_box["width"] <= wrap_box["x"] + wrap_box["width"] + 0.5
    # Raw JSON one click away.
    page.get_by_role("button", name="Show raw JSON").click()
    expect(page.locator("#raw-json")).to_contain_text('"module": "data.csv_profile"')
    # The input: text, with its size, shown as it is.
    expect(page.locator("#task-input")).to_contain_text(f"Text, {len(CSV)} characters, 5 lines")
    expect(page.locator("#task-input pre")).to_contain_text("Gamma,150000.5,20.25")
    # Progress without noise: the module's start is said in words, no "(0%)" anywhere.
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Started data.csv_profile")
    expect(timeline).not_to_contain_text("(0%)")
    expect(timeline).not_to_contain_text("(100%)")


def test_inputs_json_long_text_and_file(
    page: Any, stack: Stack, admin_api: ApiClient, tmp_path: Any
) -> None:
    project = admin_api.create_project()
    as_json = admin_api.create_task(
        project["id"],
        title="Query JSON",
        input='{"items": [{"n": 1}, {"n": 2}]}',
        module="data.json_query",
        params={"expression": "items[].n"},
    )
    long_text = admin_api.create_task(
        project["id"], title="Stats of a long text", input=LONG_TEXT, module="text.stats"
    )
    sign_in(page, stack.admin_email, stack.admin_password)

    page.goto(f"/#/tasks/{as_json['id']}")
    page.get_by_role("heading", name="Query JSON", level=1).wait_for()
    expect(page.locator("#task-input")).to_contain_text("JSON input")
    expect(page.locator("#task-input pre")).to_have_text(
        '{\n  "items": [\n    {\n      "n": 1\n    },\n    {\n      "n": 2\n    }\n  ]\n}'
    )

    page.goto(f"/#/tasks/{long_text['id']}")
    page.get_by_role("heading", name="Stats of a long text", level=1).wait_for()
    preview = page.locator("#task-input > div > pre").first
    expect(preview).to_have_text(re.compile(r"…$"))
    assert len(preview.inner_text()) < len(LONG_TEXT)
    page.get_by_text("Show all of it").click()
    expect(page.locator("#task-input details pre")).to_have_text(LONG_TEXT)
    # text.stats for people: labelled counts, reading time as a duration.
    expect(page.locator("#task-result")).to_contain_text("Reading time", timeout=30_000)
    expect(page.locator("#task-result")).not_to_contain_text("readingTimeSeconds")

    # A file as the input: name, size and a download.
    content = b"0123456789abcdef\n" * 3200  # 54,400 bytes
    upload = tmp_path / "notes.txt"
    upload.write_bytes(content)
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_label("Instruction").fill("Hash these notes")
    page.get_by_label("File", exact=True).check()
    page.get_by_label("Input file").set_input_files(str(upload))
    page.get_by_role("form", name="New task").get_by_label("Module").select_option("crypto.hash")
    page.get_by_role("button", name="Create task").click()
    page.get_by_role("heading", name="Hash these notes", level=1).wait_for()
    task_input = page.locator("#task-input")
    expect(task_input).to_contain_text("notes.txt")
    expect(task_input).to_contain_text(_bytes_text(len(content)))
    assert _bytes_text(len(content)) == "53.1 KB"
    expect(page.locator("#task-result")).to_contain_text("SHA-256", timeout=30_000)
    expect(page.locator("#task-result")).to_contain_text(f"Input size{_bytes_text(len(content))}")
    task_input.get_by_role("button", name="Download notes.txt").click()
    link = task_input.get_by_role("link", name="Download notes.txt")
    expect(link).to_be_visible()
    assert requests.get(link.get_attribute("href"), timeout=10).content == content


def test_a_run_without_steps_says_running(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    """A task that is running with no progress between 0 and 100 shows "Running" (a bar that
    does not pretend to know how far it is), not 0%."""
    project = admin_api.create_project()
    task = admin_api.create_task(
        project["id"], title="Still running", input="a b", module="text.stats"
    )
    done = _finished(admin_api, task["id"])
    events = admin_api.call("GET", f"/tasks/{task['id']}/activity")["items"]
    started = max(e["seq"] for e in events if e["kind"] == "progress")  # "text.stats 1.0.0" (0)
    assert events[started - 1]["progress"] in (0, None)
    # The screen sees the task mid-run: running, started a few seconds ago, the log up to the
    # module's start.
    running = {**done, "status": "running", "finishedAt": None, "result": None}
    running["startedAt"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 3)) + "Z"

    def task_route(route: Any) -> None:
        if route.request.method == "GET":
            route.fulfill(json=running)
        else:
            route.continue_()

    def activity_route(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        body["items"] = [e for e in body["items"] if e["seq"] <= started]
        route.fulfill(response=response, json=body)

    def edit(message: dict[str, Any]) -> list[dict[str, Any]]:
        if message.get("type") == "subscribed" and message.get("events"):
            return [{**message, "events": [e for e in message["events"] if e["seq"] <= started]}]
        return [message]

    page.route(re.compile(rf".*/api/tasks/{task['id']}$"), task_route)
    page.route(re.compile(rf".*/api/tasks/{task['id']}/activity.*"), activity_route)
    SocketTap(page, edit)
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name="Still running", level=1).wait_for()
    expect(page.locator("#task-progress-text")).to_have_text("Running")
    assert page.locator("#task-progress").get_attribute("value") is None  # indeterminate
    expect(page.locator("#task-duration")).to_have_text(re.compile(r"^Running for \d"))
    expect(page.locator("#timeline")).to_contain_text("Started text.stats")


def _column_boxes(page: Any) -> dict[str, dict[str, float]]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.board .column')].map(c => {
              const r = c.getBoundingClientRect();
              const box = {top: r.top, left: r.left, width: r.width, height: r.height};
              return [c.dataset.column, box];
            }))"""
    )


def test_board_cards_and_layout_wide_and_on_a_phone(
    new_page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name=f"Layout {uuid.uuid4().hex[:4]}")
    task = admin_api.create_task(
        project["id"], title="Count me", input="one two", module="text.stats"
    )
    _finished(admin_api, task["id"])
    page = new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/projects/{project['id']}")
    card = page.locator(".card", has_text="Count me")
    expect(card).to_contain_text(re.compile(r"text\.stats · \d+(\.\d)? (ms|s)"))
    # Six status columns in one row.
    boxes = _column_boxes(page)
    assert len(boxes) == 6
    assert len({round(b["top"]) for b in boxes.values()}) == 1, boxes
    board = page.locator(".board").bounding_box()
    assert max(b["left"] + b["width"] for b in boxes.values()) <= board["x"] + board["width"] + 1

    phone = new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    sign_in(phone, stack.admin_email, stack.admin_password)
    header = phone.locator("#topbar").bounding_box()
    assert header["height"] <= 64, header  # one compact row (was four rows, 185 px)
    phone.goto(f"/#/projects/{project['id']}")
    first = phone.locator(".card").first
    expect(first).to_contain_text("Count me")
    assert first.bounding_box()["y"] < 844 * 0.5, first.bounding_box()
    boxes = _column_boxes(phone)
    for status in ("queued", "running", "needs_review", "failed", "canceled"):
        assert boxes[status]["height"] < 48, (status, boxes[status])  # folded into a chip
    assert boxes["completed"]["top"] < boxes["queued"]["top"]  # the empty ones come last
    # The tools fold behind the menu button; it opens, and Escape closes it.
    menu = phone.get_by_role("button", name="Menu")
    expect(phone.get_by_role("button", name="Sign out")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()
    phone.get_by_role("radio", name="Dark").focus()
    phone.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()


def _needs_review_task(api: ApiClient, project_id: str, title: str) -> dict[str, Any]:
    task = api.create_task(
        project_id, title=title, module="llm.generate", instruction="Write a poem"
    )
    return _finished(api, task["id"], ("needs_review", "failed", "completed"))


def test_cancel_and_retry_buttons(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    """Cancel on a task that waits (for a person), then Retry: each button does what it says,
    the screen follows (status, attempt, which buttons are offered) and the server agrees."""
    project = admin_api.create_project()
    task = _needs_review_task(admin_api, project["id"], "Waits for a person")
    assert task["status"] == "needs_review", task
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name="Waits for a person", level=1).wait_for()
    facts = page.locator(".task-facts")
    cancel = page.get_by_role("button", name="Cancel task")
    retry = page.get_by_role("button", name="Retry")
    expect(cancel).to_be_visible()
    expect(retry).to_be_hidden()  # only a failed or canceled task can be retried

    cancel.click()
    expect(facts.locator(".badge")).to_have_attribute("data-status", "canceled")
    expect(cancel).to_be_hidden()
    expect(retry).to_be_visible()
    canceled = admin_api.call("GET", f"/tasks/{task['id']}")
    assert (canceled["status"], canceled["attempts"]) == ("canceled", 1)

    retry.click()
    expect(facts).to_contain_text("Attempt 2")
    expect(retry).to_be_hidden()
    expect(cancel).to_be_visible()
    again = _finished(admin_api, task["id"], ("needs_review", "failed", "completed"))
    assert (again["status"], again["attempts"]) == ("needs_review", 2)
    # The timeline tells both steps (the retry's event names the attempt).
    expect(page.locator("#timeline")).to_contain_text("Retry: attempt 2")
    expect(facts.locator(".badge")).to_have_attribute("data-status", "needs_review")


def test_edit_a_task_with_if_match_and_a_conflict(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    member = admin_api.create_user()
    project = admin_api.create_project(member_ids=(member["id"],))
    task = _needs_review_task(admin_api, project["id"], "Poem to edit")
    assert task["status"] == "needs_review", task
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name="Poem to edit", level=1).wait_for()

    edit = page.get_by_role("button", name="Edit", exact=True)
    edit.click()
    dialog = page.get_by_role("dialog", name="Edit task")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Title")).to_be_focused()
    page.keyboard.press("Escape")  # dismissed: nothing changes, focus goes back
    expect(dialog).to_be_hidden()
    expect(edit).to_be_focused()

    edit.click()
    dialog.get_by_label("Title").fill("Poem, edited")
    dialog.get_by_label("Priority").select_option("urgent")
    dialog.get_by_label("Assignee").select_option(member["id"])
    dialog.get_by_label("Instruction").fill("Write a short poem about queues")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text("Poem, edited")
    saved = admin_api.call("GET", f"/tasks/{task['id']}")
    assert (saved["title"], saved["priority"], saved["assigneeId"], saved["instruction"]) == (
        "Poem, edited",
        "urgent",
        member["id"],
        "Write a short poem about queues",
    )
    assert saved["version"] > task["version"]

    # Someone else saves while the dialog is open: told, with their version, then overwritten.
    edit.click()
    dialog.get_by_label("Title").fill("Mine wins")
    admin_api.call(
        "PATCH",
        f"/tasks/{task['id']}",
        json={"title": "Changed elsewhere"},
        headers={"If-Match": str(saved["version"])},
    )
    dialog.get_by_role("button", name="Save changes").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Someone else changed this task")
    expect(alert).to_contain_text("Changed elsewhere")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    assert admin_api.call("GET", f"/tasks/{task['id']}")["title"] == "Mine wins"

    # A finished task keeps its instruction; the dialog says why.
    finished = admin_api.create_task(
        project["id"], title="Done already", input="x", module="text.stats"
    )
    _finished(admin_api, finished["id"])
    page.goto(f"/#/tasks/{finished['id']}")
    page.get_by_role("heading", name="Done already", level=1).wait_for()
    page.get_by_role("button", name="Edit", exact=True).click()
    expect(dialog.get_by_label("Instruction")).to_be_disabled()
    expect(dialog).to_contain_text("while the task is queued or waiting for review")


def test_delete_a_task_and_a_project_after_confirming(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project(name=f"Doomed {uuid.uuid4().hex[:4]}")
    task = _needs_review_task(admin_api, project["id"], "Delete me")
    keep = admin_api.create_task(
        project["id"], title="Goes with the project", input="a", module="text.stats"
    )
    sign_in(page, stack.admin_email, stack.admin_password)
    page.goto(f"/#/tasks/{task['id']}")
    page.get_by_role("heading", name="Delete me", level=1).wait_for()

    page.get_by_role("button", name="Delete task").click()
    dialog = page.get_by_role("dialog", name="Delete “Delete me”?")
    expect(dialog).to_have_accessible_description(re.compile("timeline, its result and its files"))
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert admin_api.call("GET", f"/tasks/{task['id']}")["id"] == task["id"]
    page.get_by_role("button", name="Delete task").click()
    dialog.get_by_role("button", name="Delete task").click()
    page.get_by_role("heading", name=project["name"], level=1).wait_for()
    gone = requests.get(
        f"{stack.api_url}/tasks/{task['id']}", headers=admin_api.http.headers, timeout=10
    )
    assert gone.status_code == 404

    # The project: the dialog says what goes at once and what within minutes, and wants the name.
    _finished(admin_api, keep["id"])
    page.goto(f"/#/projects/{project['id']}/settings")
    page.get_by_role("button", name="Delete project").click()
    dialog = page.get_by_role("dialog", name=f"Delete “{project['name']}”?")
    expect(dialog).to_contain_text("At once: the project and its members")
    expect(dialog).to_contain_text(
        "Within minutes: its 1 task, with their timelines, results and files"
    )
    confirm = dialog.get_by_role("button", name="Delete project")
    expect(confirm).to_be_disabled()
    dialog.get_by_label(f"Type “{project['name']}” to confirm").fill(project["name"])
    expect(confirm).to_be_enabled()
    confirm.click()
    page.get_by_role("heading", name="Projects", level=1).wait_for()
    gone = requests.get(
        f"{stack.api_url}/projects/{project['id']}", headers=admin_api.http.headers, timeout=10
    )
    assert gone.status_code == 404
    expect(page.locator(f'tr[data-project-id="{project["id"]}"]')).to_have_count(0)


def test_server_limits_read_as_sentences(page: Any, stack: Stack, admin_api: ApiClient) -> None:
    schema = requests.get(f"{stack.api_url}/openapi.json", timeout=10).json()["components"][
        "schemas"
    ]
    min_password = schema["UserCreate"]["properties"]["password"]["minLength"]
    max_file = schema["FileCreate"]["properties"]["size"]["maximum"]
    assert max_file == 50 * 1024 * 1024
    project = admin_api.create_project()
    sign_in(page, stack.admin_email, stack.admin_password)

    # A file over the limit: the server's answer, in the words of its schema.
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_label("Instruction").fill("Hash this")
    page.get_by_label("File", exact=True).check()
    page.evaluate(
        """() => {
            const input = document.querySelector('input[type=file][name=file]');
            const dt = new DataTransfer();
            dt.items.add(new File([new ArrayBuffer(60 * 1024 * 1024)], 'big.bin'));
            input.files = dt.files;
            input.dispatchEvent(new Event('change', {bubbles: true}));
        }"""
    )
    page.get_by_role("button", name="Create task").click()
    error = page.locator("form .form-error").first
    expect(error).to_have_text("Files up to 50 MB.")
    expect(error).not_to_contain_text("52428800")

    # The password rule comes from the same place the server checks it.
    page.goto("/#/admin/users")
    page.get_by_role("heading", name="Users", level=1).wait_for()
    password = page.get_by_label("Initial password")
    expect(password).to_have_accessible_description(
        f"At least {min_password} characters. Share it privately."
    )
    expect(password).to_have_attribute("minlength", str(min_password))
    page.get_by_label("Email").fill(f"short-{uuid.uuid4().hex[:6]}@example.com")
    page.get_by_label("Name", exact=True).fill("Short Password")
    password.fill("x" * (min_password - 1))
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("alert")).to_have_text(
        f"The password needs at least {min_password} characters."
    )
    password.fill("x" * min_password)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status").filter(has_text="Created short-")).to_be_visible()


def test_numbers_sizes_and_durations_for_people(page: Any) -> None:
    page.goto("/#/signin")
    page.get_by_role("heading", name="Sign in to AION").wait_for()
    got = page.evaluate(
        """async () => {
            const f = await import('./js/format.js');
            return {
              bytes: [1, 512, 1536, 25270000, 52428800, 5 * 1024 ** 3].map(f.formatBytes),
              durations: [18, 1234, 12_400, 75_000, 3_900_000].map(f.formatDuration),
              numbers: [545923, 235282.4, 169.368, 0.123456, 3].map(f.formatNumber),
              labels: ['readingTimeSeconds', 'hexdigest', 'top_words'].map(f.humanLabel),
            };
        }"""
    )
    assert got["bytes"] == ["1 byte", "512 bytes", "1.5 KB", "24.1 MB", "50 MB", "5 GB"]
    assert got["durations"] == ["18 ms", "1.2 s", "12 s", "1 min 15 s", "1 h 5 min"]
    assert got["numbers"] == ["545,923", "235,282.4", "169.37", "0.1235", "3"]
    assert got["labels"] == ["Reading time seconds", "Hexdigest", "Top words"]
