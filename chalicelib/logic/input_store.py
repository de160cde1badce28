"""Inputs too large to keep on the task item: one S3 object in the files bucket per stored
input, at ``inputs/{task}/{id}.json``; the task keeps the key in ``input_ref`` and no inline
``input``.

DynamoDB stores at most 400 KB per item, and a task's item also carries its instruction,
params, route decision, result and error. An input over ``INPUT_INLINE_BYTES`` (as stored:
UTF-8 JSON) goes to S3 when the task is written (``POST /tasks``, a PATCH of ``input``), so
no write of the task can exceed the limit; params over ``PARAMS_MAX_BYTES`` are refused
(413), and what the item would weigh is measured before it is written
(``chalicelib.dal.item_size``).

Each stored input gets a fresh key: an edit that loses its race never overwrites the input
the task still names. The replaced object is deleted once the edit is written. The
dispatcher reads the object back to route and run the task (``effective_input``);
``GET /tasks/{id}`` returns it, lists return ``inputRef`` only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib import aws_clients
from chalicelib.config import get_settings
from chalicelib.dal.json_attribute import Utf8JSONAttribute
from chalicelib.errors import PayloadTooLarge
from chalicelib.ids import new_id

log = logging.getLogger(__name__)

# Inputs larger than this (UTF-8 JSON, as stored) live in S3: as results do (32 KiB).
INPUT_INLINE_BYTES = 32 * 1024
# Module params are a few settings (an expression, an algorithm): far below this.
PARAMS_MAX_BYTES = 16 * 1024

_JSON = Utf8JSONAttribute()


def stored_bytes(value: Any) -> int:
    """What ``value`` weighs as the task item stores it (UTF-8 JSON text)."""
    text = _JSON.serialize(value)
    return 0 if text is None else len(text.encode("utf-8", "surrogatepass"))


def input_prefix(task_id: str) -> str:
    return f"inputs/{task_id}/"


def check_params(params: Any) -> None:
    """413 ``params_too_large`` for params beyond ``PARAMS_MAX_BYTES``."""
    size = stored_bytes(params)
    if size > PARAMS_MAX_BYTES:
        raise PayloadTooLarge(
            f"params take {size} bytes; at most {PARAMS_MAX_BYTES} are accepted. Send data "
            "as the input (or a file), not as params.",
            code="params_too_large",
            details={"field": "params", "bytes": size, "maxBytes": PARAMS_MAX_BYTES},
        )


def store_input(task_id: str, value: Any) -> str:
    """Put ``value`` (as JSON) under a fresh key of the task; return the key."""
    key = f"{input_prefix(task_id)}{new_id('inp')}.json"
    body = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    aws_clients.client("s3").put_object(
        Bucket=get_settings().files_bucket, Key=key, Body=body, ContentType="application/json"
    )
    return key


def placed(task_id: str, value: Any) -> tuple[Any, str | None]:
    """Where ``value`` goes: ``(value, None)`` inline, or ``(None, key)`` once stored in S3."""
    if stored_bytes(value) <= INPUT_INLINE_BYTES:
        return value, None
    return None, store_input(task_id, value)


def load_input(key: str) -> Any:
    """The input stored under ``key``."""
    body = aws_clients.client("s3").get_object(Bucket=get_settings().files_bucket, Key=key)
    return json.loads(body["Body"].read().decode("utf-8", "surrogatepass"))


def effective_input(input_value: Any, input_ref: str | None) -> Any:
    """The task's input, inline or read back from S3."""
    return load_input(input_ref) if input_ref else input_value


def delete_input(key: str | None) -> None:
    """Delete a stored input (best effort: logged)."""
    if not key:
        return
    try:
        aws_clients.client("s3").delete_object(Bucket=get_settings().files_bucket, Key=key)
    except Exception:
        log.warning("could not delete a stored input", extra={"key": key})
