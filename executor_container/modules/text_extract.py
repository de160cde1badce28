"""text.extract: emails, URLs, phone numbers, dates, money amounts, hashtags and mentions.

Every pattern runs in time linear in the text, whatever the text (a backtracking pattern over
untrusted text is a denial of service: the old phone pattern took 50 s on 255 KB of "1- ").
Phones and emails run on RE2 (``google-re2``), which is linear by construction; RE2 has no
look-around, so the phone pattern's look-behind is a consumed context character and its
look-ahead a check on the character after the match. The other kinds stay on ``re``, each
written so that no start position re-scans text another start already scanned: a fixed
leading character (URLs, currencies, ``#``, ``@``), bounded lengths (dates, tags), and for
amounts like "1,234,567 USD" no start inside a digit group chain. ``tests/unit`` checks the
results against the previous patterns on ordinary text and checks hostile inputs.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any, Literal

import re2
from pydantic import BaseModel, ConfigDict, Field

from executor_container.registry import MiB, ModuleContext, ModuleInput, ModuleSpec

Kind = Literal["emails", "urls", "phones", "dates", "money", "hashtags", "mentions"]
KINDS: tuple[Kind, ...] = ("urls", "emails", "dates", "money", "phones", "hashtags", "mentions")

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# Python's \w (a letter, a number of any script, or "_"), spelled for RE2.
_RE2_WORD = r"\p{L}\p{N}_"

# Earlier kinds claim their text first: a URL's "#anchor" is no hashtag, a date is no phone.
URLS = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
# RE2's \b is ASCII-only: around an email that only differs next to non-ASCII letters
# (where RE2's answer, e.g. an address right after CJK text, is the better one).
EMAILS = re2.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
DATES = re.compile(
    # The look-ahead only skips, quickly, positions where no alternative can start.
    r"(?=[\dA-Za-z])(?:\b\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
    r"|\b\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b"
    rf"|\b{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)? {_MONTH}\.?,? \d{{4}}\b)",
    re.IGNORECASE,
)
MONEY = re.compile(
    r"[$€£¥]\s?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion)\b)?"
    r"|[$€£¥]\s?\d+(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion)\b)?"
    # Not from inside a chain of digit groups: every later group would re-scan the chain.
    r"|\b(?<!\d,)\d{1,3}(?:,\d{3})+(?:\.\d+)?\s?(?:USD|EUR|GBP|JPY|CHF|dollars?|euros?|pounds?)\b"
    r"|\b\d+(?:\.\d+)?\s?(?:USD|EUR|GBP|JPY|CHF|dollars?|euros?|pounds?)\b",
    re.IGNORECASE,
)
# Group 1 is the number; the character before it (not a word character, "+", "/", "." or
# "-") is consumed instead of looked behind at. A number never ends with such a character,
# so consuming it never hides the start of the next number.
PHONES = re2.compile(
    rf"(?:^|[^{_RE2_WORD}+/.-])"
    r"((?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9][0-9 .-]{5,}[0-9])"
)
# A number followed by one of these is part of something else (an id, a path, a range).
_PHONE_FOLLOWERS = "_/-"
_PHONE_SEPARATORS = frozenset(" .-()")
# The number itself, to check what is left of a run cut short (on one run: linear).
_PHONE_BODY = re.compile(r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{1,4}\)[ .-]?)?[0-9][0-9 .-]{5,}[0-9]")
HASHTAGS = re.compile(r"(?<![\w#&])#[^\W\d]\w{0,99}")
MENTIONS = re.compile(r"(?<![\w@./])@\w{1,50}")

_DATE_SHAPE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_URL_TRAILING = ".,;:!?)'\""


def _phone_ok(match: str) -> bool:
    if _DATE_SHAPE_RE.fullmatch(match):  # an impossible date is still no phone number
        return False
    digits = sum(map(str.isdigit, match))
    # Plain digit runs (ids, amounts) are not phone numbers: want a + or a separator.
    return 7 <= digits <= 15 and (match[0] in "+(" or not _PHONE_SEPARATORS.isdisjoint(match))


def _date_ok(match: str) -> bool:
    """ISO dates must exist in the calendar (no 2024-02-30)."""
    if len(match) >= 10 and match[4] == "-":
        try:
            dt.date.fromisoformat(match[:10])
        except ValueError:
            return False
    return True


def _re_spans(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, int, str]]:
    for match in pattern.finditer(text):
        yield match.start(), match.end(), match.group()


class _CharOffsets:
    """Byte offsets of UTF-8 ``data`` to str offsets, for offsets that only grow: each call
    decodes just the bytes since the previous one (linear overall)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._byte = self._char = 0

    def __call__(self, byte: int) -> int:
        self._char += len(self._data[self._byte : byte].decode("utf-8"))
        self._byte = byte
        return self._char


