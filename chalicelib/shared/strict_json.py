"""JSON from untrusted clients, decoded only when it is plain, finite, well-formed data.

``json.loads`` alone accepts what AION cannot store or answer: ``NaN``/``Infinity`` (and
``1e999``, which becomes ``inf``) would be stored as ``null``; nesting deep enough to exhaust
the interpreter's recursion raises ``RecursionError`` (not a ``ValueError``); a lone UTF-16
surrogate (``"\\ud800"``) decodes into a string no UTF-8 encoder takes. ``loads`` refuses each
with ``JsonRejected``, whose ``code`` the API puts in its 400 envelope.

Pure standard library: the REST body parser and the WebSocket protocol both use it.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Deeper than any document AION stores or routes; far below the interpreter's recursion limit.
MAX_DEPTH = 64

MALFORMED = "malformed_json"
TOO_DEEP = "json_too_deep"
NON_FINITE = "non_finite_number"
INVALID_UNICODE = "invalid_unicode"


class JsonRejected(ValueError):
    """The text is not JSON AION accepts; ``code`` says why (snake_case)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _no_constant(name: str) -> Any:
    raise JsonRejected(NON_FINITE, f"{name} is not a JSON number; send a finite number.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected(NON_FINITE, f"{text} is out of range for a finite number.")
    return value


def _check(value: Any, max_depth: int) -> None:
    """Depth and text of every container and string, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _utf8(item)
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise JsonRejected(TOO_DEEP, f"JSON is nested deeper than {max_depth} levels.")
            if isinstance(item, dict):
                for key, child in item.items():
                    _utf8(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JsonRejected(
            INVALID_UNICODE, "JSON holds a lone UTF-16 surrogate (\\ud800-\\udfff escape)."
        ) from exc


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode ``data`` (UTF-8 bytes or text); raise ``JsonRejected`` for anything refused."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRejected(MALFORMED, "The body is not valid UTF-8.") from exc
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite)
    except JsonRejected:
        raise
    except RecursionError as exc:
        raise JsonRejected(TOO_DEEP, f"JSON is nested deeper than {max_depth} levels.") from exc
    except ValueError as exc:  # JSONDecodeError, and integers past the digit limit
        raise JsonRejected(MALFORMED, "The body is not valid JSON.") from exc
    _check(value, max_depth)
    return value
