"""Write ``docs/openapi.json``, the API's OpenAPI document, from the route table (``make openapi``).

    python -m scripts.openapi [--check]

The document is what ``GET /openapi.json`` serves (same routes, models and examples), with
``info.version`` the project's version (pyproject.toml) instead of the deployment's. Paths,
methods and schemas are sorted, so a change to a route or a model is a readable diff.
``--check`` writes nothing and exits 1 when the committed file is stale (a unit test runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.json"


def render() -> str:
    """The document as committed: pretty-printed JSON with a final newline."""
    import app  # noqa: F401 - registering the blueprints fills the route table
    from chalicelib.api.rest import API_TITLE, ROUTES
    from chalicelib.http.openapi import build_document

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    document = build_document(ROUTES, title=API_TITLE, version=version)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def is_stale() -> bool:
    return not DOCUMENT.is_file() or DOCUMENT.read_text(encoding="utf-8") != render()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    if args.check:
        if is_stale():
            print(f"{DOCUMENT} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(render(), encoding="utf-8")
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
