"""What the task's input (and the instruction's inline data) look like: cheap, bounded checks.

Inputs can be large; every check here looks at a bounded prefix so a decision stays in
microseconds whatever the size.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# Inputs longer than this are not parsed as JSON by the router (the module will parse them).
_MAX_JSON_PARSE = 64 * 1024
_SNIFF = 4096

KIND_EMPTY = "empty"
KIND_JSON = "json"
KIND_CSV = "csv"
KIND_TEXT = "text"
KIND_FILE = "file"

_FILE_ID = re.compile(r"^fil_[A-Za-z0-9]{6,40}$")


@dataclass(frozen=True)
class InputShape:
    kind: str
    text: str  # the input as text ("" when empty); JSON values are dumped
    json_value: Any = None  # parsed JSON when kind == "json" and small enough
    size: int = 0


def looks_like_csv(text: str) -> bool:
    """At least two non-empty lines with the same number (>1) of , ; or tab separated fields."""
    head = text[:_SNIFF]
    if "\n" not in head.strip():
        return False  # one line is no table (and prose is rejected without splitting it)
    lines = [ln for ln in head.split("\n", 8)[:7] if ln.strip()][:6]
    if len(lines) < 2:
        return False
    if len(text) > _SNIFF and len(lines) > 2:
        lines = lines[:-1]  # the last sniffed line may be cut in half
    for sep in (",", ";", "\t", "|"):
        counts = {ln.count(sep) for ln in lines}
        if len(counts) == 1 and next(iter(counts)) >= 1:
            return True
    return False


def parse_json_text(text: str) -> tuple[bool, Any]:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[" or len(stripped) > _MAX_JSON_PARSE:
        return (bool(stripped) and stripped[0] in "{[" and len(stripped) > _MAX_JSON_PARSE), None
    try:
        return True, json.loads(stripped)
    except ValueError:
        return False, None


def describe_input(value: Any) -> InputShape:
    if value is None or (isinstance(value, str) and not value.strip()):
        return InputShape(KIND_EMPTY, "")
    if isinstance(value, (dict, list)):
        text = json.dumps(value)[:_MAX_JSON_PARSE]
        return InputShape(KIND_JSON, text, value, len(text))
    if not isinstance(value, str):
        text = json.dumps(value)
        return InputShape(KIND_TEXT, text, None, len(text))
    if _FILE_ID.match(value.strip()):
        return InputShape(KIND_FILE, value.strip(), None, len(value))
    is_json, parsed = parse_json_text(value)
    if is_json:
        return InputShape(KIND_JSON, value, parsed, len(value))
    if looks_like_csv(value):
        return InputShape(KIND_CSV, value, None, len(value))
    return InputShape(KIND_TEXT, value, None, len(value))
