"""The executor's modules called directly (no server): exact results and edge cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from executor_container.modules import (
    data_csv_profile,
    math_evaluate,
    text_extract,
    text_sentiment,
    text_stats,
    text_summarize,
)
from executor_container.registry import InvalidInput, catalogue


class BytesInput:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    def chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        for start in range(0, len(self._data), size):
            yield self._data[start : start + size]

    def data(self) -> bytes:
        return self._data

    def text(self) -> str:
        return self._data.decode("utf-8")


class Progress:
    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []

    def progress(self, fraction: float, message: str = "") -> None:
        self.events.append((fraction, message))

    def log(self, message: str, level: str = "info") -> None:
        pass


def stats(text: str) -> dict[str, Any]:
    return text_stats.run(BytesInput(text.encode()), None, Progress())


def test_catalogue_is_discovered_from_the_modules_package() -> None:
    names = set(catalogue())
    assert {
        "crypto.hash",
        "data.csv_profile",
        "data.json_query",
        "math.evaluate",
        "text.extract",
        "text.sentiment",
        "text.stats",
        "text.summarize",
    } <= names


def test_text_stats_counts() -> None:
    assert stats("One two three.\nFour five? Six") == {
        "characters": 29,
        "words": 6,
        "lines": 2,
        "sentences": 3,
        "readingTimeSeconds": 2,
        "topWords": [
            {"word": "five", "count": 1},
            {"word": "four", "count": 1},
            {"word": "one", "count": 1},
            {"word": "six", "count": 1},
            {"word": "three", "count": 1},
            {"word": "two", "count": 1},
        ],
    }


def test_text_stats_is_the_same_across_chunk_boundaries(monkeypatch) -> None:
    text = "Alpha beta. Gamma delta epsilon!\n\nZeta eta theta iota. " * 500 + "Last words"
    whole = stats(text)
    monkeypatch.setattr(
        text_stats, "iter_text", lambda source: text_stats_iter(source, chunk_bytes=97)
    )
    assert stats(text) == whole
    assert whole["sentences"] == 1501
    assert whole["words"] == 9 * 500 + 2


def text_stats_iter(source, chunk_bytes):  # type: ignore[no-untyped-def]
    from executor_container.registry import iter_text

    return iter_text(source, chunk_bytes=chunk_bytes)


def test_text_stats_reports_progress_on_large_input() -> None:
    ctx = Progress()
    text_stats.run(BytesInput(b"word " * 2_000_000), None, ctx)
    assert ctx.events
    assert [f for f, _ in ctx.events] == sorted(f for f, _ in ctx.events)


def test_text_stats_rejects_invalid_utf8() -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        text_stats.run(BytesInput(b"ok \xff\xfe"), None, Progress())


def test_summarize_keeps_original_order_and_handles_short_text() -> None:
    chosen, total = text_summarize.summarize("Only one sentence here", 3)
    assert (chosen, total) == (["Only one sentence here"], 1)
    assert text_summarize.summarize("", 3) == ([], 0)
    text = "Rust is fast. Bees make honey. Rust and Go are fast languages. Honey is sweet."
    chosen, total = text_summarize.summarize(text, 2)
    assert total == 4
    assert chosen == ["Rust is fast.", "Rust and Go are fast languages."]


def test_extract_edge_cases() -> None:
    found = text_extract.extract(
        "ids 1234567 and 3.14159 are no phones; 2024-02-30 is not a valid ISO day but "
        "2024-12-31 is; mail x@y is no email; see www.example.org/a, then #1 is no tag"
    )
    assert found["phones"] == []
    assert found["dates"] == ["2024-12-31"]
    assert found["emails"] == []
    assert found["urls"] == ["www.example.org/a"]
    assert found["hashtags"] == []
    assert text_extract.extract("") == {kind: [] for kind in text_extract.KINDS}


def test_sentiment_labels() -> None:
    assert text_sentiment.label_for(0.6, 2, 0) == "positive"
    assert text_sentiment.label_for(-0.6, 0, 2) == "negative"
    assert text_sentiment.label_for(0.0, 0, 0) == "neutral"
    assert text_sentiment.label_for(0.1, 1, 1) == "mixed"
    result = text_sentiment.run(
        BytesInput(b"The food was wonderful. The service was terrible."), None, Progress()
    )
    assert result["label"] == "mixed"
    assert result["positiveSentences"] == result["negativeSentences"] == 1


def test_csv_profile_edge_cases() -> None:
    assert data_csv_profile.profile(b"") == {"rows": 0, "columns": []}
    header_only = data_csv_profile.profile(b"a,b\n")
    assert header_only["rows"] == 0
    assert [c["name"] for c in header_only["columns"]] == ["a", "b"]
    dates = data_csv_profile.profile("d,city\n2024-01-02,Zürich\n2023-05-06,Köln\n".encode())
    assert dates["columns"][0] | {"name": "d"} == {
        "name": "d",
        "type": "date",
        "nulls": 0,
        "distinct": 2,
        "min": "2023-05-06",
        "max": "2024-01-02",
        "mean": None,
    }
    assert dates["columns"][1]["distinct"] == 2
    with pytest.raises(InvalidInput, match="malformed CSV"):
        data_csv_profile.profile(b"a,b\n1,2,3\n")


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3 * 4", 14),
        ("2^10", 1024),
        ("(1 + 2) / 4", 0.75),
        ("-7 // 2", -4),
        ("sqrt(16) + abs(-2)", 6.0),
        ("max(1, 5, 3)", 5),
        ("factorial(10)", 3628800),
        ("2 ** -2", 0.25),
        ("6 \u00d7 7", 42),
    ],
)
def test_math_evaluate_values(expression: str, value: float) -> None:
    assert math_evaluate.evaluate(expression) == value


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 / 0", "division by zero"),
        ("10 % 0", "division by zero"),
        ("9 ** 9 ** 9", "too large"),
        ("10 ** 5000 * 10 ** 5000", "too large"),
        ("2.0 ** 100000", "too large"),
        ("1e308 * 10", "not a finite number"),
        ("sqrt(-1)", "math domain error"),
        ("factorial(5000)", "factorial"),
        ("(1", "invalid expression"),
        ("x + 1", "unknown name"),
        ("().__class__", "unsupported syntax"),
        ("'a' * 3", "unsupported syntax"),
        ("-" * 200 + "1", "nested"),
        ("1+" * 600 + "1", "longer than"),
    ],
)
def test_math_evaluate_refuses(expression: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        math_evaluate.evaluate(expression)


def test_math_expression_from_free_text() -> None:
    assert math_evaluate.find_expression("What is 2^10 + 3?") == "2^10 + 3"
    assert math_evaluate.find_expression("Compute sqrt(16) * 3, please") == "sqrt(16) * 3"
    result = math_evaluate.run(BytesInput(b"please add 40 + 2"), math_evaluate.Params(), Progress())
    assert result == {"value": 42, "expression": "40 + 2"}
    with pytest.raises(InvalidInput, match="no expression"):
        math_evaluate.run(BytesInput(b""), math_evaluate.Params(), Progress())


def test_csv_profile_refuses_a_csv_wider_than_its_limit_before_parsing_rows() -> None:
    width = data_csv_profile.MAX_COLUMNS
    header = ",".join(f"c{i}" for i in range(width))
    row = ",".join("1" for _ in range(width))
    at_limit = data_csv_profile.profile(f"{header}\n{row}\n".encode())
    assert len(at_limit["columns"]) == width
    assert at_limit["columns"][-1]["min"] == 1
    with pytest.raises(InvalidInput, match=f"CSV has {width + 1} columns"):
        data_csv_profile.profile(f"{header},extra\n{row},1\n".encode())


def test_csv_profile_hostile_shapes_are_answers_or_invalid_input() -> None:
    assert data_csv_profile.profile(b"a\n" + b"1\n" * 200_000)["rows"] == 200_000
    long_field = data_csv_profile.profile(b"a,b\n" + b"x" * 2_000_000 + b",1\n")
    assert long_field["columns"][0]["distinct"] == 1
    with pytest.raises(InvalidInput, match="malformed CSV") as info:
        data_csv_profile.profile(b"a\n" + b'"x' * 100_000 + b"\n1\n")
    assert len(info.value.message) < 300
