"""Time in one format: ISO 8601 UTC with milliseconds and a ``Z`` (sortable as text)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def to_iso(moment: datetime) -> str:
    """``moment`` (timezone-aware) in the one format."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return to_iso(datetime.now(UTC))


def now_epoch() -> int:
    return int(time.time())


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
