"""text.extract: the same answers as the previous (backtracking) patterns on ordinary text,
and right answers on the hostile inputs that made those patterns quadratic."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from executor_container.modules import text_extract

# The patterns text.extract used before RE2 (an oracle on small ordinary inputs only: on
# hostile inputs they take seconds to minutes).
_MONTH = text_extract._MONTH
REFERENCE_PATTERNS = {
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


def reference_extract(text: str) -> dict[str, list[str]]:
    claimed: list[tuple[int, int]] = []
    found: dict[str, list[str]] = {}
    for kind, pattern in REFERENCE_PATTERNS.items():
        values: list[str] = []
        for match in pattern.finditer(text):
            start, end = match.span()
            value = match.group()
            if kind == "urls":
                stripped = value.rstrip(".,;:!?)'\"")
                end -= len(value) - len(stripped)
                value = stripped
            if kind == "phones" and not text_extract._phone_ok(value):
                continue
            if kind == "dates" and len(value) >= 10 and value[4] == "-":
                try:
                    dt.date.fromisoformat(value[:10])
                except ValueError:
                    continue
            if any(start < c_end and c_start < end for c_start, c_end in claimed):
                continue
            claimed.append((start, end))
            if value not in values:
                values.append(value)
        found[kind] = values
    return found


TOKENS = [
    "ann@example.com",
    "x.y+z@mail.co.uk",
    "ops-team@aion.dev",
    "https://aion.dev/docs#setup",
    "http://example.com/a?b=1&c=2",
    "www.example.org/a",
    "+1 (555) 123-4567",
    "555-123-4567",
    "030 1234567",
    "+44 20 7946 0958",
    "(030) 123 4567",
    "2024-12-31",
    "2024-02-30",
    "2025-03-01T10:00:00Z",
    "2025-03-01 10:00",
    "12/31/2024",
    "1.2.24",
    "March 3rd, 2024",
    "3 Mar 2024",
    "$1,250.00",
    "€ 30",
    "£5m",
    "1,000 USD",
    "20 euros",
    "3.5 million",
    "#launch",
    "#café",
    "#1",
    "@ops_team",
    "@Zoë",
    "1234567",
    "3.14159",
    "v1.2.3",
    "a/b",
    "x-y",
    "id_42",
    "Zürich",
    "日本語",
    "hello",
    "World",
    "and",
    "call",
    "on",
]
SEPARATORS = [" ", ", ", ". ", "\n", " (", ") ", "; ", "! ", " - ", ": "]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS)), min_size=1, max_size=25
    )
)
def test_same_answers_as_the_previous_patterns_on_ordinary_text(
    parts: list[tuple[str, str]],
) -> None:
    text = "".join(token + separator for token, separator in parts)
    assert text_extract.extract(text) == reference_extract(text)


def test_a_long_run_of_phone_characters_is_no_phone_and_what_follows_is_found() -> None:
    text = "1- " * 85_000 + "x, call +1 (555) 123-4567."
    found = text_extract.extract(text)
    assert found["phones"] == ["+1 (555) 123-4567"]
    assert found["money"] == found["dates"] == []


def test_separated_digits_are_one_run_then_rejected_as_too_long() -> None:
    assert text_extract.extract("1 2 3 4 5 6 7 8 9 " * 2000)["phones"] == []


def test_a_run_of_dotted_words_is_no_email() -> None:
    found = text_extract.extract("a." * 120_000 + " mail ann@example.com today")
    assert found["emails"] == ["ann@example.com"]


def test_a_chain_of_digit_groups_is_no_amount() -> None:
    found = text_extract.extract("111," * 60_000 + " it cost $1,250.00 or 1,000 USD")
    assert found["money"] == ["$1,250.00", "1,000 USD"]


def test_repeated_values_are_listed_once_in_first_seen_order() -> None:
    found = text_extract.extract("@b @a " * 50_000 + "#x " * 50_000)
    assert found["mentions"] == ["@b", "@a"]
    assert found["hashtags"] == ["#x"]


def test_many_distinct_values_keep_their_order() -> None:
    names = [f"@user{n}" for n in range(20_000)]
    assert text_extract.extract(" ".join(names))["mentions"] == names


def test_a_number_ends_where_a_word_character_does_not_follow() -> None:
    # The run "555-123-4567 24" is followed by "h": the number is what comes before " 24".
    found = text_extract.extract("Call 555-123-4567 24h a day, not 555-1234x or 030 1234567-9x")
    assert found["phones"] == ["555-123-4567"]


def test_a_long_run_followed_by_a_letter_is_cut_once_not_rescanned() -> None:
    run = "555 1234 " * 30_000 + "2x"
    assert text_extract.extract(run)["phones"] == []  # the cut run has too many digits
    assert text_extract.extract("see 555 1234 2x")["phones"] == ["555 1234"]


def test_phone_offsets_stay_right_after_multibyte_text() -> None:
    # RE2 works on UTF-8 bytes: the spans handed to the overlap check are characters.
    text = "日本語 " * 1000 + "2024-12-31 and 555-123-4567 Zürich 030 1234567"
    found = text_extract.extract(text)
    assert found["dates"] == ["2024-12-31"]
    assert found["phones"] == ["555-123-4567", "030 1234567"]
