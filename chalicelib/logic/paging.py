"""One page of a DynamoDB Query, resumable through an opaque cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.http.cursor import clamp_limit, decode_cursor, encode_cursor

T = TypeVar("T")


def query_page(
    run: Callable[..., Any], *, scope: str, limit: int | None, cursor: str | None
) -> tuple[list[Any], str | None]:
    """Call ``run(limit=, page_size=, last_evaluated_key=)`` (a pynamodb query) for one page.

    ``scope`` names the list (its index and key values); a cursor only resumes its own list.
    """
    size = clamp_limit(limit)
    start = decode_cursor(cursor, scope)
    results = run(limit=size, page_size=size, last_evaluated_key=start)
    items = list(results)
    last_key = results.last_evaluated_key if len(items) >= size else None
    return items, encode_cursor(last_key, scope)
