"""text.extract: emails, URLs, phone numbers, dates, money amounts, hashtags and mentions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from executor_container.registry import MiB, ModuleContext, ModuleInput, ModuleSpec

Kind = Literal["emails", "urls", "phones", "dates", "money", "hashtags", "mentions"]

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# Earlier kinds claim their text first: a URL's "#anchor" is no hashtag, a date is no phone.
PATTERNS: dict[str, re.Pattern[str]] = {
    "urls": re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE),
    "emails": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    "dates": re.compile(
        r"\b\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
        r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
        r"|\b\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b"
        rf"|\b{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b"
        rf"|\b\d{{1,2}}(?:st|nd|rd|th)? {_MONTH}\.?,? \d{{4}}\b",
        re.IGNORECASE,
    ),
    "money": re.compile(
        r"[$€£¥]\s?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion)\b)?"
        r"|[$€£¥]\s?\d+(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion)\b)?"
        r"|\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\s?(?:USD|EUR|GBP|JPY|CHF|dollars?|euros?|pounds?)\b"
        r"|\b\d+(?:\.\d+)?\s?(?:USD|EUR|GBP|JPY|CHF|dollars?|euros?|pounds?)\b",
        re.IGNORECASE,
    ),
    "phones": re.compile(
        r"(?<![\w+/.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d[\d .-]{5,}\d(?![\w/-])"
    ),
    "hashtags": re.compile(r"(?<![\w#&])#[^\W\d]\w{0,99}"),
    "mentions": re.compile(r"(?<![\w@./])@\w{1,50}"),
}
_DATE_SHAPE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_URL_TRAILING = ".,;:!?)'\""


def _phone_ok(match: str) -> bool:
    if _DATE_SHAPE_RE.fullmatch(match):  # an impossible date is still no phone number
        return False
    digits = sum(c.isdigit() for c in match)
    # Plain digit runs (ids, amounts) are not phone numbers: want a + or a separator.
    return 7 <= digits <= 15 and (match[0] in "+(" or any(c in " .-()" for c in match))


def _date_ok(match: str) -> bool:
    """ISO dates must exist in the calendar (no 2024-02-30)."""
    if len(match) >= 10 and match[4] == "-":
        try:
            dt.date.fromisoformat(match[:10])
        except ValueError:
            return False
    return True


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kinds: list[Kind] | None = Field(default=None, description="kinds to return (default all)")


def extract(text: str, ctx: ModuleContext | None = None) -> dict[str, list[str]]:
    claimed: list[tuple[int, int]] = []
    found: dict[str, list[str]] = {}
    for index, (kind, pattern) in enumerate(PATTERNS.items()):
        if ctx is not None:
            ctx.progress(index / len(PATTERNS), f"looking for {kind}")
        values: list[str] = []
        for match in pattern.finditer(text):
            start, end = match.span()
            value = match.group()
            if kind == "urls":
                stripped = value.rstrip(_URL_TRAILING)
                end -= len(value) - len(stripped)
                value = stripped
            if kind == "phones" and not _phone_ok(value):
                continue
            if kind == "dates" and not _date_ok(value):
                continue
            if any(start < c_end and c_start < end for c_start, c_end in claimed):
                continue
            claimed.append((start, end))
            if value not in values:
                values.append(value)
        found[kind] = values
    return found


def run(source: ModuleInput, params: Params, ctx: ModuleContext) -> dict[str, Any]:
    found = extract(source.text(), ctx)
    kinds = params.kinds or list(PATTERNS)
    return {kind: values for kind, values in found.items() if kind in kinds}


MODULE = ModuleSpec(
    name="text.extract",
    description="Finds emails, URLs, phone numbers, dates, money, hashtags and mentions.",
    run=run,
    params=Params,
    max_input_bytes=8 * MiB,
    timeout_seconds=60.0,
    cpu_seconds=60.0,
)
