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


def filtered_page(
    run: Callable[..., Any],
    *,
    scope: str,
    limit: int | None,
    cursor: str | None,
    keep: Callable[[T], bool],
    budget: int,
) -> tuple[list[T], str | None, int]:
    """One page of the items of a Query that ``keep`` accepts, reading at most ``budget`` items.

    Returns (items, cursor, items read). The cursor resumes right after the last item read, so
    a page that reached its budget has one even when nothing matched (the caller reads on, or
    stops); it is None only when the Query ran out.
    """
    size = clamp_limit(limit)
    start = decode_cursor(cursor, scope)
    results = run(limit=budget, page_size=budget, last_evaluated_key=start)
    kept: list[T] = []
    read = 0
    for item in results:
        read += 1
        if keep(item):
            kept.append(item)
        if len(kept) >= size or read >= budget:
            break
    # pynamodb gives the key of the last item handed out (mid-page), or the page's own key;
    # when the Query ran out it is None.
    last_key = results.last_evaluated_key if (len(kept) >= size or read >= budget) else None
    return kept, encode_cursor(last_key, scope), read
