"""The board's module list when the router catalogue is not the executor's: the console's own
static list when the catalogue cannot be loaded, and the API's static catalogue (every module
marked unavailable, the reason given) when the executor is down."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ApiClient, Stack, sign_in
from tests.e2e.stack_runner import StackRun

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# DESIGN.md's catalogue, in the order the console lists it.
STATIC_MODULES = [
    "text.stats",
    "text.summarize",
    "text.extract",
    "text.sentiment",
    "data.csv_profile",
    "data.json_query",
    "crypto.hash",
    "math.evaluate",
    "llm.generate",
]
REVIEW_TARGET_TEXT = "A person (needs review)"


def _module_options(page: Any) -> list[str]:
    texts = (
        page.get_by_role("form", name="New task")
        .get_by_label("Module")
        .locator("option")
        .all_inner_texts()
    )
    return [t for t in texts if not t.startswith("Automatic")]


def _open_board(page: Any, project: dict[str, Any]) -> None:
    page.goto(f"/#/projects/{project['id']}")
    page.get_by_role("heading", name=project["name"], level=1).wait_for()


def test_board_falls_back_to_its_static_list_when_the_catalogue_cannot_load(
    page: Any, stack: Stack, admin_api: ApiClient
) -> None:
    project = admin_api.create_project()
    refused: list[str] = []

    def catalogue_down(route: Any) -> None:
        refused.append(route.request.url)
        route.fulfill(
            status=503,
            json={"error": {"code": "service_unavailable", "message": "Try again later."}},
        )

    page.route("**/api/router/catalog", catalogue_down)
    page.aion_probe.allowed.append(re.compile(r"status of 503"))  # the refusal, on purpose
    sign_in(page, stack.admin_email, stack.admin_password)
    _open_board(page, project)

    assert refused, "the board never asked for the catalogue"
    expect(
        page.get_by_role("form", name="New task").get_by_label("Module").locator("option")
    ).to_have_count(len(STATIC_MODULES) + 1)
    assert _module_options(page) == STATIC_MODULES  # names only: nothing is known about them
    expect(page.get_by_text("The router catalogue could not be loaded")).to_be_visible()


@pytest.fixture(scope="module")
def executor_down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A dev stack of its own whose executor is down (its target: a port nobody listens on)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = StackRun(
        Path(tmp_path_factory.mktemp("executor-down")),
        env={"AION_EXECUTOR_TARGET": f"127.0.0.1:{port}", "AION_DEV_LOG": "quiet"},
    )
    try:
        yield run.start()
    finally:
        run.stop()


def test_board_marks_every_module_unavailable_while_the_executor_is_down(
    new_page: Any, executor_down: dict[str, Any]
) -> None:
    api = ApiClient(
        executor_down["api_url"], executor_down["admin_email"], executor_down["admin_password"]
    )
    catalogue = api.call("GET", "/router/catalog")
    assert catalogue["source"] == "static"  # the API's own fallback: the executor is down
    project = api.create_project()
    page = new_page(base_url=executor_down["base_url"].rstrip("/"))
    sign_in(page, executor_down["admin_email"], executor_down["admin_password"])
    _open_board(page, project)

    options = _module_options(page)
    assert [o.split(" — ")[0] for o in options] == STATIC_MODULES
    assert all(o.endswith("(unavailable)") for o in options), options
    executor = next(r for r in catalogue["routes"] if r["name"] == "executor")
    expect(page.get_by_text(f"executor route unavailable: {executor['detail']}")).to_be_visible()
    expect(page.get_by_text("llm route unavailable: no LLM provider is configured")).to_be_visible()

    # What the router would do with exact work meanwhile: wait for a person, and say why.
    page.get_by_label("Instruction").fill("sha256 of this")
    page.get_by_label("Input text").fill("abc")
    page.get_by_role("button", name="Why this route?").click()
    preview = page.locator("section.notice")
    expect(preview.locator("code").first).to_have_text("crypto.hash")
    expect(preview).to_contain_text(REVIEW_TARGET_TEXT)
