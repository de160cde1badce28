"""An item's size as DynamoDB counts it, measured before a write that could exceed the limit.

DynamoDB refuses (``ValidationException``) any write whose resulting item is over 400 KB,
counted as the UTF-8 bytes of every attribute name plus its value: strings by their UTF-8
length, numbers by their significant digits (about one byte per two digits, plus one), binary
by length, booleans and nulls one byte, lists and maps three bytes plus their elements (one
more byte each, and a map's keys by their UTF-8 length). A refused write leaves nothing
behind, so a task whose every write is refused can never end: measuring first lets the caller
move the large value elsewhere (S3), refuse the request (413), or end the task cleanly.

The one measure of the project: the dev stack's moto applies the same limit with it
(``devstack.moto_server``). Light to import (pynamodb only inside ``size_after``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from chalicelib.errors import PayloadTooLarge

if TYPE_CHECKING:
    from pynamodb.expressions.update import Action

# DynamoDB's documented maximum item size (400 KB, names and values included).
ITEM_LIMIT_BYTES = 400 * 1024


class ItemTooLarge(PayloadTooLarge):
    """A write would make the item larger than allowed; nothing was written.

    A 413 when it reaches the API (the request carries too much); the dispatcher and the
    sweeper end the task instead (``chalicelib.logic.lifecycle.end_unwritable``).
    """

    code = "item_too_large"

    def __init__(self, size: int, limit: int = ITEM_LIMIT_BYTES) -> None:
        super().__init__(
            f"The task would take {size} bytes; at most {limit} can be stored. Send large "
            "data as a file (POST /projects/{id}/files).",
            details={"bytes": size, "maxBytes": limit},
        )
        self.size = size
        self.limit = limit


def is_validation_error(exc: BaseException) -> bool:
    """DynamoDB refused the request itself (``ValidationException``: e.g. the item would be
    too large), not its condition: the same write can never succeed."""
    if isinstance(exc, ItemTooLarge):
        return True
    if getattr(exc, "cause_response_code", None) == "ValidationException":
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ValidationError" for r in reasons)


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _number_size(text: str) -> int:
    """About one byte per two significant digits, plus one (and one for a negative sign)."""
    try:
        number = Decimal(text)
        digits = number.normalize().as_tuple().digits
    except InvalidOperation:
        return len(text)
    significant = "".join(map(str, digits)).strip("0") or "0"
    return (len(significant) + 1) // 2 + 1 + (1 if number < 0 else 0)


def _binary_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    try:  # base64 text, as the wire and moto carry it
        return len(base64.b64decode(value))
    except (binascii.Error, ValueError, TypeError):
        return len(str(value))


def value_size(value: Any) -> int:
    """The size of one attribute value: serialized (``{"S": ...}``, ``{"M": {...}}``) or a
    value object with ``type`` and ``value`` (moto's ``DynamoType``)."""
    kind, data = (value.type, value.value) if hasattr(value, "type") else next(iter(value.items()))
    if kind == "S":
        return _utf8(data)
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return _binary_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(v) for v in data)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in data)
    if kind == "BS":
        return sum(_binary_size(v) for v in data)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in data)
    if kind == "M":
        return 3 + sum(_utf8(k) + value_size(v) + 1 for k, v in data.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(attributes: Mapping[str, Any]) -> int:
    """The size of an item given as its attributes (``model.serialize()``, or moto's)."""
    return sum(_utf8(name) + value_size(value) for name, value in attributes.items())


def size_after(attributes: Mapping[str, Any], actions: Sequence[Action]) -> int:
    """The item's size once ``actions`` (SET of a value, REMOVE) are applied to ``attributes``.

    Counters (ADD, ``SET x = x + 1``) and nested paths barely change the size and are counted
    as they are: this is for the values that can be large (inputs, results, routes, errors).
    """
    from pynamodb.expressions.operand import Path, Value
    from pynamodb.expressions.update import RemoveAction, SetAction

    after = dict(attributes)
    for action in actions:
        path = action.values[0]
        if not isinstance(path, Path) or len(path.path) != 1:
            continue
        name = str(path.path[0])
        if isinstance(action, RemoveAction):
            after.pop(name, None)
        elif isinstance(action, SetAction) and isinstance(action.values[1], Value):
            after[name] = action.values[1].value
    return item_size(after)


def check_size(
    attributes: Mapping[str, Any], actions: Sequence[Action] = (), *, limit: int | None = None
) -> int:
    """The size after ``actions``; raises ``ItemTooLarge`` when over ``limit`` (default:
    DynamoDB's)."""
    limit = ITEM_LIMIT_BYTES if limit is None else limit
    size = size_after(attributes, actions)
    if size > limit:
        raise ItemTooLarge(size, limit)
    return size
