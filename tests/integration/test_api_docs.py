"""GET /docs: the API reference page and its files, served by the API without outside requests."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.api import reference
from tests.integration.conftest import ApiClient


def _get(api: ApiClient, path: str):  # type: ignore[no-untyped-def]
    return api.client.http.request("GET", path, headers={}, body=b"")


def test_the_page_loads_only_its_own_files_under_a_strict_csp(api: ApiClient) -> None:
    response = _get(api, "/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    html = response.body.decode()
    # No inline script or style, and every URL is relative (same origin, no CDN).
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == len(re.findall(r"<script\b", html)) == 2
    assert all(
        re.fullmatch(r' src="docs/[a-z.-]+\.js"', attrs) and not body for attrs, body in scripts
    )
    assert "<style" not in html
    assert "style=" not in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(urls) == sorted(
        f"docs/{name}" for name in reference.OWN_FILES + reference.VENDOR_FILES
    )
    assert 'data-openapi-url="openapi.json"' in html


@pytest.mark.parametrize("name", reference.OWN_FILES + reference.VENDOR_FILES)
def test_every_file_of_the_page_is_served(api: ApiClient, name: str) -> None:
    response = _get(api, f"/docs/{name}")
    assert response.status_code == 200
    expected = "text/javascript" if name.endswith(".js") else "text/css"
    assert response.headers["Content-Type"].startswith(expected)
    assert response.body.decode() == reference.files()[name].read_text(encoding="utf-8")


def test_swagger_ui_is_version_5_which_reads_openapi_3_1(api: ApiClient) -> None:
    bundle = _get(api, "/docs/swagger-ui-bundle.js").body.decode()
    assert re.search(r'"5\.\d+\.\d+"', bundle)


def test_other_names_are_404_in_the_envelope(api: ApiClient) -> None:
    for name in ("index.html", "..%2Fapp.py", "swagger-ui.js.map", "__init__.py"):
        response = _get(api, f"/docs/{name}")
        assert response.status_code == 404, name
        assert json.loads(response.body)["error"]["code"] == "not_found"


def test_redirects_where_the_reference_is_hosted(api: ApiClient, monkeypatch, reset_caches) -> None:
    monkeypatch.setenv("AION_DOCS_URL", "https://console.example.com/docs/index.html")
    reset_caches()
    response = _get(api, "/docs")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://console.example.com/docs/index.html"


def test_a_trailing_slash_redirects_to_the_page(api: ApiClient) -> None:
    """At /docs/ the page's relative URLs would resolve one level too deep (docs/docs/...)."""
    response = _get(api, "/docs/")
    assert response.status_code == 301
    # Relative, so it works under any stage or base path: /api/docs/ -> /api/docs.
    assert response.headers["Location"] == "../docs"
    assert _get(api, "/docs").status_code == 200
