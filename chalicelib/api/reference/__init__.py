"""The API reference page: the OpenAPI document rendered by Swagger UI, with no network access.

The page (``index.html``, ``reference.js``, ``reference.css``) lives here; Swagger UI's files
come from the ``openapi-ui-bundles`` package (Swagger UI 5, which reads OpenAPI 3.1), never from
a CDN. Where the package is installed (the dev stack, tests) the API serves page and files
itself; the Lambdas do not carry it (it would grow their dependency layer by ~1 MB), so on AWS
the site stack uploads the same files next to the console and ``GET /docs`` redirects there.
Framework-free: ``infra`` reads the same page and file list.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
# Swagger UI's files the page loads, from openapi_ui_bundles.swagger_ui's vendor directory.
VENDOR_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
OWN_FILES = ("reference.js", "reference.css")
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# The page's own policy, as strict as the console's: scripts and styles from files only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class AssetsMissing(LookupError):
    """Swagger UI's files are not installed in this process (openapi-ui-bundles)."""


def page(*, openapi_url: str, assets: str) -> str:
    """The HTML page: ``assets`` is the URL prefix of the files (ending in "/" or empty)."""
    template = (HERE / "index.html").read_text(encoding="utf-8")
    return template.replace("{assets}", assets).replace("{openapi_url}", openapi_url)


def vendor_dir() -> Path:
    try:  # a dev requirement, never in the Lambda package: imported where it is served
        from openapi_ui_bundles.swagger_ui import static_path
    except ImportError as exc:
        raise AssetsMissing("openapi-ui-bundles is not installed") from exc
    return Path(static_path)


def files() -> dict[str, Path]:
    """Every file the page loads, by the name it is served under."""
    found = {name: HERE / name for name in OWN_FILES}
    vendor = vendor_dir()
    found.update({name: vendor / name for name in VENDOR_FILES})
    return found


def read(name: str) -> tuple[str, str]:
    """``(content_type, text)`` of one of the page's files; KeyError for any other name."""
    if name not in OWN_FILES and name not in VENDOR_FILES:
        raise KeyError(name)
    path = files()[name]
    return CONTENT_TYPES[path.suffix], path.read_text(encoding="utf-8")
