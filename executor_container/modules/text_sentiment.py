"""text.sentiment: polarity with VADER, whose lexicon ships inside its package.

Upstream VADER is quadratic in the length of a sentence: for every sentiment word it
lower-cases the whole sentence again (negation and idiom checks), and its "but" rule looks
each score up with ``list.index``. A 136 KB text without a sentence break took 78 s.
``LinearAnalyzer`` replaces those three helpers with versions that compute exactly the same
scores (``tests/unit/test_executor_sentiment.py`` compares them with upstream) in linear
time, and sentences longer than ``MAX_SENTENCE_WORDS`` are scored in pieces of that length.
"""

from __future__ import annotations

import heapq
from functools import lru_cache
from typing import Any

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    N_SCALAR,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    negated,
)

from executor_container.registry import MiB, ModuleContext, ModuleInput, ModuleSpec
from executor_container.textutil import MAX_SENTENCE_WORDS, split_sentences

# VADER's own thresholds for a positive / negative compound score.
THRESHOLD = 0.05
# Both polarities present and roughly cancelling out: "mixed" rather than "neutral".
MIXED_MAX_SCORE = 0.3
PROGRESS_EVERY = 2000


@lru_cache(maxsize=4096)
def _negates(word: str) -> bool:
    """Upstream ``negated`` of one lower-cased word (the only way the helpers call it)."""
    return bool(negated([word]))


def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> float:
    """Upstream ``_negation_check``, lower-casing only the words it reads."""
    if start_i == 0:
        if _negates(words[i - 1].lower()):
            valence = valence * N_SCALAR
    elif start_i == 1:
        before_2, before_1 = words[i - 2].lower(), words[i - 1].lower()
        if before_2 == "never" and before_1 in ("so", "this"):
            valence = valence * 1.25
        elif before_2 == "without" and before_1 == "doubt":
            pass
        elif _negates(before_2):
            valence = valence * N_SCALAR
    elif start_i == 2:
        before_3, before_2, before_1 = (
            words[i - 3].lower(),
            words[i - 2].lower(),
            words[i - 1].lower(),
        )
        if (before_3 == "never" and before_2 in ("so", "this")) or before_1 in ("so", "this"):
            valence = valence * 1.25
        elif before_3 == "without" and (before_2 == "doubt" or before_1 == "doubt"):
            pass
        elif _negates(before_3):
            valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, words: list[str], i: int) -> float:
    """Upstream ``_special_idioms_check``, lower-casing only the words it reads."""
    w3, w2, w1, w0 = (
        words[i - 3].lower(),
        words[i - 2].lower(),
        words[i - 1].lower(),
        words[i].lower(),
    )
    one_zero = f"{w1} {w0}"
    two_one_zero = f"{w2} {w1} {w0}"
    two_one = f"{w2} {w1}"
    three_two_one = f"{w3} {w2} {w1}"
    three_two = f"{w3} {w2}"
    for sequence in (one_zero, two_one_zero, two_one, three_two_one, three_two):
        if sequence in SPECIAL_CASES:
            valence = SPECIAL_CASES[sequence]
            break
    if len(words) - 1 > i:
        zero_one = f"{w0} {words[i + 1].lower()}"
        if zero_one in SPECIAL_CASES:
            valence = SPECIAL_CASES[zero_one]
    if len(words) - 1 > i + 1:
        zero_one_two = f"{w0} {words[i + 1].lower()} {words[i + 2].lower()}"
        if zero_one_two in SPECIAL_CASES:
            valence = SPECIAL_CASES[zero_one_two]
    for n_gram in (three_two_one, three_two, two_one):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _but_check(words: list[str], sentiments: list[float]) -> list[float]:
    """Upstream ``_but_check`` in O(n log n), quirks included.

    Upstream walks the scores and, for each, rescales the *first* score equal to it
    (``list.index``) by 0.5 before the first "but" and 1.5 after it. The first position
    holding each value is kept in a heap per value, so each lookup is logarithmic.
    """
    lowered = [w.lower() for w in words]
    if "but" not in lowered:
        return sentiments
    but_index = lowered.index("but")
    positions: dict[float, list[int]] = {}
    for index, value in enumerate(sentiments):
        positions.setdefault(value, []).append(index)  # ascending, so already a heap
    for current in range(len(sentiments)):
        value = sentiments[current]
        first = positions[value][0]
        if first == but_index:
            continue
        scaled = value * 0.5 if first < but_index else value * 1.5
        heapq.heappop(positions[value])
        if not positions[value]:
            del positions[value]
        sentiments[first] = scaled
        heapq.heappush(positions.setdefault(scaled, []), first)
    return sentiments


class LinearAnalyzer(SentimentIntensityAnalyzer):
    """VADER with its whole-sentence helpers replaced by linear equivalents."""

    _negation_check = staticmethod(_negation_check)
    _special_idioms_check = staticmethod(_special_idioms_check)
    _but_check = staticmethod(_but_check)


@lru_cache(maxsize=1)
def analyzer() -> LinearAnalyzer:
    return LinearAnalyzer()


def label_for(score: float, positive: int, negative: int) -> str:
    if positive and negative and abs(score) < MIXED_MAX_SCORE:
        return "mixed"
    if score >= THRESHOLD:
        return "positive"
    if score <= -THRESHOLD:
        return "negative"
    return "neutral"


def run(source: ModuleInput, params: Any, ctx: ModuleContext) -> dict[str, Any]:
    sentences = split_sentences(source.text(), max_words=MAX_SENTENCE_WORDS)
    scorer = analyzer()
    compounds: list[float] = []
    for index, sentence in enumerate(sentences, 1):
        compounds.append(scorer.polarity_scores(sentence)["compound"])
        if index % PROGRESS_EVERY == 0:
            ctx.progress(index / len(sentences), f"scored {index} of {len(sentences)} sentences")
    score = round(sum(compounds) / len(compounds), 4) if compounds else 0.0
    positive = sum(c >= THRESHOLD for c in compounds)
    negative = sum(c <= -THRESHOLD for c in compounds)
    return {
        "label": label_for(score, positive, negative),
        "score": score,
        "sentences": len(compounds),
        "positiveSentences": positive,
        "negativeSentences": negative,
    }


MODULE = ModuleSpec(
    name="text.sentiment",
    description="Polarity (positive, negative, neutral or mixed) from the VADER lexicon.",
    run=run,
    max_input_bytes=8 * MiB,
    timeout_seconds=60.0,
    cpu_seconds=60.0,
    warm=analyzer,
)
