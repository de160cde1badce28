"""One page of a DynamoDB Query, resumable through an opaque, tamper-safe cursor.

A cursor is DynamoDB's LastEvaluatedKey plus the scope of the list it belongs to (so a cursor
of one project's tasks cannot be replayed against another list), HMAC-SHA256 signed with a
key derived from the JWT secret. Clients can neither read nor forge the keys inside.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.errors import BadRequest
from chalicelib.secrets import get_jwt_keys

T = TypeVar("T")

_CONTEXT = b"aion-cursor-v1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


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


def _signing_key() -> bytes:
    return hmac.new(get_jwt_keys().current_key.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(last_key: dict[str, Any] | None, scope: str) -> str | None:
    if not last_key:
        return None
    payload = json.dumps({"k": last_key, "s": scope}, separators=(",", ":"), sort_keys=True)
    raw = payload.encode()
    mac = hmac.new(_signing_key(), raw, hashlib.sha256).digest()[:16]
    return f"{_b64(raw)}.{_b64(mac)}"


def decode_cursor(cursor: str | None, scope: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    invalid = BadRequest("The cursor is invalid or belongs to another list.", code="invalid_cursor")
    try:
        body, mac = cursor.split(".", 1)
        raw = _unb64(body)
        expected = hmac.new(_signing_key(), raw, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise invalid
        payload = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise invalid from exc
    if not isinstance(payload, dict) or payload.get("s") != scope:
        raise invalid
    key = payload.get("k")
    if not isinstance(key, dict):
        raise invalid
    return key


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))
