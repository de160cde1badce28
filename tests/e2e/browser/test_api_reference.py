"""GET /docs in a real browser on the dev stack: Swagger UI renders every documented operation
and its examples, loading nothing but the page's own files and /openapi.json (no CDN, no
validator badge), under the page's CSP (a violation is a console error, which fails the test)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Stack, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_docs_render_every_operation_without_the_network(new_page: Any, stack: Stack) -> None:
    document = requests.get(f"{stack.api_url}/openapi.json", timeout=15).json()
    operations = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    page = new_page()
    requested: list[str] = []
    outside: list[str] = []

    def only_the_stack(route: Any) -> None:
        url = route.request.url
        if url.startswith(f"{stack.api_url}/") and not url.startswith("data:"):
            requested.append(url.removeprefix(stack.api_url))
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.context.route("**/*", only_the_stack)
    page.goto(f"{stack.api_url}/docs")
    expect(page.locator(".information-container .title")).to_contain_text("AION API")
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(operations))
    shown = {
        (
            block.locator(".opblock-summary-method").inner_text().strip(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in blocks.all()
    }
    assert shown == operations

    # An operation opens with its summary and the example composed from the models.
    login = page.locator("#operations-auth-login")
    expect(login.locator(".opblock-summary-description")).to_have_text(
        document["paths"]["/auth/login"]["post"]["summary"]
    )
    login.locator(".opblock-summary").click()
    expect(login.locator(".body-param__example, .example").first).to_contain_text("ada@example.com")
    expect(login.locator(".responses-wrapper")).to_contain_text("accessToken")
    screenshot(page, "api-reference")

    assert outside == [], f"the page asked the network for {outside}"
    assert sorted(set(requested)) == sorted(
        {"/docs", "/openapi.json"}
        | {
            f"/docs/{name}"
            for name in ("swagger-ui-bundle.js", "swagger-ui.css", "reference.js", "reference.css")
        }
    )


def test_docs_with_a_trailing_slash_land_on_the_working_page(new_page: Any, stack: Stack) -> None:
    page = new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{stack.api_url}/docs/")
    expect(page.locator(".information-container .title")).to_contain_text("AION API")
    assert page.url == f"{stack.api_url}/docs"
    assert failed == []