def _re2_spans(pattern: Any, text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, value) of each RE2 match, as str offsets (RE2 runs on UTF-8 bytes)."""
    data = text.encode("utf-8")
    to_char = _CharOffsets(data)
    for match in pattern.finditer(data):
        start_byte, end_byte = match.span()
        start = to_char(start_byte)
        end = to_char(end_byte)
        yield start, end, text[start:end]


def _phone_end(text: str, start: int, end: int) -> int | None:
    """Where the number in ``text[start:end]`` (a maximal run) really ends, or None.

    The old pattern's look-ahead made a backtracking engine give characters back until
    the number was followed by something allowed ("555-123-4567 24h": the run stops before
    " 24h"): the last digit followed by a space or a dot, if what is left is still a number.
    """
    if not _followed_badly(text, end):
        return end
    for cut in range(end - 1, start, -1):
        if text[cut] in " ." and text[cut - 1] in "0123456789":
            return cut if _PHONE_BODY.fullmatch(text, start, cut) else None
    return None


def _followed_badly(text: str, end: int) -> bool:
    after = text[end : end + 1]
    return bool(after) and (after.isalnum() or after in _PHONE_FOLLOWERS)


def _phone_spans(text: str) -> Iterator[tuple[int, int, str]]:
    data = text.encode("utf-8")
    to_char = _CharOffsets(data)
    position = 0
    while (match := PHONES.search(data, position)) is not None:
        start_byte, end_byte = match.span(1)
        start = to_char(start_byte)
        # The number is ASCII: from its start on, bytes and characters coincide.
        end = _phone_end(text, start, start + end_byte - start_byte)
        if end is None:
            position = end_byte
            continue
        value = text[start:end]
        if _phone_ok(value):
            yield start, end, value
        position = start_byte + len(value)  # the rest of a cut run may hold another number


def _candidates(kind: str, text: str) -> Iterator[tuple[int, int, str]]:
    if kind == "urls":
        for start, end, value in _re_spans(URLS, text):
            stripped = value.rstrip(_URL_TRAILING)
            yield start, end - (len(value) - len(stripped)), stripped
    elif kind == "emails":
        yield from _re2_spans(EMAILS, text)
    elif kind == "dates":
        yield from (span for span in _re_spans(DATES, text) if _date_ok(span[2]))
    elif kind == "money":
        yield from _re_spans(MONEY, text)
    elif kind == "phones":
        yield from _phone_spans(text)
    elif kind == "hashtags":
        yield from _re_spans(HASHTAGS, text)
    else:
        yield from _re_spans(MENTIONS, text)


class _Claimed:
    """Text spans taken by earlier kinds: disjoint, kept sorted, checked by bisection."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        # The claimed span starting last before ``end`` is the only one that can overlap.
        index = bisect_left(self.starts, end)
        return index > 0 and self.ends[index - 1] > start

    def add_all(self, spans: list[tuple[int, int]]) -> None:
        # One merge per kind (not one insertion per match): linear in the spans.
        merged = sorted([*zip(self.starts, self.ends, strict=True), *spans])
        self.starts = [start for start, _ in merged]
        self.ends = [end for _, end in merged]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kinds: list[Kind] | None = Field(default=None, description="kinds to return (default all)")


def extract(text: str, ctx: ModuleContext | None = None) -> dict[str, list[str]]:
    claimed = _Claimed()
    found: dict[str, list[str]] = {}
    for index, kind in enumerate(KINDS):
        if ctx is not None:
            ctx.progress(index / len(KINDS), f"looking for {kind}")
        values: dict[str, None] = {}  # insertion-ordered set: first occurrence wins
        taken: list[tuple[int, int]] = []
        for start, end, value in _candidates(kind, text):
            if claimed.overlaps(start, end):
                continue
            taken.append((start, end))
            values.setdefault(value)
        claimed.add_all(taken)
        found[kind] = list(values)
    return found


def run(source: ModuleInput, params: Params, ctx: ModuleContext) -> dict[str, Any]:
    found = extract(source.text(), ctx)
    kinds = params.kinds or list(KINDS)
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
